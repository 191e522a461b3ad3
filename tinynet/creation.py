"""Functions that make tensors: tensor, as_tensor, from_numpy, zeros, ones, full, eye,
arange, linspace and the ``*_like`` forms. (Random tensors are in random.py.)"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .arguments import shape_args
from .backend import backend_for_device, backend_of, host_array
from .backend.host import get_default_dtype
from .tensor import Tensor


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False,
           device: Any = None) -> Tensor:
    """A new tensor holding a copy of ``data``.

    Python floats become float32 (the default dtype); NumPy arrays keep their dtype
    (float64 stays float64, int64 labels stay int64). ``device`` defaults to the active
    backend's.
    """
    target = backend_for_device(device)
    if isinstance(data, Tensor):
        data = data.array
    try:
        source = backend_of(data)
    except TypeError:
        source = None
    if source is not None and not isinstance(data, (np.ndarray, np.generic)):
        array = data if source is target else target.asarray(source.to_numpy(data))
        array = target.xp.asarray(array, copy=True)
        if dtype is not None:
            array = target.astype(array, target.dtype(dtype))
    else:
        array = target.asarray(host_array(data, np.dtype(dtype) if dtype else None).copy())
    return Tensor(array, requires_grad=requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """``data`` as a tensor, without a copy when it already is one (or a NumPy array on
    the CPU) of that dtype and device."""
    if isinstance(data, Tensor):
        moved = data if device is None else data.to(device)
        return moved if dtype is None else moved.to(dtype)
    target = backend_for_device(device)
    if isinstance(data, np.ndarray) and target.name == "numpy" and \
            (dtype is None or np.dtype(dtype) == data.dtype):
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A CPU tensor that shares memory with the NumPy ``array``: writes to one show in
    the other, as in PyTorch."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a NumPy array, got {type(array).__name__}")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"from_numpy: unsupported dtype {array.dtype}; tinynet supports "
                        "floating point, integer and boolean arrays")
    backend_for_device("cpu")  # the CPU backend must exist for the tensor to report it
    return Tensor(array)


def _filled(shape, value, dtype, requires_grad, device) -> Tensor:
    backend = backend_for_device(device)
    size = shape_args(shape)
    array = backend.zeros(size, np.dtype(dtype or get_default_dtype()))
    if value:
        array += value
    return Tensor(array, requires_grad=requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _filled(size, 0, dtype, requires_grad, device)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _filled(size, 1, dtype, requires_grad, device)


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor; tinynet fills it with zeros (PyTorch leaves it uninitialised)."""
    return _filled(size, 0, dtype, requires_grad, device)


def full(size, fill_value: Any, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``; the dtype follows the value
    (bool, int64 or the default float) unless given, as in PyTorch."""
    if dtype is None:
        dtype = host_array(fill_value).dtype
    return _filled((size,) if isinstance(size, int) else (tuple(size),), fill_value,
                   dtype, requires_grad, device)


def zeros_like(t: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return zeros(t.shape, dtype=dtype or t.dtype, device=device or t.device,
                 requires_grad=requires_grad)


def ones_like(t: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return ones(t.shape, dtype=dtype or t.dtype, device=device or t.device,
                requires_grad=requires_grad)


def full_like(t: Tensor, fill_value: Any, dtype=None, device=None,
              requires_grad: bool = False) -> Tensor:
    return full(t.shape, fill_value, dtype=dtype or t.dtype, device=device or t.device,
                requires_grad=requires_grad)


def empty_like(t: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return zeros_like(t, dtype=dtype, device=device, requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype=None, device=None,
        requires_grad: bool = False) -> Tensor:
    """The n x m identity matrix (m = n by default)."""
    array = np.eye(n, n if m is None else m, dtype=np.dtype(dtype or get_default_dtype()))
    return Tensor(backend_for_device(device).asarray(array), requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in [start, end): int64 for integer arguments, else the default
    float dtype."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if ints else get_default_dtype()
    backend = backend_for_device(device)
    return Tensor(backend.asarray(np.arange(start, end, step, dtype=np.dtype(dtype))),
                  requires_grad=requires_grad)


def linspace(start: float, end: float, steps: int, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from start to end, both included."""
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"linspace: number of steps must be a non-negative integer, "
                         f"got {steps!r}")
    array = np.linspace(start, end, int(steps), dtype=np.float64)
    array = array.astype(np.dtype(dtype or get_default_dtype()))
    return Tensor(backend_for_device(device).asarray(array), requires_grad=requires_grad)


def numel(t: Tensor) -> int:
    return math.prod(t.shape)


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)

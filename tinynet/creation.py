"""Functions that make tensors: tensor, zeros, ones, full, randn, rand, arange, ..."""
from __future__ import annotations

from typing import Any

import numpy as np

from .arguments import shape_args
from .backend import backend_for_device, backend_of, host_array
from .tensor import Tensor

float32 = np.dtype("float32")
float64 = np.dtype("float64")
float16 = np.dtype("float16")
int64 = np.dtype("int64")
int32 = np.dtype("int32")
uint8 = np.dtype("uint8")
bool_ = np.dtype("bool")


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False,
           device: str | None = None) -> Tensor:
    """A new tensor holding a copy of ``data``.

    Python floats become float32; NumPy arrays keep their dtype (float64 stays float64,
    int64 labels stay int64). ``device`` defaults to the active backend's.
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


def _filled(shape, value, dtype, requires_grad, device) -> Tensor:
    backend = backend_for_device(device)
    dtype = np.dtype(dtype or float32)
    array = backend.zeros(shape_args(shape), dtype)
    if value:
        array += value
    return Tensor(array, requires_grad=requires_grad)


def zeros(*shape, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    return _filled(shape, 0, dtype, requires_grad, device)


def ones(*shape, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    return _filled(shape, 1, dtype, requires_grad, device)


def full(shape, fill_value: float, dtype=None, requires_grad: bool = False,
         device=None) -> Tensor:
    return _filled((shape,) if isinstance(shape, int) else (tuple(shape),), fill_value,
                   dtype, requires_grad, device)


def zeros_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return zeros(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad, device=t.device)


def ones_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return ones(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad, device=t.device)


def randn(*shape, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """Standard normal samples from the backend's generator (seed it with manual_seed)."""
    backend = backend_for_device(device)
    array = backend.randn(shape_args(shape), np.dtype(dtype or float32))
    return Tensor(array, requires_grad=requires_grad)


def rand(*shape, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """Uniform samples in [0, 1)."""
    backend = backend_for_device(device)
    array = backend.rand(shape_args(shape), np.dtype(dtype or float32))
    return Tensor(array, requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad: bool = False,
           device=None) -> Tensor:
    """Evenly spaced values in [start, end): int64 for integer arguments, else float32."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = int64 if ints else float32
    backend = backend_for_device(device)
    return Tensor(backend.asarray(np.arange(start, end, step, dtype=np.dtype(dtype))),
                  requires_grad=requires_grad)

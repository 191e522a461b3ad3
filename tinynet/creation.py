"""Functions that make tensors: tensor, zeros, ones, full, randn, rand, arange, ..."""
from __future__ import annotations

from typing import Any

import numpy as np

from .backend import backend_for_device, backend_of
from .tensor import Tensor, _shape_args

float32 = np.dtype("float32")
float64 = np.dtype("float64")
float16 = np.dtype("float16")
int64 = np.dtype("int64")
int32 = np.dtype("int32")
uint8 = np.dtype("uint8")
bool_ = np.dtype("bool")


def _host_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Host data -> a NumPy array. Python floats become float32 (the default float dtype),
    Python ints int64; NumPy arrays and scalars keep their dtype."""
    if isinstance(data, (np.ndarray, np.generic)):
        array = np.asarray(data, dtype=dtype)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"unsupported dtype {array.dtype} for a tensor: tinynet supports "
                            "floating point, integer and boolean data")
        return array
    if isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in data):
        data = [d.numpy() if isinstance(d, Tensor) else d for d in data]
    array = np.asarray(data)
    if dtype is not None:
        return array.astype(dtype, copy=False)
    if array.dtype == np.float64:
        return array.astype(np.float32)
    if array.dtype.kind in "iu":
        return array.astype(np.int64, copy=False)
    if array.dtype.kind not in "fb":
        raise TypeError(f"unsupported data of dtype {array.dtype} for a tensor: "
                        "expected numbers or booleans")
    return array


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False,
           device: str | None = None) -> Tensor:
    """A new tensor holding a copy of ``data``.

    Python floats become float32; NumPy arrays keep their dtype (float64 stays float64,
    int64 labels stay int64). ``device`` defaults to the active backend's.
    """
    target = backend_for_device(device)
    if isinstance(data, Tensor):
        data = data.data
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
        array = target.asarray(_host_array(data, np.dtype(dtype) if dtype else None).copy())
    return Tensor(array, requires_grad=requires_grad)


def _filled(shape, value, dtype, requires_grad, device) -> Tensor:
    backend = backend_for_device(device)
    dtype = np.dtype(dtype or float32)
    array = backend.zeros(_shape_args(shape), dtype)
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
    array = backend.randn(_shape_args(shape), np.dtype(dtype or float32))
    return Tensor(array, requires_grad=requires_grad)


def rand(*shape, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """Uniform samples in [0, 1)."""
    backend = backend_for_device(device)
    array = backend.rand(_shape_args(shape), np.dtype(dtype or float32))
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

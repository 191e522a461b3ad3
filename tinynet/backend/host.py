"""Host data and dtypes: what Python numbers, lists and NumPy arrays become in a tensor."""
from __future__ import annotations

from typing import Any

import numpy as np


_default_float = [np.dtype(np.float32)]


def get_default_dtype() -> np.dtype:
    """The dtype of Python floats made into tensors and of new float tensors (float32)."""
    return _default_float[0]


def set_default_dtype(dtype: Any) -> None:
    """Make ``dtype`` (float32 or float64) the default floating point dtype, as
    ``torch.set_default_dtype`` does."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"only floating point types are allowed as the default type, "
                        f"got {dtype}")
    _default_float[0] = dtype


def host_dtype(dtype: Any) -> np.dtype:
    """The NumPy dtype of a dtype of any backend (``array_api_strict.float32`` -> float32)."""
    if isinstance(dtype, np.dtype):
        return dtype
    try:
        return np.dtype(dtype)
    except TypeError:
        return np.dtype(str(dtype).rsplit(".", 1)[-1])


def host_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Host data -> a NumPy array. Python floats become float32 (the default float dtype),
    Python ints int64; NumPy arrays and scalars keep their dtype. Nested lists of tensors
    are read through their ``numpy()``."""
    if isinstance(data, (np.ndarray, np.generic)):
        array = np.asarray(data, dtype=dtype)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"unsupported dtype {array.dtype} for a tensor: tinynet supports "
                            "floating point, integer and boolean data")
        return array
    if isinstance(data, (list, tuple)):
        data = [d.numpy() if hasattr(d, "numpy") else d for d in data]
    array = np.asarray(data)
    if dtype is not None:
        return array.astype(dtype, copy=False)
    if array.dtype == np.float64:
        return array.astype(_default_float[0], copy=False)
    if array.dtype.kind in "iu":
        return array.astype(np.int64, copy=False)
    if array.dtype.kind not in "fb":
        raise TypeError(f"unsupported data of dtype {array.dtype} for a tensor: "
                        "expected numbers or booleans")
    return array

"""Argument normalisation shared by the Tensor's methods and the free functions: axes,
shapes and dtypes given in PyTorch's or NumPy's spelling."""
from __future__ import annotations

from typing import Any

import numpy as np


def is_dtype(x: Any) -> bool:
    """True for a dtype or a dtype's name (``np.float32``, ``"float64"``), not a device."""
    if isinstance(x, np.dtype) or (isinstance(x, type) and issubclass(x, np.generic)):
        return True
    if isinstance(x, str):
        try:
            np.dtype(x)
            return x not in ("cpu", "cuda") and not x.startswith("cuda")
        except TypeError:
            return False
    return False


def axes(t: Any, axis: Any, dim: Any) -> tuple | None:
    """``axis``/``dim`` (int, tuple or None) -> a tuple of non-negative axes, or None."""
    if axis is not None and dim is not None:
        raise TypeError("give either axis or dim, not both")
    axis = dim if axis is None else axis
    if axis is None:
        return None
    given = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    result = []
    for a in given:
        a = int(a)
        if not -max(t.ndim, 1) <= a < max(t.ndim, 1):
            raise IndexError(f"axis {a} is out of range for a tensor of shape {t.shape} "
                             f"(expected in [{-max(t.ndim, 1)}, {max(t.ndim, 1) - 1}])")
        result.append(a % max(t.ndim, 1))
    if len(set(result)) != len(result):
        raise ValueError(f"repeated axis in {axis}")
    return tuple(result)


def shape_args(shape: tuple) -> tuple:
    """``f(2, 3)`` and ``f((2, 3))`` both give (2, 3)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(n) for n in shape)

"""Argument normalisation shared by the Tensor's methods and the free functions: axes,
shapes and dtypes given in PyTorch's or NumPy's spelling."""
from __future__ import annotations

import operator
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
    """``axis``/``dim`` (int, tuple or None) -> a tuple of non-negative axes, or None for
    all of them. As in PyTorch, an empty tuple means all axes, and a 0-d tensor accepts
    the axes 0 and -1 (which reduce nothing)."""
    if axis is not None and dim is not None:
        raise TypeError("give either axis or dim, not both")
    axis = dim if axis is None else axis
    if axis is None or (isinstance(axis, (tuple, list)) and not axis):
        return None
    given = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    result = []
    for a in given:
        a = operator.index(a)
        if not -max(t.ndim, 1) <= a < max(t.ndim, 1):
            raise IndexError(f"axis {a} is out of range for a tensor of shape {t.shape} "
                             f"(expected in [{-max(t.ndim, 1)}, {max(t.ndim, 1) - 1}])")
        result.append(a % max(t.ndim, 1))
    if len(set(result)) != len(result):
        raise ValueError(f"repeated axis in {axis}")
    return tuple(result) if t.ndim else ()


def axis_of(t: Any, dim: Any) -> int:
    """One axis, non-negative (0 for a 0-d tensor, which accepts 0 and -1)."""
    n = max(t.ndim, 1)
    d = operator.index(dim)
    if not -n <= d < n:
        raise IndexError(f"dimension {d} is out of range for a tensor of shape {t.shape} "
                         f"(expected in [{-n}, {n - 1}])")
    return d % n


def shape_args(shape: tuple) -> tuple:
    """``f(2, 3)`` and ``f((2, 3))`` both give (2, 3); sizes must be integers."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    try:
        return tuple(operator.index(n) for n in shape)
    except TypeError:
        raise TypeError(f"sizes must be integers, got {tuple(shape)!r}") from None


def same_dtype(a: Any, b: Any, name: str) -> tuple:
    """Refuse operands of two dtypes, as PyTorch's matmul does (no silent promotion)."""
    if a.array.dtype != b.array.dtype:
        raise TypeError(f"{name}: expected both operands to have the same dtype, got "
                        f"{a.dtype} and {b.dtype}; convert one with .to(dtype)")
    return a, b


def softmax_axis(t: Any, dim: int) -> int | None:
    """The class axis of softmax and log_softmax (None for a 0-d tensor)."""
    axis = axis_of(t, dim)
    return None if t.ndim == 0 else axis

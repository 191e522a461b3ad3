"""PyTorch's type promotion: the dtype of ``a + b`` when a and b differ.

dtypes fall in three categories, bool < integer < floating point, and three kinds of
operands take part with different weight (docs/promotion.md has the table):

1. tensors with dimensions decide first: their dtypes promote as usual (int32 with int64
   gives int64, float32 with float64 gives float64, any integer with a float gives that
   float: int64 with float16 gives float16);
2. a 0-d tensor counts only if its category is higher than theirs (then its own dtype:
   an int32 tensor plus a float64 0-d tensor gives float64, a float32 tensor plus a
   float64 0-d tensor stays float32);
3. a Python or NumPy number counts only if its category is higher still, and then as the
   default dtype of its category (int64 for integers, float32 for floats): a float32
   tensor times 2.5 stays float32, an int64 tensor times 2.5 gives float32.
"""
from __future__ import annotations

from typing import Any

import numpy as np

BOOL, INT64, FLOAT32 = np.dtype(bool), np.dtype(np.int64), np.dtype(np.float32)


def promote_types(a: np.dtype, b: np.dtype) -> np.dtype:
    """The smallest dtype that holds both, PyTorch's way: an integer with a float gives
    the float (NumPy would widen int64 with float32 to float64)."""
    if a == b:
        return a
    a_float, b_float = a.kind == "f", b.kind == "f"
    if a_float != b_float:
        return a if a_float else b
    return np.promote_types(a, b)


def category(dtype: np.dtype | None) -> int:
    """0 for bool, 1 for integers, 2 for floating point (-1 for None)."""
    return -1 if dtype is None else {"b": 0, "u": 1, "i": 1, "f": 2}[dtype.kind]


def _combine(higher: np.dtype | None, lower: np.dtype | None) -> np.dtype | None:
    """``higher`` wins unless ``lower`` is of a higher category (PyTorch's
    combine_categories): then the two are promoted."""
    if higher is None:
        return lower
    if lower is None or category(higher) >= category(lower):
        return higher
    return promote_types(higher, lower)


def number_dtype(x: Any) -> np.dtype:
    """The dtype a Python or NumPy number takes part with: bool, int64 or float32."""
    if isinstance(x, (bool, np.bool_)):
        return BOOL
    if isinstance(x, (int, np.integer)):
        return INT64
    if isinstance(x, (float, np.floating)):
        return FLOAT32
    raise TypeError(f"unsupported operand {x!r} of type {type(x).__name__}: expected a "
                    "Tensor or a Python number")


def result_type(*operands: Any) -> np.dtype:
    """The dtype of an elementwise op on ``operands`` (Tensors and Python numbers)."""
    dims = zeros = numbers = None
    for x in operands:
        if hasattr(x, "array"):  # a Tensor
            if x.ndim:
                dims = x.dtype if dims is None else promote_types(dims, x.dtype)
            else:
                zeros = x.dtype if zeros is None else promote_types(zeros, x.dtype)
        else:
            d = number_dtype(x)
            numbers = d if numbers is None else promote_types(numbers, d)
    return _combine(dims, _combine(zeros, numbers))


def float_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype of a floating point op (exp, log, division) on ``dtype``: floats keep
    theirs, integers and bools compute in float32, the default float dtype."""
    return dtype if dtype.kind == "f" else FLOAT32

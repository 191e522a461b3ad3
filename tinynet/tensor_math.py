"""The Tensor's math: operators, comparisons, elementwise functions and reductions.

``TensorMath`` is a base class of ``Tensor`` (tensor.py); each method is a one-line call
of an op in ``tinynet.ops`` after its arguments are normalised. Operands of two dtypes
are first cast to one by PyTorch's promotion rules (promotion.py), and ops that only
make sense in floating point (exp, log, division) compute integers in float32.
"""
from __future__ import annotations

import math
from collections import namedtuple
from typing import Any

import numpy as np

from . import ops
from .arguments import axes, axis_of, same_dtype, softmax_axis
from .backend import HOST_ARRAY, backend_of, host_array
from .promotion import float_dtype, result_type

MaxResult = namedtuple("MaxResult", ["values", "indices"])
FLOATS = (np.dtype(np.float32), np.dtype(np.float64))  # NumPy's, for a fast path of pair
LN10 = math.log(10.0)


class TensorMath:
    __slots__ = ()

    # ---- arithmetic --------------------------------------------------------------------
    def __add__(self, other):
        return ops.Add.apply(*pair(self, other))

    def __radd__(self, other):
        return ops.Add.apply(*pair(self, other, reflected=True))

    def __sub__(self, other):
        return ops.Sub.apply(*pair(self, other))

    def __rsub__(self, other):
        return ops.Sub.apply(*pair(self, other, reflected=True))

    def __mul__(self, other):
        return ops.Mul.apply(*pair(self, other))

    def __rmul__(self, other):
        return ops.Mul.apply(*pair(self, other, reflected=True))

    def __truediv__(self, other):
        return ops.Div.apply(*floating(pair(self, other)))

    def __rtruediv__(self, other):
        return ops.Div.apply(*floating(pair(self, other, reflected=True)))

    def __pow__(self, other):
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            base = self if isinstance(other, int) else self.to(result_type(self, other))
            return ops.PowScalar.apply(base, p=other)
        return ops.Pow.apply(*pair(self, other))

    def __rpow__(self, other):
        return ops.Pow.apply(*pair(self, other, reflected=True))

    def pow(self, exponent):
        return self ** exponent

    def add(self, other, *, alpha: float = 1):
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other, *, alpha: float = 1):
        return self - (other if alpha == 1 else other * alpha)

    def mul(self, other):
        return self * other

    def div(self, other):
        return self / other

    def matmul(self, other):
        return self @ other

    def __matmul__(self, other):
        return ops.MatMul.apply(*same_dtype(*pair(self, other, promote=False), "matmul"))

    def __rmatmul__(self, other):
        return ops.MatMul.apply(*same_dtype(*pair(self, other, True, False), "matmul"))

    def __neg__(self):
        if self.dtype.kind == "b":
            raise TypeError("negation (-) of a bool tensor is not supported; use ~t or "
                            "logical_not")
        return ops.Neg.apply(self)

    # comparisons give boolean tensors, outside the graph
    def __lt__(self, other):
        a, b = pair(self, other)
        return self._wrap(a.array < b.array)

    def __le__(self, other):
        a, b = pair(self, other)
        return self._wrap(a.array <= b.array)

    def __gt__(self, other):
        a, b = pair(self, other)
        return self._wrap(a.array > b.array)

    def __ge__(self, other):
        a, b = pair(self, other)
        return self._wrap(a.array >= b.array)

    def __eq__(self, other):
        a, b = pair(self, other)
        return self._wrap(a.array == b.array)

    def __ne__(self, other):
        a, b = pair(self, other)
        return self._wrap(a.array != b.array)

    __hash__ = object.__hash__  # defining __eq__ would otherwise make tensors unhashable

    # ---- elementwise math ------------------------------------------------------------------
    def exp(self):
        return ops.Exp.apply(floating(self))

    def log(self):
        return ops.Log.apply(floating(self))

    def log10(self):
        return self.log() * (1.0 / LN10)  # log10 x = ln x / ln 10

    def sqrt(self):
        return ops.Sqrt.apply(floating(self))

    def sin(self):
        return ops.Sin.apply(floating(self))

    def cos(self):
        return ops.Cos.apply(floating(self))

    def abs(self):
        return ops.Abs.apply(self)

    def tanh(self):
        return ops.Tanh.apply(floating(self))

    def sigmoid(self):
        return ops.Sigmoid.apply(floating(self))

    def relu(self):
        return ops.ReLU.apply(self)

    def clip(self, min: float | None = None, max: float | None = None):
        if min is None and max is None:
            raise ValueError("clip needs at least one of min and max")
        return ops.Clip.apply(self, lo=min, hi=max)

    clamp = clip

    def softmax(self, dim: int = -1):
        return ops.Softmax.apply(floating(self), axis=softmax_axis(self, dim))

    def log_softmax(self, dim: int = -1):
        return ops.LogSoftmax.apply(floating(self), axis=softmax_axis(self, dim))

    # ---- reductions ------------------------------------------------------------------------
    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=False):
        return ops.Sum.apply(self, axes=axes(self, axis, dim), keepdims=keepdims or keepdim)

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=False):
        if self.dtype.kind not in "fc":
            raise TypeError(f"mean() needs a floating point tensor, got dtype {self.dtype}")
        return ops.Mean.apply(self, axes=axes(self, axis, dim), keepdims=keepdims or keepdim)

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        """The maximum over all elements, or along one axis.

        As in PyTorch, ``t.max(1)`` and ``t.max(dim=1)`` return ``(values, indices)``;
        as in NumPy, ``t.max(axis=1)`` returns the values only; ``t.max(other)`` with a
        tensor is the elementwise maximum. Ties share the gradient.
        """
        if hasattr(dim, "array"):
            return ops.Maximum.apply(*pair(self, dim))
        keep = keepdim or keepdims
        values = ops.Max.apply(self, axes=axes(self, axis, dim), keepdims=keep)
        if dim is None:
            return values
        return MaxResult(values, self.argmax(dim, keep))

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        if hasattr(dim, "array"):
            a, b = pair(self, dim)
            return -ops.Maximum.apply(-a, -b)
        result = (-self).max(dim, keepdim, axis=axis, keepdims=keepdims)
        if isinstance(result, MaxResult):
            return MaxResult(-result.values, result.indices)
        return -result

    def argmax(self, dim: int | None = None, keepdim: bool = False, *, axis=None):
        """The index of the (first) maximum, over all elements or along ``dim``."""
        return arg_reduce(self, "argmax", axis if dim is None else dim, keepdim)

    def argmin(self, dim: int | None = None, keepdim: bool = False, *, axis=None):
        return arg_reduce(self, "argmin", axis if dim is None else dim, keepdim)


# ---- argument helpers ------------------------------------------------------------------
def pair(t: Any, other: Any, reflected: bool = False, promote: bool = True) -> tuple:
    """(t, other) as two Tensors on t's backend, cast to one dtype by PyTorch's promotion
    (promotion.py): a float32 tensor with 2.5, with an int64 tensor or with a float64 0-d
    tensor stays float32. (Every Tensor is a TensorMath.)"""
    if not isinstance(other, TensorMath):
        backend = backend_of(t.array)
        if (type(other) is float or type(other) is int) and type(t.array) is HOST_ARRAY \
                and t.array.dtype in FLOATS:  # 0.5 * x, x / 255: the number takes x's dtype
            other = t._wrap(backend.asarray(other, dtype=t.array.dtype))
            return (other, t) if reflected else (t, other)
        if isinstance(other, (int, float, np.number, np.bool_)):
            dtype = result_type(t, other) if promote else t.dtype
            t = t.to(dtype)
            other = t._wrap(backend.asarray(other, dtype=backend.dtype(dtype)))
            return (other, t) if reflected else (t, other)
        try:
            backend_of(other)
        except TypeError:
            other = backend.asarray(host_array(other))
        other = t._wrap(other)
    if promote and other.array.dtype is not t.array.dtype and other.dtype != t.dtype:
        dtype = result_type(t, other)
        t, other = t.to(dtype), other.to(dtype)
    return (other, t) if reflected else (t, other)


def floating(t: Any) -> Any:
    """``t`` as a floating point tensor (integers and bools in float32), or a pair."""
    if isinstance(t, tuple):
        return tuple(floating(x) for x in t)
    if type(t.array) is HOST_ARRAY and t.array.dtype in FLOATS:  # the common case
        return t
    dtype = t.dtype
    return t if dtype.kind == "f" else t.to(float_dtype(dtype))


def arg_reduce(t: Any, name: str, dim: int | None, keepdim: bool) -> Any:
    """argmax / argmin over all elements (dim None) or along ``dim``, as int64."""
    xp = backend_of(t.array).xp
    if dim is None or t.ndim == 0:
        axes(t, dim, None)  # checks the axis of a 0-d tensor: 0 and -1 are allowed
        index = getattr(xp, name)(xp.reshape(t.array, (-1,)))
        return t._wrap(xp.reshape(index, (1,) * t.ndim) if keepdim and t.ndim else index)
    return t._wrap(getattr(xp, name)(t.array, axis=axis_of(t, dim), keepdims=keepdim))

"""The Tensor's math: operators, comparisons, elementwise functions and reductions.

``TensorMath`` is a base class of ``Tensor`` (tensor.py); each method is a one-line call
of an op in ``tinynet.ops`` after its arguments are normalised.
"""
from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from . import ops
from .arguments import axes
from .autograd import is_grad_enabled
from .backend import backend_of, host_array

MaxResult = namedtuple("MaxResult", ["values", "indices"])


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
        return ops.Div.apply(*pair(self, other))

    def __rtruediv__(self, other):
        return ops.Div.apply(*pair(self, other, reflected=True))

    def __pow__(self, other):
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            return ops.PowScalar.apply(float_if_int(self, other), p=other)
        return ops.Pow.apply(*pair(self, other))

    def __rpow__(self, other):
        return ops.Pow.apply(*pair(self, other, reflected=True))

    def __matmul__(self, other):
        return ops.MatMul.apply(*pair(self, other))

    def __rmatmul__(self, other):
        return ops.MatMul.apply(*pair(self, other, reflected=True))

    def __neg__(self):
        return ops.Neg.apply(self)

    # in place (``w -= lr * w.grad``): only outside the graph, as in PyTorch
    def __iadd__(self, other):
        check_in_place(self, "+=")
        self.array += pair(self, other)[1].array
        return self

    def __isub__(self, other):
        check_in_place(self, "-=")
        self.array -= pair(self, other)[1].array
        return self

    def __imul__(self, other):
        check_in_place(self, "*=")
        self.array *= pair(self, other)[1].array
        return self

    def __itruediv__(self, other):
        check_in_place(self, "/=")
        self.array /= pair(self, other)[1].array
        return self

    # comparisons give boolean tensors, outside the graph
    def __lt__(self, other):
        return self._wrap(self.array < pair(self, other)[1].array)

    def __le__(self, other):
        return self._wrap(self.array <= pair(self, other)[1].array)

    def __gt__(self, other):
        return self._wrap(self.array > pair(self, other)[1].array)

    def __ge__(self, other):
        return self._wrap(self.array >= pair(self, other)[1].array)

    def __eq__(self, other):
        return self._wrap(self.array == pair(self, other)[1].array)

    def __ne__(self, other):
        return self._wrap(self.array != pair(self, other)[1].array)

    __hash__ = object.__hash__  # defining __eq__ would otherwise make tensors unhashable

    # ---- elementwise math ------------------------------------------------------------------
    def exp(self):
        return ops.Exp.apply(self)

    def log(self):
        return ops.Log.apply(self)

    def sqrt(self):
        return ops.Sqrt.apply(self)

    def abs(self):
        return ops.Abs.apply(self)

    def tanh(self):
        return ops.Tanh.apply(self)

    def sigmoid(self):
        return ops.Sigmoid.apply(self)

    def relu(self):
        return ops.ReLU.apply(self)

    def clip(self, min: float | None = None, max: float | None = None):
        if min is None and max is None:
            raise ValueError("clip needs at least one of min and max")
        return ops.Clip.apply(self, lo=min, hi=max)

    clamp = clip

    def softmax(self, dim: int = -1):
        return ops.Softmax.apply(self, axis=softmax_axis(self, dim))

    def log_softmax(self, dim: int = -1):
        return ops.LogSoftmax.apply(self, axis=softmax_axis(self, dim))

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
        as in NumPy, ``t.max(axis=1)`` returns the values only. Ties share the gradient.
        """
        keep = keepdim or keepdims
        values = ops.Max.apply(self, axes=axes(self, axis, dim), keepdims=keep)
        if dim is None:
            return values
        return MaxResult(values, self.argmax(dim, keep))

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        result = (-self).max(dim, keepdim, axis=axis, keepdims=keepdims)
        if isinstance(result, MaxResult):
            return MaxResult(-result.values, result.indices)
        return -result

    def argmax(self, dim: int | None = None, keepdim: bool = False):
        xp = backend_of(self.array).xp
        if dim is None:
            return self._wrap(xp.argmax(xp.reshape(self.array, (-1,))))
        axis = axes(self, dim, None)[0]
        return self._wrap(xp.argmax(self.array, axis=axis, keepdims=keepdim))


# ---- argument helpers ------------------------------------------------------------------
def check_in_place(t: Any, op: str) -> None:
    """In-place changes would corrupt values saved for backward: allow them only where no
    graph is recorded (under no_grad) or on tensors that take no part in one."""
    if t.requires_grad and (is_grad_enabled() or t._node is not None):
        raise RuntimeError(f"in-place {op} on a tensor that requires grad: do parameter "
                           "updates inside `with tn.no_grad():`")


def float_if_int(t: Any, scalar: Any) -> Any:
    """int tensor op float scalar gives float32, as in PyTorch."""
    if isinstance(scalar, float) and t.dtype.kind in "iub":
        return t.to(np.float32)
    return t


def pair(t: Any, other: Any, reflected: bool = False) -> tuple:
    """(t, other) as two Tensors on t's backend; a Python number takes t's dtype, so a
    float32 tensor times 2.0 stays float32. (Every Tensor is a TensorMath.)"""
    if not isinstance(other, TensorMath):
        backend = backend_of(t.array)
        if isinstance(other, (int, float, bool)):
            t = float_if_int(t, other) if not isinstance(other, bool) else t
            other = t._wrap(backend.asarray(other, dtype=backend.dtype(t.dtype)))
        else:
            try:
                backend_of(other)
            except TypeError:
                other = backend.asarray(host_array(other))
            other = t._wrap(other)
    return (other, t) if reflected else (t, other)


def softmax_axis(t: Any, dim: int) -> int | None:
    """The class axis of softmax and log_softmax (None for a 0-d tensor)."""
    axis = axes(t, dim, None)[0]
    return None if t.ndim == 0 else axis

"""Softmax and log-softmax along one axis, by log-sum-exp (finite for finite input).

``class_sum`` (a sum over the class axis) is shared with the losses in cross_entropy.py.
"""
from __future__ import annotations

from ..autograd import Function
from ..backend import array_module


_constants: dict = {}  # (what, shape, dtype, device) -> a read-only array made once


def constant(xp, what: str, shape: tuple, dtype, device, make):
    """A small array that depends only on its shape, made once and kept: the ones vector
    of ``class_sum``, the class numbers the losses compare targets with. Nothing may
    write into it."""
    key = (what, shape, dtype, device)
    array = _constants.get(key)
    if array is None:
        if len(_constants) > 256:  # shapes come from the data: keep the cache small
            _constants.clear()
        array = _constants[key] = make()
    return array


def class_sum(xp, a, axis: int, keepdims: bool = True):
    """Σ over the class axis. When it is the last axis this is a matrix-vector product with
    ones: NumPy's sum over a short last axis costs ~30 ns a row, BLAS a few."""
    if axis != a.ndim - 1 or a.ndim > 2:
        return xp.sum(a, axis=axis, keepdims=keepdims)
    shape = (a.shape[axis], 1) if keepdims else (a.shape[axis],)
    ones = constant(xp, "ones", shape, a.dtype, a.device,
                    lambda: xp.ones(shape, dtype=a.dtype, device=a.device))
    return a @ ones


def log_softmax(xp, x, axis):
    """log_softmax on arrays: shared by LogSoftmax and the fused cross-entropy."""
    if x.size == 0:  # nothing to normalise (the max of an empty axis is undefined)
        return x + 0
    z = x - xp.max(x, axis=axis, keepdims=True)  # shift by the max: every exp(z) <= 1
    return z - xp.log(class_sum(xp, xp.exp(z), axis))  # the sum is >= 1: no log(0), no overflow


class LogSoftmax(Function):
    """y = x - log Σ_j exp(x_j) along ``axis`` (by log-sum-exp: finite for finite x).
    dL/dx = gy - softmax(x) · Σ_j gy_j."""

    __slots__ = ("y", "axis")  # the output: softmax = exp(y)
    saves_inputs = False
    saves_output = True

    def forward(self, x, axis):
        self.axis = axis
        self.y = log_softmax(array_module(x), x, axis)
        return self.y

    def backward(self, gy):
        xp = array_module(gy)
        return (gy - xp.exp(self.y) * class_sum(xp, gy, self.axis),)


class Softmax(Function):
    """y = exp(x) / Σ_j exp(x_j) along ``axis``.  dL/dx = y · (gy - Σ_j gy_j · y_j)."""

    __slots__ = ("y", "axis")  # the output is all backward needs
    saves_inputs = False
    saves_output = True

    def forward(self, x, axis):
        xp = array_module(x)
        if x.size == 0:
            self.axis, self.y = axis, x + 0
            return self.y
        e = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
        self.axis = axis
        self.y = e / class_sum(xp, e, axis)
        return self.y

    def backward(self, gy):
        xp, y = array_module(gy), self.y
        return (y * (gy - class_sum(xp, gy * y, self.axis)),)

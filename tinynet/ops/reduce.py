"""Reductions: sum, mean and max over all axes or some of them.

``axes`` is a tuple of non-negative axes (normalised by ``Tensor``), or None for all.
Backward puts the reduced axes back (as size 1) and broadcasts gy over them.
"""
from __future__ import annotations

import math

from ..autograd import Function
from ..backend import array_module


def _expand(gy, shape, axes, keepdims):
    """gy of a reduction over ``axes`` -> broadcast back to the input ``shape``."""
    xp = array_module(gy)
    if not keepdims:
        kept = tuple(1 if (axes is None or i in axes) else n for i, n in enumerate(shape))
        gy = xp.reshape(gy, kept)
    return xp.broadcast_to(gy, shape)


class Sum(Function):
    __slots__ = ("shape", "axes", "keepdims")  # only shapes: d(sum)/dx_i = 1
    saves_inputs = False

    def forward(self, x, axes, keepdims):
        self.shape, self.axes, self.keepdims = x.shape, axes, keepdims
        return array_module(x).sum(x, axis=axes, keepdims=keepdims)

    def backward(self, gy):
        return (_expand(gy, self.shape, self.axes, self.keepdims),)


class Mean(Function):
    __slots__ = ("shape", "axes", "keepdims")
    saves_inputs = False

    def forward(self, x, axes, keepdims):
        self.shape, self.axes, self.keepdims = x.shape, axes, keepdims
        return array_module(x).mean(x, axis=axes, keepdims=keepdims)

    def backward(self, gy):
        axes = range(len(self.shape)) if self.axes is None else self.axes
        n = math.prod(self.shape[i] for i in axes)
        return (_expand(gy / n, self.shape, self.axes, self.keepdims),)  # d(mean)/dx_i = 1/n


class Max(Function):
    """y = max of x over ``axes``. Ties share the gradient evenly (as torch.amax does),
    so the gradient of each maximum is gy / (number of maxima) and the total equals gy."""

    __slots__ = ("x", "y", "axes", "keepdims")
    saves_output = True

    def forward(self, x, axes, keepdims):
        xp = array_module(x)
        reduced = range(x.ndim) if axes is None else axes
        if any(x.shape[i] == 0 for i in reduced):  # an empty batch is fine, empty rows not
            raise ValueError(f"max of a tensor of shape {tuple(x.shape)} over an axis of "
                             "size 0 is undefined")
        self.x, self.axes, self.keepdims = x, axes, keepdims
        self.y = xp.max(x, axis=axes, keepdims=True)
        return self.y if keepdims else xp.reshape(self.y, _reduced_shape(x.shape, axes))

    def backward(self, gy):
        xp = array_module(gy)
        is_max = xp.astype(self.x == self.y, gy.dtype)
        count = xp.sum(is_max, axis=self.axes, keepdims=True)
        return (is_max * (xp.reshape(gy, self.y.shape) / count),)


def _reduced_shape(shape, axes):
    if axes is None:
        return ()
    return tuple(n for i, n in enumerate(shape) if i not in axes)

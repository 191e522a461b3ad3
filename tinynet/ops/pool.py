"""2-D pooling: MaxPool2d and AvgPool2d, NCHW outside and channels-last inside, like Conv2d.

A pooling window covers kh·kw pixels of one channel. Rather than copying windows out,
both ops loop over the kh·kw offsets (p, q) of a window: the element at offset (p, q) of
every window, over the whole batch, is one strided slice of the channels-last images
(``window_slice``), shaped like the output. So a pool is kh·kw elementwise passes of
output size, and its backward kh·kw strided slice-adds into a zero gradient.

Output size: OH = (H + 2·ph - kh) // sh + 1 (likewise OW); the stride defaults to the
kernel size (in the functional API), so windows tile the image.
"""
from __future__ import annotations

from ..autograd import Function
from ..backend import array_module, backend_of
from .conv import channels_first, channels_last, offsets, window_slice


def out_size(shape: tuple, kernel: tuple, stride: tuple) -> tuple:
    """(OH, OW) for channels-last padded images of ``shape`` (N, Hp, Wp, C)."""
    return ((shape[1] - kernel[0]) // stride[0] + 1, (shape[2] - kernel[1]) // stride[1] + 1)


class MaxPool2d(Function):
    """y[n, c, i, j] = max_{p,q} xpad[n, c, i·sh + p, j·sw + q], padding with -inf.

    dL/dx: each output's gradient goes to ONE element of its window, the first maximum in
    row-major order (PyTorch's rule), never to every tied one. Ties are common: MNIST's
    background is a constant 0, so most windows there are all-tied; sharing the gradient
    among them (the mask x == max) gives different, wrong-by-PyTorch, conv gradients.
    Backward walks the offsets in order, carrying the gradient not yet claimed: where the
    element equals the maximum it takes all of it, and nothing is left for later ties.
    """

    __slots__ = ("xl", "y", "kernel", "stride", "padding")  # input and output, channels-last

    def forward(self, x, *, kernel, stride, padding):
        xp = array_module(x)
        xl = channels_last(x, padding, fill=-float("inf"))
        out = out_size(xl.shape, kernel, stride)
        values = [xl[window_slice(p, q, stride, out)] for p, q in offsets(kernel)]
        y = values[0]
        for v in values[1:]:
            y = xp.maximum(y, v)  # NaN propagates, as in PyTorch (and passes no gradient)
        if len(values) == 1:
            y = xp.asarray(y, copy=True)  # a 1x1 window: copy, never return a view of x
        self.xl, self.y = xl, y
        self.kernel, self.stride, self.padding = kernel, stride, padding
        return xp.permute_dims(y, (0, 3, 1, 2))

    def backward(self, gy):
        xp = array_module(gy)
        gyl = xp.permute_dims(gy, (0, 2, 3, 1))
        g = backend_of(gy).zeros(self.xl.shape, gy.dtype)
        out = tuple(self.y.shape[1:3])
        unclaimed = gyl  # per window: the gradient no earlier maximum has taken
        for p, q in offsets(self.kernel):
            where = window_slice(p, q, self.stride, out)
            claimed = unclaimed * xp.astype(self.xl[where] == self.y, gy.dtype)
            g[where] += claimed
            unclaimed = unclaimed - claimed  # zero where this offset held the maximum
        return (channels_first(g, self.padding),)


class AvgPool2d(Function):
    """y[n, c, i, j] = (1 / (kh·kw)) Σ_{p,q} xpad[n, c, i·sh + p, j·sw + q], zero padding
    counted in the average (PyTorch's default, count_include_pad=True).

    dL/dx: every element of a window receives gy / (kh·kw).
    """

    __slots__ = ("shape", "kernel", "stride", "padding")  # shapes only: the op is linear

    def forward(self, x, *, kernel, stride, padding):
        xp = array_module(x)
        xl = channels_last(x, padding)
        out = out_size(xl.shape, kernel, stride)
        total = None
        for p, q in offsets(kernel):
            v = xl[window_slice(p, q, stride, out)]
            total = v if total is None else total + v
        self.shape, self.kernel, self.stride, self.padding = xl.shape, kernel, stride, padding
        return xp.permute_dims(total / (kernel[0] * kernel[1]), (0, 3, 1, 2))

    def backward(self, gy):
        xp = array_module(gy)
        gyl = xp.permute_dims(gy, (0, 2, 3, 1)) / (self.kernel[0] * self.kernel[1])
        g = backend_of(gy).zeros(self.shape, gy.dtype)
        out = tuple(gyl.shape[1:3])
        for p, q in offsets(self.kernel):
            g[window_slice(p, q, self.stride, out)] += gyl
        return (channels_first(g, self.padding),)

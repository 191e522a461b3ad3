"""2-D pooling: MaxPool2d and AvgPool2d, NCHW outside and channels-last inside, like Conv2d.

A pooling window covers kh·kw pixels of one channel. The element at offset (p, q) of
every window, over the whole batch, is one strided slice of the channels-last images,
shaped like the output. Forward copies the kh·kw slices into contiguous blocks
(``gather``, offset-major windows) and reduces over the blocks; backward computes the
gradient of each block and adds it back where the block was read from (``col2im``, as
for a convolution). Elementwise passes run on the contiguous blocks: on strided slices
with only C numbers per run, NumPy's elementwise ops are several times slower.

Output size: OH = (H + 2·ph - kh) // sh + 1 (likewise OW); the stride defaults to the
kernel size (in the functional API), so windows tile the image.
"""
from __future__ import annotations

from ..autograd import Function
from ..backend import array_module
from .conv import channels_first, channels_last, col2im, gather


class MaxPool2d(Function):
    """y[n, c, i, j] = max_{p,q} xpad[n, c, i·sh + p, j·sw + q], padding with -inf.

    dL/dx: each output's gradient goes to ONE element of its window, the first maximum in
    row-major order (PyTorch's rule), never to every tied one. Ties are common: MNIST's
    background is a constant 0, so most windows there are all-tied; sharing the gradient
    among them (the mask x == max) gives different, wrong-by-PyTorch, conv gradients.
    Backward walks the offsets in order, carrying the gradient not yet claimed: where the
    element equals the maximum it takes all of it, and nothing is left for later ties.
    """

    __slots__ = ("blocks", "y", "shape", "kernel", "stride", "padding")

    def forward(self, x, *, kernel, stride, padding):
        xp = array_module(x)
        xl = channels_last(x, padding, fill=-float("inf"))
        blocks = gather(xl, kernel, stride)  # (kh·kw, N, OH, OW, C), contiguous
        y = xp.max(blocks, axis=0)  # NaN propagates, as in PyTorch (and passes no gradient)
        self.blocks, self.y, self.shape = blocks, y, tuple(xl.shape)
        self.kernel, self.stride, self.padding = kernel, stride, padding
        return xp.permute_dims(y, (0, 3, 1, 2))

    def backward(self, gy):
        xp = array_module(gy)
        unclaimed = xp.permute_dims(gy, (0, 2, 3, 1))  # per window: gradient not yet taken
        grads = []  # dL/dx at each offset of the windows, in row-major order
        for k in range(self.blocks.shape[0]):
            claimed = unclaimed * xp.astype(self.blocks[k, ...] == self.y, gy.dtype)
            grads.append(claimed)
            unclaimed = unclaimed - claimed  # zero where this offset held the maximum
        g = col2im(grads, self.shape, self.kernel, self.stride)
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
        y = xp.mean(gather(xl, kernel, stride), axis=0)
        self.shape, self.kernel = tuple(xl.shape), kernel
        self.stride, self.padding = stride, padding
        return xp.permute_dims(y, (0, 3, 1, 2))

    def backward(self, gy):
        xp = array_module(gy)
        share = xp.permute_dims(gy, (0, 2, 3, 1)) / (self.kernel[0] * self.kernel[1])
        g = col2im([share] * (self.kernel[0] * self.kernel[1]), self.shape, self.kernel,
                   self.stride)  # every offset of a window gets the same share
        return (channels_first(g, self.padding),)

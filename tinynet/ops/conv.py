"""2-D convolution as im2col + one matrix product, with images channels-last inside the op.

Shapes are PyTorch's (NCHW): x (N, C, H, W), weight (O, C, kh, kw), bias (O,), and
y (N, O, OH, OW) with OH = (H + 2·ph - kh) // sh + 1 (likewise OW):

    y[n, o, i, j] = b[o] + Σ_{c,p,q} w[o, c, p, q] · xpad[n, c, i·sh + p, j·sw + q]

**im2col.** Every output pixel (n, i, j) reads a window of kh·kw·C input values. Written
as one row each, the windows form a matrix ``cols`` (N·OH·OW, kh·kw·C); with the weight as
a matrix W2 (O, kh·kw·C) whose columns are in the same order, the whole convolution is

    Y = cols @ W2.T + b          (N·OH·OW, O): one row per output pixel, one column per channel

**Channels-last.** From NCHW memory, a window row gathers kh·kw·C scattered numbers. From
channels-last memory (N, H, W, C) it is kh·kw runs of C contiguous numbers, so the window
copy moves whole runs; and Y, read as (N, OH, OW, O), already *is* the output in
channels-last memory. So the op transposes once on the way in (fused with the padding copy)
and hands y back as an NCHW-shaped view of channels-last memory, never copying it back. The
next conv, pool, BatchNorm or ReLU reads it channels-last at no cost, and gradients flow back
in the same layout. Only a reshape to NCHW order (``flatten`` before a Linear) copies.

**Backward**, with GY = dL/dy as the same (N·OH·OW, O) matrix:

    dL/dW2 = GY.T @ cols,    dL/db = Σ_rows GY,    dL/dcols = GY @ W2,

and dL/dx is col2im of dL/dcols: each window's gradient added back where the window was
read from (kh·kw strided slice-adds, overlaps accumulating), the padding cut off. dL/dcols
is computed offset-major, as kh·kw blocks GY @ W2[:, block of offset (p, q)] in one batched
product, so each slice-add reads one contiguous (N, OH, OW, C) block: from the (N·OH·OW,
kh·kw·C) matrix it would read runs of C numbers scattered over the whole matrix, about
three times slower.

The helpers below (channels-last framing, window slices, gather, col2im) serve pool.py too.
"""
from __future__ import annotations

from typing import Any

from ..autograd import Function
from ..backend import array_module, backend_of


def channels_last(x: Any, padding: tuple, fill: float = 0.0) -> Any:
    """(N, C, H, W) -> (N, H + 2·ph, W + 2·pw, C). Without padding a free view (contiguous
    when x came from a conv); with padding one copy into a frame of ``fill`` (0 for
    convolution and average pooling, -inf for max pooling)."""
    xp = array_module(x)
    xl = xp.permute_dims(x, (0, 2, 3, 1))
    ph, pw = padding
    if not ph and not pw:
        return xl
    n, h, w, c = xl.shape
    framed = backend_of(x).zeros((n, h + 2 * ph, w + 2 * pw, c), x.dtype)
    if fill != 0.0:
        framed[...] = fill
    framed[:, ph:ph + h, pw:pw + w, :] = xl
    return framed


def channels_first(g: Any, padding: tuple) -> Any:
    """The inverse of ``channels_last``: (N, Hp, Wp, C) -> the (N, C, H, W) view inside the
    padding (a gradient that fell on the padding is dropped: padding is a constant)."""
    ph, pw = padding
    n, hp, wp, c = g.shape
    return array_module(g).permute_dims(g[:, ph:hp - ph, pw:wp - pw, :], (0, 3, 1, 2))


def offsets(kernel: tuple) -> list:
    """The offsets (p, q) inside a kh × kw window, in row-major order."""
    return [(p, q) for p in range(kernel[0]) for q in range(kernel[1])]


def window_slice(p: int, q: int, stride: tuple, out: tuple) -> tuple:
    """Index of the element at offset (p, q) of every window, in (N, Hp, Wp, C) images:
    a strided slice of shape (N, OH, OW, C)."""
    (sh, sw), (oh, ow) = stride, out
    return (slice(None), slice(p, p + sh * (oh - 1) + 1, sh),
            slice(q, q + sw * (ow - 1) + 1, sw), slice(None))


def gather(xl: Any, kernel: tuple, stride: tuple) -> Any:
    """Windows offset-major: (kh·kw, N, OH, OW, C), block k holding the element at offset k
    (row-major) of every window. One strided copy per offset into contiguous blocks, after
    which every elementwise pass over a block runs on contiguous memory (pool.py)."""
    out = ((xl.shape[1] - kernel[0]) // stride[0] + 1, (xl.shape[2] - kernel[1]) // stride[1] + 1)
    shape = (kernel[0] * kernel[1], xl.shape[0]) + out + (xl.shape[3],)
    blocks = array_module(xl).empty(shape, dtype=xl.dtype, device=xl.device)
    for k, (p, q) in enumerate(offsets(kernel)):
        blocks[k, ...] = xl[window_slice(p, q, stride, out)]
    return blocks


def col2im(blocks: list, padded_shape: tuple, kernel: tuple, stride: tuple) -> Any:
    """The adjoint of taking windows: ``blocks`` holds, for each offset (p, q) of the window
    in row-major order, an (N, OH, OW, C) array of that element of every window; returns
    (N, Hp, Wp, C) with each block added where it was read from. A loop over the kh·kw
    offsets, each one strided slice-add of a whole batch (a plain store, several times
    faster, when the windows do not overlap)."""
    out = tuple(blocks[0].shape[1:3])
    overlap = stride[0] < kernel[0] or stride[1] < kernel[1]
    g = backend_of(blocks[0]).zeros(padded_shape, blocks[0].dtype)
    for block, (p, q) in zip(blocks, offsets(kernel)):
        if overlap:
            g[window_slice(p, q, stride, out)] += block
        else:
            g[window_slice(p, q, stride, out)] = block
    return g


def contiguous(a: Any) -> Any:
    """A C-ordered copy of a (possibly transposed) array, portably: flattening a
    non-contiguous array copies it in C order, and reshaping that back is a view."""
    xp = array_module(a)
    return xp.reshape(xp.reshape(a, (-1,)), a.shape)


class Conv2d(Function):
    """y = conv2d(x, w) + b, NCHW (see the module docstring for the math and the layout).

    Forward saves ``cols`` (for dL/dw) only when w needs a gradient and W2 (for dL/dx)
    only when x does: the first layer's images need no gradient, so its backward skips
    the product and the col2im that would compute one.
    """

    __slots__ = ("cols", "w2", "x_shape", "kernel", "stride", "padding")

    def forward(self, x, w, b=None, *, stride, padding):
        xp = array_module(x)
        n, c = x.shape[:2]
        o, _, kh, kw = w.shape
        xl = channels_last(x, padding)
        windows = backend_of(x).windows(xl, (kh, kw), stride)   # (N, OH, OW, kh, kw, C)
        oh, ow = windows.shape[1:3]
        cols = xp.reshape(windows, (n * oh * ow, kh * kw * c))  # the one im2col copy
        w2 = xp.reshape(xp.permute_dims(w, (0, 2, 3, 1)), (o, kh * kw * c))  # cols' order
        y = cols @ w2.T
        if b is not None:
            y += b  # y is fresh: add in place
        self.cols = cols if self.needs_input_grad[1] else None
        self.w2 = w2 if self.needs_input_grad[0] else None
        self.x_shape, self.kernel = tuple(xl.shape), (kh, kw)
        self.stride, self.padding = stride, padding
        return xp.permute_dims(xp.reshape(y, (n, oh, ow, o)), (0, 3, 1, 2))

    def backward(self, gy):
        xp = array_module(gy)
        n, o, oh, ow = gy.shape
        c = self.x_shape[3]
        (kh, kw), needs = self.kernel, self.needs_input_grad
        gy2 = xp.reshape(xp.permute_dims(gy, (0, 2, 3, 1)), (n * oh * ow, o))  # GY
        gx = gw = gb = None
        if needs[0]:  # dL/dcols offset-major: W2's columns for each offset are an (O, C) block
            w3 = xp.permute_dims(xp.reshape(self.w2, (o, kh * kw, c)), (1, 0, 2))
            blocks = xp.reshape(gy2 @ w3, (kh * kw, n, oh, ow, c))
            g = col2im([blocks[k, ...] for k in range(kh * kw)], self.x_shape, self.kernel,
                       self.stride)
            gx = channels_first(g, self.padding)
        if needs[1]:
            gw2 = gy2.T @ self.cols                                      # (O, kh·kw·C)
            gw = contiguous(xp.permute_dims(xp.reshape(gw2, (o, kh, kw, c)), (0, 3, 1, 2)))
        if len(needs) == 2:  # no bias
            return gx, gw
        if needs[2]:
            gb = xp.sum(gy2, axis=0)
        return gx, gw, gb

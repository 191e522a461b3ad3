"""Graph nodes for the layers: the fused affine map and dropout.

``Linear`` is one node rather than matmul + transpose + add, so that a layer costs one
node, its transposed weight is never copied (the matmul reads it as a transposed view),
the bias is added in place into the fresh product, and backward skips the product that
gives dL/dx when x needs no gradient (the images that feed the first layer).
"""
from __future__ import annotations

from ..autograd import Function, _xp
from ..backend import backend_of
from ..tensor import Tensor


class Linear(Function):
    """y = x @ W.T + b on the last axis of x (shape (..., in) -> (..., out)).

    Given gy = dL/dy:  dL/dx = gy @ W,  dL/dW = gy.T @ x,  dL/db = Σ_batch gy
    (the batch axes flattened into one, so N-D inputs cost the same two products).
    """

    __slots__ = ("x", "w")  # x for dL/dW, W for dL/dx; the bias gradient needs neither

    def forward(self, x, w, b=None):
        self.x, self.w = x, w
        y = x @ w.T
        if b is not None:
            y += b  # y is a fresh array: adding in place saves a full-size temporary
        return y

    def backward(self, gy):
        xp = _xp(gy)
        x, w = self.x, self.w
        gx = gy @ w if self.needs_input_grad[0] else None
        gy2 = xp.reshape(gy, (-1, gy.shape[-1])) if gy.ndim != 2 else gy
        gw = gb = None
        if self.needs_input_grad[1]:
            x2 = xp.reshape(x, (-1, x.shape[-1])) if x.ndim != 2 else x
            gw = gy2.T @ x2
        if len(self.needs_input_grad) > 2 and self.needs_input_grad[2]:
            gb = xp.sum(gy2, axis=0)
        return gx, gw, gb


class Dropout(Function):
    """y = x · m, with m = 1/(1-p) where a uniform draw is >= p, else 0.

    dL/dx = gy · m: the same mask, so the gradient flows exactly where the value did.
    """

    __slots__ = ("mask",)

    def forward(self, x, p):
        backend = backend_of(x)
        keep = backend.rand(x.shape, x.dtype) >= p
        scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)  # p = 1 drops everything
        self.mask = backend.xp.astype(keep, x.dtype) * scale
        return x * self.mask

    def backward(self, gy):
        return (gy * self.mask,)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = input @ weight.T + bias, with weight of shape (out, in) acting on the last axis."""
    if not isinstance(input, Tensor):
        raise TypeError(f"linear: input must be a Tensor, got {type(input).__name__}")
    out_features, in_features = weight.shape
    if input.ndim == 0 or input.shape[-1] != in_features:
        raise ValueError(f"linear: input of shape {input.shape} does not match a weight of "
                         f"shape {weight.shape}: the input's last axis must have "
                         f"{in_features} features")
    if input.dtype != weight.dtype:
        raise TypeError(f"linear: input dtype {input.dtype} differs from the weight's dtype "
                        f"{weight.dtype}; convert one with .to(dtype)")
    if bias is None:
        return Linear.apply(input, weight)
    if bias.shape != (out_features,):
        raise ValueError(f"linear: bias of shape {bias.shape} does not match a weight of "
                         f"shape {weight.shape} (expected ({out_features},))")
    return Linear.apply(input, weight, bias)


def dropout(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) when
    ``training``; the identity otherwise (and for p = 0)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    return Dropout.apply(input, p=float(p))

"""Matrix products: ``MatMul`` (the ``@`` operator) and ``Linear``, the fused affine map.

``Linear`` is one node rather than matmul + transpose + add, so that a layer costs one
node, its transposed weight is never copied (the matmul reads it as a transposed view),
the bias is added in place into the fresh product, and backward skips the product that
gives dL/dx when x needs no gradient (the images that feed the first layer).
"""
from __future__ import annotations

from ..autograd import Function
from ..backend import array_module


class MatMul(Function):
    """y = a @ b with NumPy's rules: vectors are promoted to matrices and stacks broadcast.

    dL/da = gy @ b^T and dL/db = a^T @ gy, on the promoted shapes.
    """

    __slots__ = ("a", "b")

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError("matmul needs tensors of at least one dimension, got shapes "
                             f"{tuple(a.shape)} and {tuple(b.shape)}; use * for scalars")
        k_a = a.shape[-1]
        k_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
        if k_a != k_b:
            raise ValueError(f"matmul shape mismatch: {tuple(a.shape)} @ {tuple(b.shape)} "
                             f"({k_a} != {k_b})")
        self.a, self.b = a, b
        return a @ b

    def backward(self, gy):
        xp = array_module(gy)
        a, b = self.a, self.b
        # Promote vectors as forward did, so one pair of formulas covers every case.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = gy
        if b.ndim == 1:
            g2 = xp.expand_dims(g2, axis=-1)
        if a.ndim == 1:
            g2 = xp.expand_dims(g2, axis=-2)
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = g2 @ xp.matrix_transpose(b2)
            if a.ndim == 1:
                ga = xp.reshape(ga, ga.shape[:-2] + (ga.shape[-1],))
                if ga.ndim > 1:  # a was broadcast over the stack: sum it back
                    ga = xp.sum(ga, axis=tuple(range(ga.ndim - 1)))
        if self.needs_input_grad[1]:
            gb = xp.matrix_transpose(a2) @ g2
            if b.ndim == 1:
                gb = xp.reshape(gb, gb.shape[:-1])
                if gb.ndim > 1:
                    gb = xp.sum(gb, axis=tuple(range(gb.ndim - 1)))
        return ga, gb


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
        xp = array_module(gy)
        x, w = self.x, self.w
        gx = gy @ w if self.needs_input_grad[0] else None
        gy2 = xp.reshape(gy, (-1, gy.shape[-1])) if gy.ndim != 2 else gy
        gw = gb = None
        if self.needs_input_grad[1]:
            x2 = xp.reshape(x, (-1, x.shape[-1])) if x.ndim != 2 else x
            gw = gy2.T @ x2
        if len(self.needs_input_grad) == 2:  # no bias
            return gx, gw
        if self.needs_input_grad[2]:
            gb = xp.sum(gy2, axis=0)
        return gx, gw, gb

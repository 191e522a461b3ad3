"""Binary ops: + - * / ** @, maximum and where.

Each op returns its gradient at the broadcast shape of the output; the engine sums it back
to each input's shape (``autograd.unbroadcast``), so no op here thinks about broadcasting.
Nothing is computed for an input that needs no gradient (``needs_input_grad``).
"""
from __future__ import annotations

from ..autograd import Function, _xp


class Add(Function):
    __slots__ = ()

    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        return gy, gy  # d(a+b)/da = d(a+b)/db = 1


class Sub(Function):
    __slots__ = ()

    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        return gy, (-gy if self.needs_input_grad[1] else None)


class Mul(Function):
    __slots__ = ("a", "b")  # each input's gradient is the other input times gy

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, gy):
        ga = gy * self.b if self.needs_input_grad[0] else None
        gb = gy * self.a if self.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    __slots__ = ("a", "b")

    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, gy):
        ga = gy / self.b if self.needs_input_grad[0] else None
        gb = -gy * self.a / (self.b * self.b) if self.needs_input_grad[1] else None  # -a/b^2
        return ga, gb


class Pow(Function):
    """y = a ** b for tensors a and b (b may be a constant 0-d tensor)."""

    __slots__ = ("a", "b", "y")

    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = a ** b
        return self.y

    def backward(self, gy):
        xp = _xp(gy)
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = gy * self.b * self.a ** (self.b - 1)  # d/da a^b = b a^(b-1)
        if self.needs_input_grad[1]:
            # d/db a^b = a^b log a; where a = 0 the limit of a^b log a is 0 for b > 0
            log_a = xp.log(xp.where(self.a > 0, self.a, xp.ones_like(self.a)))
            gb = gy * self.y * log_a
        return ga, gb


class PowScalar(Function):
    """y = x ** p for a Python number p."""

    __slots__ = ("x", "p")

    def forward(self, x, p):
        self.x, self.p = x, p
        if p == 2:
            return x * x
        return x ** p

    def backward(self, gy):
        if self.p == 2:
            return (gy * (self.x + self.x),)
        return (gy * self.p * self.x ** (self.p - 1),)  # d/dx x^p = p x^(p-1)


class Neg(Function):
    __slots__ = ()

    def forward(self, x):
        return -x

    def backward(self, gy):
        return (-gy,)


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
        xp = _xp(gy)
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


class Maximum(Function):
    """y = max(a, b) elementwise; where a == b the gradient is split evenly, as in PyTorch."""

    __slots__ = ("a", "b")

    def forward(self, a, b):
        self.a, self.b = a, b
        return _xp(a).maximum(a, b)

    def backward(self, gy):
        xp = _xp(gy)
        a, b = self.a, self.b
        share_a = xp.astype(a > b, gy.dtype) + xp.astype(a == b, gy.dtype) * 0.5
        ga = gy * share_a if self.needs_input_grad[0] else None
        gb = gy * (1 - share_a) if self.needs_input_grad[1] else None
        return ga, gb


class Where(Function):
    """y = a where cond else b. ``cond`` is a constant boolean array passed as an option."""

    __slots__ = ("cond",)

    def forward(self, a, b, cond):
        self.cond = cond
        return _xp(a).where(cond, a, b)

    def backward(self, gy):
        xp = _xp(gy)
        zero = xp.zeros_like(gy)
        ga = xp.where(self.cond, gy, zero) if self.needs_input_grad[0] else None
        gb = xp.where(self.cond, zero, gy) if self.needs_input_grad[1] else None
        return ga, gb

"""Binary elementwise ops: + - * / **, maximum and where.

Each op returns its gradient at the broadcast shape of the output; the engine sums it back
to each input's shape (``autograd.unbroadcast``), so no op here thinks about broadcasting.
Nothing is computed for an input that needs no gradient (``needs_input_grad``).
"""
from __future__ import annotations

from ..autograd import Function
from ..backend import array_module


class Add(Function):
    __slots__ = ()
    saves_inputs = False

    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        return gy, gy  # d(a+b)/da = d(a+b)/db = 1


class Sub(Function):
    __slots__ = ()
    saves_inputs = False

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
    saves_output = True

    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = a ** b
        return self.y

    def backward(self, gy):
        xp = array_module(gy)
        ga = gb = None
        if self.needs_input_grad[0]:
            # d/da a^b = b a^(b-1), which is 0 where b = 0 (a^0 = 1 is constant), also at
            # a = 0, as in PyTorch: the exponent b - 1 is taken from b = 1 there, so the
            # 0 is not 0 * inf = nan
            b = self.b
            ga = gy * b * self.a ** (xp.where(b == 0, xp.ones_like(b), b) - 1)
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
        if self.p == 0:  # x^0 = 1 is constant, also at x = 0 (where p x^-1 = 0 * inf)
            return (array_module(gy).zeros_like(gy),)
        return (gy * self.p * self.x ** (self.p - 1),)  # d/dx x^p = p x^(p-1)


class Neg(Function):
    __slots__ = ()
    saves_inputs = False

    def forward(self, x):
        return -x

    def backward(self, gy):
        return (-gy,)


class Maximum(Function):
    """y = max(a, b) elementwise; where a == b the gradient is split evenly, as in PyTorch.
    A side gets gy unless it is the smaller one, so with a NaN (no order) both get it,
    as in PyTorch."""

    __slots__ = ("a", "b")

    def forward(self, a, b):
        self.a, self.b = a, b
        return array_module(a).maximum(a, b)

    def backward(self, gy):
        xp = array_module(gy)
        a, b = self.a, self.b
        g = gy - xp.astype(a == b, gy.dtype) * (gy * 0.5)  # ties: half each
        ga = g * xp.astype(~(a < b), gy.dtype) if self.needs_input_grad[0] else None
        gb = g * xp.astype(~(a > b), gy.dtype) if self.needs_input_grad[1] else None
        return ga, gb


class Where(Function):
    """y = a where cond else b. ``cond`` is a constant boolean array passed as an option."""

    __slots__ = ("cond",)
    saves_inputs = False

    def forward(self, a, b, cond):
        self.cond = cond
        return array_module(a).where(cond, a, b)

    def backward(self, gy):
        xp = array_module(gy)
        zero = xp.zeros_like(gy)
        ga = xp.where(self.cond, gy, zero) if self.needs_input_grad[0] else None
        gb = xp.where(self.cond, zero, gy) if self.needs_input_grad[1] else None
        return ga, gb

"""Elementwise ops of one tensor: exp log sqrt sin cos abs tanh sigmoid relu clip, and
dropout.

Ops whose derivative is a function of their output (exp, sqrt, tanh, sigmoid) save the
output; the others save the input.
"""
from __future__ import annotations

from ..autograd import Function
from ..backend import array_module, backend_of


class Exp(Function):
    __slots__ = ("y",)  # d/dx e^x = e^x: the output is all backward needs
    saves_inputs = False
    saves_output = True

    def forward(self, x):
        self.y = array_module(x).exp(x)
        return self.y

    def backward(self, gy):
        return (gy * self.y,)


class Log(Function):
    __slots__ = ("x",)

    def forward(self, x):
        self.x = x
        return array_module(x).log(x)

    def backward(self, gy):
        return (gy / self.x,)  # d/dx log x = 1/x


class Sqrt(Function):
    __slots__ = ("y",)
    saves_inputs = False
    saves_output = True

    def forward(self, x):
        self.y = array_module(x).sqrt(x)
        return self.y

    def backward(self, gy):
        return (gy / (self.y + self.y),)  # d/dx sqrt(x) = 1 / (2 sqrt(x))


class Sin(Function):
    __slots__ = ("x",)

    def forward(self, x):
        self.x = x
        return array_module(x).sin(x)

    def backward(self, gy):
        return (gy * array_module(gy).cos(self.x),)  # d/dx sin x = cos x


class Cos(Function):
    __slots__ = ("x",)

    def forward(self, x):
        self.x = x
        return array_module(x).cos(x)

    def backward(self, gy):
        return (-gy * array_module(gy).sin(self.x),)  # d/dx cos x = -sin x


class Abs(Function):
    __slots__ = ("x",)

    def forward(self, x):
        self.x = x
        return array_module(x).abs(x)

    def backward(self, gy):
        return (gy * array_module(gy).sign(self.x),)  # sign(0) = 0, as in PyTorch


class Tanh(Function):
    __slots__ = ("y",)
    saves_inputs = False
    saves_output = True

    def forward(self, x):
        self.y = array_module(x).tanh(x)
        return self.y

    def backward(self, gy):
        return (gy * (1 - self.y * self.y),)  # d/dx tanh x = 1 - tanh^2 x


class Sigmoid(Function):
    __slots__ = ("y",)
    saves_inputs = False
    saves_output = True

    def forward(self, x):
        # 1/(1+e^-x) overflows e^-x for x << 0; the tanh form is exact and never overflows.
        xp = array_module(x)
        self.y = xp.tanh(x * 0.5) * 0.5 + 0.5
        return self.y

    def backward(self, gy):
        return (gy * self.y * (1 - self.y),)  # s' = s (1 - s)


class ReLU(Function):
    __slots__ = ("y",)  # the output: y > 0 exactly where x > 0, all backward needs
    saves_inputs = False
    saves_output = True

    def forward(self, x):
        self.y = array_module(x).maximum(x, 0.0)
        return self.y

    def backward(self, gy):
        # A float mask and a product: much faster than xp.where on NumPy, and portable. The
        # mask is a fresh array: the product goes into it, not into one more new array.
        gx = array_module(gy).astype(self.y > 0, gy.dtype)  # relu'(0) = 0, as in PyTorch
        gx *= gy
        return (gx,)


class Clip(Function):
    """y = min(max(x, lo), hi); the gradient passes where lo <= x <= hi, as in PyTorch."""

    __slots__ = ("mask",)
    saves_inputs = False

    def forward(self, x, lo, hi):
        xp = array_module(x)
        inside = None
        y = x
        if lo is not None:
            inside = x >= lo
            y = xp.maximum(y, float(lo))
        if hi is not None:
            below = x <= hi
            inside = below if inside is None else inside & below
            y = xp.minimum(y, float(hi))
        self.mask = None if inside is None else xp.astype(inside, x.dtype)
        return y

    def backward(self, gy):
        return (gy if self.mask is None else gy * self.mask,)


class Dropout(Function):
    """y = x · m, with m = 1/(1-p) where a uniform draw is >= p, else 0.

    dL/dx = gy · m: the same mask, so the gradient flows exactly where the value did.
    """

    __slots__ = ("mask",)
    saves_inputs = False

    def forward(self, x, p):
        backend = backend_of(x)
        keep = backend.rand(x.shape, x.dtype) >= p
        scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)  # p = 1 drops everything
        self.mask = backend.xp.astype(keep, x.dtype) * scale
        return x * self.mask

    def backward(self, gy):
        return (gy * self.mask,)

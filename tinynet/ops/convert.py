"""Ops that change where or how values are stored: dtype casts, device transfers, copies."""
from __future__ import annotations

from ..autograd import Function
from ..backend import Backend, array_module, backend_of


class Cast(Function):
    __slots__ = ("dtype",)  # the input's dtype: the gradient is cast back to it
    saves_inputs = False

    def forward(self, x, dtype):
        backend = backend_of(x)
        self.dtype = x.dtype
        return backend.astype(x, backend.dtype(dtype))

    def backward(self, gy):
        return (backend_of(gy).astype(gy, self.dtype),)


class ToDevice(Function):
    __slots__ = ("source",)  # the input's backend: the gradient goes back there
    saves_inputs = False

    def forward(self, x, target: Backend):
        self.source = backend_of(x)
        return target.asarray(self.source.to_numpy(x))

    def backward(self, gy):
        return (self.source.asarray(backend_of(gy).to_numpy(gy)),)


class Clone(Function):
    """y = a copy of x with its own storage.  dL/dx = gy."""

    __slots__ = ()
    saves_inputs = False

    def forward(self, x):
        return array_module(x).asarray(x, copy=True)

    def backward(self, gy):
        return (gy,)

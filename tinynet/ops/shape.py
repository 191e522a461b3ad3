"""Ops that move elements without changing them: reshape, permute, indexing, cat, stack.

Their backward moves the gradient back the same way: reshape it back, permute it by the
inverse permutation, scatter it into zeros, or split it.
"""
from __future__ import annotations

from ..autograd import Function
from ..backend import array_module, backend_of


class Reshape(Function):
    __slots__ = ("shape",)
    saves_inputs = False

    def forward(self, x, shape):
        self.shape = x.shape
        return array_module(x).reshape(x, shape)

    def backward(self, gy):
        return (array_module(gy).reshape(gy, self.shape),)


class Permute(Function):
    __slots__ = ("axes",)
    saves_inputs = False

    def forward(self, x, axes):
        self.axes = axes
        return array_module(x).permute_dims(x, axes)

    def backward(self, gy):
        inverse = tuple(sorted(range(len(self.axes)), key=self.axes.__getitem__))
        return (array_module(gy).permute_dims(gy, inverse),)


class GetItem(Function):
    """y = x[index]. Backward adds gy into zeros shaped like x; repeated integer indices
    pick the same element several times, so their gradients accumulate (scatter-add)."""

    __slots__ = ("shape", "index", "advanced")
    saves_inputs = False

    def forward(self, x, index, advanced):
        self.shape, self.index, self.advanced = x.shape, index, advanced
        return backend_of(x).getitem(x, index)

    def backward(self, gy):
        backend = backend_of(gy)
        gx = backend.zeros(self.shape, gy.dtype)
        if self.advanced:
            backend.scatter_add(gx, self.index, gy)
        else:  # basic indexing picks each element at most once
            gx[self.index] = gy
        return (gx,)


class Cat(Function):
    __slots__ = ("axis", "sizes")
    saves_inputs = False

    def forward(self, *arrays, axis):
        self.axis, self.sizes = axis, [a.shape[axis] for a in arrays]
        return array_module(arrays[0]).concat(arrays, axis=axis)

    def backward(self, gy):
        grads, start = [], 0
        for size, needed in zip(self.sizes, self.needs_input_grad):
            index = (slice(None),) * self.axis + (slice(start, start + size), ...)
            grads.append(gy[index] if needed else None)
            start += size
        return tuple(grads)


class Stack(Function):
    __slots__ = ("axis",)
    saves_inputs = False

    def forward(self, *arrays, axis):
        self.axis = axis
        return array_module(arrays[0]).stack(arrays, axis=axis)

    def backward(self, gy):
        before = (slice(None),) * self.axis
        return tuple(gy[before + (i, ...)] if needed else None
                     for i, needed in enumerate(self.needs_input_grad))

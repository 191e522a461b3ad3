"""The Tensor's in-place updates: ``zero_ fill_ add_ sub_ mul_ div_ clamp_ copy_ uniform_
normal_ relu_``, ``+= -= *= /=`` and item assignment ``t[i] = v``.

As in PyTorch, they work on tensors outside the graph, and anywhere under ``no_grad``
(parameter updates); on a leaf that requires grad, outside ``no_grad``, they raise.
tinynet records no in-place op in a graph, so a tensor computed by the graph cannot be
changed in place while grad mode is on either (``ReLU(inplace=True)`` then computes out of
place: in PyTorch too, ``inplace`` only allows the module to overwrite its input). Every write stamps the tensor
(``autograd.mark_modified``): a backward that needs the old values then raises instead
of computing a gradient from the new ones.
``TensorInPlace`` is a base class of ``Tensor`` (tensor.py).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .autograd import is_grad_enabled, mark_modified
from .backend import backend_of, host_array
from .promotion import category, result_type
from .tensor_shape import normalise_index


class TensorInPlace:
    __slots__ = ()

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value: Any):
        check_in_place(self, "fill_")
        self.array[...] = value_array(self, value, "fill_")
        mark_modified(self)
        return self

    def add_(self, other: Any, alpha: float = 1):
        check_in_place(self, "add_")
        value = value_array(self, other, "add_")
        self.array += value if alpha == 1 else value * alpha
        mark_modified(self)
        return self

    def sub_(self, other: Any, alpha: float = 1):
        check_in_place(self, "sub_")
        value = value_array(self, other, "sub_")
        self.array -= value if alpha == 1 else value * alpha
        mark_modified(self)
        return self

    def relu_(self):
        check_in_place(self, "relu_")
        self.array[...] = backend_of(self.array).xp.maximum(self.array, 0)
        mark_modified(self)
        return self

    def mul_(self, other: Any):
        check_in_place(self, "mul_")
        self.array *= value_array(self, other, "mul_")
        mark_modified(self)
        return self

    def div_(self, other: Any):
        check_in_place(self, "div_")
        self.array /= value_array(self, other, "div_")
        mark_modified(self)
        return self

    def clamp_(self, min: float | None = None, max: float | None = None):
        check_in_place(self, "clamp_")
        if min is None and max is None:
            raise ValueError("clamp_ needs at least one of min and max")
        xp = backend_of(self.array).xp
        if min is not None:
            self.array[...] = xp.maximum(self.array, value_array(self, min, "clamp_"))
        if max is not None:
            self.array[...] = xp.minimum(self.array, value_array(self, max, "clamp_"))
        mark_modified(self)
        return self

    clip_ = clamp_

    def copy_(self, src: Any):
        """Copy ``src``'s values (broadcast to this shape, cast to this dtype and device)."""
        check_in_place(self, "copy_")
        if hasattr(src, "array") and src.device != self.device:
            src = src.to(self.device)
        self.array[...] = value_array(self, src, "copy_", cast=True)
        mark_modified(self)
        return self

    def uniform_(self, a: float = 0.0, b: float = 1.0, generator: Any = None):
        """Fill with samples of U(a, b) (from ``generator``, a ``tn.Generator``, if given)."""
        return self.copy_(self._wrap(draw(self, "random", generator)) * (b - a) + a)

    def normal_(self, mean: float = 0.0, std: float = 1.0, generator: Any = None):
        """Fill with samples of N(mean, std²)."""
        return self.copy_(self._wrap(draw(self, "standard_normal", generator)) * std + mean)

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def __setitem__(self, index: Any, value: Any) -> None:
        check_in_place(self, "item assignment")
        index, _ = normalise_index(self, index)
        backend_of(self.array).setitem(self.array, index, value_array(self, value,
                                                                      "item assignment"))
        mark_modified(self)


def draw(t: Any, kind: str, generator: Any) -> Any:
    """Random numbers shaped like t: "random" (U(0, 1)) or "standard_normal", from the
    backend's generator or from ``generator``'s NumPy stream."""
    backend = backend_of(t.array)
    if t.dtype.kind != "f":
        raise TypeError(f"random fill of a tensor of dtype {t.dtype}: only floating point")
    if generator is None:
        return (backend.rand if kind == "random" else backend.randn)(t.shape, t.dtype)
    return backend.asarray(getattr(generator.rng, kind)(t.shape, dtype=t.dtype))


def check_in_place(t: Any, op: str) -> None:
    """Refuse an in-place change that the graph would not see (see the module docstring)."""
    if not is_grad_enabled():
        return
    if t._requires_grad and t._node is None:
        raise RuntimeError(f"a leaf Variable that requires grad is being used in an in-place "
                           f"operation ({op} on a tensor of shape {t.shape}): update "
                           "parameters inside `with tn.no_grad():`, or through `p.data`")
    if t._node is not None:
        raise RuntimeError(f"{op} on a tensor computed by the graph (by "
                           f"{t._node.name}): tinynet records no in-place ops; use the "
                           "out-of-place form (y = y + 1) or do it under `tn.no_grad()`")


def value_array(t: Any, value: Any, op: str, cast: bool = False) -> Any:
    """``value`` (a Tensor, array or number) as an array of t's dtype on t's device. The
    result type of ``t op value`` must not be of a higher category than t's dtype (no
    float into an int tensor, as in PyTorch), unless ``cast`` (``copy_`` converts)."""
    backend = backend_of(t.array)
    if hasattr(value, "array"):  # a Tensor
        if value._requires_grad and is_grad_enabled():
            raise RuntimeError(f"{op}: the value requires grad, but tinynet records no "
                               "in-place op in the graph, so its gradient would be lost; "
                               "build the tensor with tn.cat, tn.stack or tn.where instead, "
                               "or pass value.detach()")
        if value.device != t.device:
            raise RuntimeError(f"{op}: expected a value on {t.device}, got one on "
                               f"{value.device}")
        operand, array = value, value.array
    elif isinstance(value, (int, float, np.number, np.bool_)):
        operand, array = value, backend.asarray(value)
    else:  # a backend array, or host data such as a list
        try:
            backend_of(value)
            array = value
        except TypeError:
            array = backend.asarray(host_array(value))
        operand = t._wrap(array)
    if not cast and category(result_type(t, operand)) > category(t.dtype):
        raise RuntimeError(f"{op}: result type {result_type(t, operand)} can't be cast to "
                           f"the desired output type {t.dtype}")
    return backend.astype(array, backend.dtype(t.dtype))

"""Free functions of tensors: tn.cat, tn.stack, tn.where, tn.maximum, tn.exp, ..."""
from __future__ import annotations

from typing import Any, Sequence

from . import ops
from .backend import backend_of
from .arguments import axes
from .tensor import Tensor
from .tensor_math import pair


def _as_tensor(x: Any, like: Tensor | None = None) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if like is not None:
        return pair(like, x)[1]
    return Tensor(x)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    tensors = [_as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("cat needs at least one tensor")
    first = tensors[0]
    axis = axes(first, dim, None)[0]
    for t in tensors[1:]:
        if t.ndim != first.ndim or any(a != b for i, (a, b) in
                                       enumerate(zip(t.shape, first.shape)) if i != axis):
            raise ValueError(f"cat along axis {axis}: shapes {first.shape} and {t.shape} "
                             "differ outside that axis")
    return ops.Cat.apply(*tensors, axis=axis)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors of one shape along a new axis."""
    tensors = [_as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack needs at least one tensor")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack needs tensors of one shape, got {sorted(shapes)}")
    axis = dim if dim >= 0 else dim + tensors[0].ndim + 1
    return ops.Stack.apply(*tensors, axis=axis)


def where(condition: Any, input: Any, other: Any) -> Tensor:
    """``input`` where ``condition`` is true, else ``other`` (numbers allowed)."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = Tensor(input)
    a = _as_tensor(input, other if isinstance(other, Tensor) else None)
    b = _as_tensor(other, a)
    cond = condition.array if isinstance(condition, Tensor) else condition
    try:
        backend_of(cond)
    except TypeError:
        cond = backend_of(a.array).asarray(cond)
    return ops.Where.apply(a, b, cond=cond)


def maximum(input: Any, other: Any) -> Tensor:
    """Elementwise maximum; ties split the gradient evenly."""
    a = _as_tensor(input, other if isinstance(other, Tensor) else None)
    return ops.Maximum.apply(a, _as_tensor(other, a))


def matmul(a: Tensor, b: Tensor) -> Tensor:
    return _as_tensor(a, b if isinstance(b, Tensor) else None) @ b


def exp(x: Tensor) -> Tensor:
    return x.exp()


def log(x: Tensor) -> Tensor:
    return x.log()


def sqrt(x: Tensor) -> Tensor:
    return x.sqrt()


def abs(x: Tensor) -> Tensor:
    return x.abs()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def sigmoid(x: Tensor) -> Tensor:
    return x.sigmoid()


def relu(x: Tensor) -> Tensor:
    return x.relu()


def clip(x: Tensor, min: float | None = None, max: float | None = None) -> Tensor:
    return x.clip(min, max)


clamp = clip


def sum(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return x.sum(dim, keepdim)


def mean(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return x.mean(dim, keepdim)


def reshape(x: Tensor, *shape) -> Tensor:
    return x.reshape(*shape)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    return x.flatten(start_dim, end_dim)


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    return x.transpose(dim0, dim1)


def permute(x: Tensor, *dims) -> Tensor:
    return x.permute(*dims)


def argmax(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return x.argmax(dim, keepdim)

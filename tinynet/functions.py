"""Free functions of tensors: tn.cat, tn.stack, tn.where, tn.maximum, tn.exp, ...

Some names here (sum, max, min, abs, pow) shadow Python's built-ins as they do in
PyTorch; no function in this file uses those built-ins.
"""
from __future__ import annotations

from typing import Any, Sequence

from . import ops
from .grad_mode import is_grad_enabled
from .backend import backend_of
from .arguments import axis_of
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
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise ValueError(f"cat: zero-dimensional tensor (at position {i}) cannot be "
                             "concatenated; use tn.stack, or reshape it to (1,)")
    axis = axis_of(first, dim)
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
    """``input`` where ``condition`` is true, else ``other`` (numbers allowed; the two are
    promoted to one dtype, as in PyTorch)."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = Tensor(input)
    a, b = pair(input, other) if isinstance(input, Tensor) else pair(other, input, True)
    cond = condition.array if isinstance(condition, Tensor) else condition
    try:
        backend_of(cond)
    except TypeError:
        cond = backend_of(a.array).asarray(cond)
    return ops.Where.apply(a, b, cond=cond)


def maximum(input: Any, other: Any) -> Tensor:
    """Elementwise maximum; ties split the gradient evenly."""
    a, b = pair(input, other) if isinstance(input, Tensor) else pair(other, input, True)
    return ops.Maximum.apply(a, b)


def minimum(input: Any, other: Any) -> Tensor:
    """Elementwise minimum; ties split the gradient evenly."""
    a, b = pair(input, other) if isinstance(input, Tensor) else pair(other, input, True)
    return -ops.Maximum.apply(-a, -b)


def max(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """``max(t)``: the largest element; ``max(t, dim)``: (values, indices) along dim;
    ``max(a, b)`` with a tensor b: the elementwise maximum, as PyTorch's torch.max."""
    return input.max(dim, keepdim)


def min(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """As ``max``, for the smallest."""
    return input.min(dim, keepdim)


def matmul(a: Tensor, b: Tensor, *, out: Tensor | None = None) -> Tensor:
    return _into(out, _as_tensor(a, b if isinstance(b, Tensor) else None) @ b)


def add(a: Any, b: Any, *, alpha: float = 1, out: Tensor | None = None) -> Tensor:
    return _into(out, a + (b if alpha == 1 else b * alpha))


def sub(a: Any, b: Any, *, alpha: float = 1, out: Tensor | None = None) -> Tensor:
    return _into(out, a - (b if alpha == 1 else b * alpha))


def mul(a: Any, b: Any, *, out: Tensor | None = None) -> Tensor:
    return _into(out, a * b)


def div(a: Any, b: Any, *, out: Tensor | None = None) -> Tensor:
    return _into(out, a / b)


def _into(out: Tensor | None, result: Tensor) -> Tensor:
    """PyTorch's ``out=``: the result is written into ``out`` (resized to fit), which is
    returned. As in PyTorch, no gradient flows through it."""
    if out is None:
        return result
    if result.requires_grad and is_grad_enabled():
        raise RuntimeError("functions with out=... arguments don't support automatic "
                           "differentiation; call them under tn.no_grad() or drop out=")
    if out.shape != result.shape:
        out.data = result.detach().to(out.dtype).clone()  # PyTorch resizes out
    else:
        out.copy_(result.detach())
    return out


def exp(x: Tensor) -> Tensor:
    return x.exp()


def log(x: Tensor) -> Tensor:
    return x.log()


def sqrt(x: Tensor) -> Tensor:
    return x.sqrt()


def log10(x: Tensor) -> Tensor:
    return x.log10()


def sin(x: Tensor) -> Tensor:
    return x.sin()


def cos(x: Tensor) -> Tensor:
    return x.cos()


def pow(x: Any, exponent: Any) -> Tensor:
    return x ** exponent if isinstance(x, Tensor) else exponent.__rpow__(x)


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    return x.softmax(dim)


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    return x.log_softmax(dim)


def abs(x: Tensor) -> Tensor:
    return x.abs()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def sigmoid(x: Tensor) -> Tensor:
    return x.sigmoid()


def relu(x: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0). ``inplace=True`` overwrites ``x`` when no graph is being recorded for it
    (under ``no_grad``, or ``x`` needs no gradient); in the graph, where tinynet records no
    in-place op, it returns a new tensor, as ``inplace=False`` does."""
    if inplace and not (x._requires_grad and is_grad_enabled()):
        return x.relu_()
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


def argmin(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return x.argmin(dim, keepdim)


def squeeze(x: Tensor, dim: int | None = None) -> Tensor:
    return x.squeeze(dim)


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    return x.unsqueeze(dim)


def t(x: Tensor) -> Tensor:
    return x.t()


def clone(x: Tensor) -> Tensor:
    return x.clone()


def mm(a: Tensor, b: Tensor) -> Tensor:
    """The product of two matrices (2-D only, as PyTorch's torch.mm)."""
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"mm expects two matrices, got shapes {a.shape} and {b.shape}")
    return a @ b

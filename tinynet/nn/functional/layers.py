"""The layers of ``tinynet.nn.functional`` as functions: linear, dropout, softmax and
log_softmax, and one_hot. Each checks its arguments, then applies one op of
``tinynet.ops``."""
from __future__ import annotations

from ... import ops
from ...backend import backend_of
from ...tensor import Tensor
from ...arguments import softmax_axis


def softmax(input: Tensor, dim: int = -1) -> Tensor:
    """y_i = exp(x_i) / Σ_j exp(x_j) along ``dim``, by log-sum-exp (finite for finite x)."""
    return ops.Softmax.apply(input, axis=softmax_axis(input, dim))


def log_softmax(input: Tensor, dim: int = -1) -> Tensor:
    """y_i = x_i - log Σ_j exp(x_j) along ``dim``, by log-sum-exp (finite for finite x)."""
    return ops.LogSoftmax.apply(input, axis=softmax_axis(input, dim))


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
        return ops.Linear.apply(input, weight)
    if bias.shape != (out_features,):
        raise ValueError(f"linear: bias of shape {bias.shape} does not match a weight of "
                         f"shape {weight.shape} (expected ({out_features},))")
    return ops.Linear.apply(input, weight, bias)


def dropout(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) when
    ``training``; the identity otherwise (and for p = 0)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    return ops.Dropout.apply(input, p=float(p))


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 tensor of shape (*tensor.shape, num_classes) with a 1 at each index, as
    PyTorch's F.one_hot. ``num_classes=-1`` takes the largest index + 1 (a host read)."""
    if tensor.dtype.kind not in "iu":
        raise TypeError(f"one_hot is only applicable to index tensors, got dtype "
                        f"{tensor.dtype}")
    backend = backend_of(tensor.array)
    xp, y = backend.xp, tensor.array
    if num_classes == -1:
        num_classes = int(backend.to_numpy(xp.max(y))) + 1 if y.size else 0
    if y.size:
        def fail():
            values = backend.to_numpy(y)
            raise RuntimeError(f"one_hot: class values must be in [0, {num_classes}), got "
                               f"{values[(values < 0) | (values >= num_classes)][0]}")
        backend.check(xp.all((y >= 0) & (y < num_classes)), fail)
    classes = xp.arange(num_classes, dtype=y.dtype, device=y.device)
    return tensor._wrap(xp.astype(xp.expand_dims(y, axis=-1) == classes, xp.int64))

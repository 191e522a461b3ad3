"""The layers of ``tinynet.nn.functional`` as functions: linear, dropout, softmax and
log_softmax. Each checks its arguments, then applies one op of ``tinynet.ops``."""
from __future__ import annotations

from ... import ops
from ...tensor import Tensor
from ...tensor_math import softmax_axis


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

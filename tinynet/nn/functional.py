"""tinynet.nn.functional (``F``): softmax, the losses, and the layers as functions.

Names, defaults and semantics are PyTorch's. Each function checks its arguments (shapes,
dtypes, values) and raises a clear error in the forward call, then applies one graph node
from ``_loss_ops``, where the math and the gradients live.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..autograd import _check_same_device, is_grad_enabled
from ..backend import backend_of
from ..creation import tensor
from ..functions import relu, sigmoid, tanh  # noqa: F401  (F.relu etc., as in PyTorch)
from ..tensor import Tensor, _axes
from . import _loss_ops as ops

try:
    from ._layer_ops import dropout, linear  # noqa: F401  (re-exported)
except ModuleNotFoundError as exc:  # only while _layer_ops.py does not exist yet
    if exc.name != f"{__package__}._layer_ops":
        raise

REDUCTIONS = ("none", "mean", "sum")


def softmax(input: Tensor, dim: int = -1) -> Tensor:
    """y_i = exp(x_i) / Σ_j exp(x_j) along ``dim``, by log-sum-exp (finite for finite x)."""
    return ops.Softmax.apply(input, axis=_softmax_axis(input, dim))


def log_softmax(input: Tensor, dim: int = -1) -> Tensor:
    """y_i = x_i - log Σ_j exp(x_j) along ``dim``, by log-sum-exp (finite for finite x)."""
    return ops.LogSoftmax.apply(input, axis=_softmax_axis(input, dim))


def cross_entropy(input: Tensor, target: Any, weight: Tensor | None = None,
                  ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between softmax(input) and the target, as one fused node.

    ``input`` holds raw logits (the output of the last Linear, no softmax): (N, C),
    (N, C, d1, ...) or an unbatched (C,). ``target`` is either class indices, an integer
    tensor (N,) / (N, d1, ...) / 0-d, or class probabilities, a float tensor shaped like
    the input. With t the one-hot (or the probabilities), ε = label_smoothing, w = weight:

        q_n    = w · ((1 - ε) · t_n + ε / C)       (0 for targets equal to ignore_index)
        loss_n = -Σ_c q_nc · log_softmax(input)_nc

    reduction "mean" divides the sum by Σ_n w[target_n] over the samples not ignored (class
    indices) or by the number of samples (probabilities); "sum" sums; "none" keeps loss_n.
    """
    x = _float_input("cross_entropy", input)
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    target = _class_target("cross_entropy", x, target, ignore_index, probabilities=True)
    w = _class_weight("cross_entropy", weight, x)
    _warn_if_probabilities(x)
    return ops.SoftmaxCrossEntropy.apply(x, target, weight=w, ignore_index=ignore_index,
                                         label_smoothing=float(label_smoothing),
                                         reduction=reduction)


def nll_loss(input: Tensor, target: Any, weight: Tensor | None = None,
             ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class indices, given log-probabilities ``input``:

        loss_n = -w[target_n] · input[n, target_n]     (0 where target_n == ignore_index)

    Shapes as in ``cross_entropy``; "mean" divides by Σ_n w[target_n] over the samples kept.
    """
    x = _float_input("nll_loss", input)
    _check_reduction(reduction)
    target = _class_target("nll_loss", x, target, ignore_index, probabilities=False)
    w = _class_weight("nll_loss", weight, x)
    return ops.NLLLoss.apply(x, target, weight=w, ignore_index=ignore_index,
                             reduction=reduction)


def binary_cross_entropy(input: Tensor, target: Any, weight: Tensor | None = None,
                         reduction: str = "mean") -> Tensor:
    """l = -w · (y · log p + (1 - y) · log(1 - p)) on probabilities p = ``input``, each log
    clamped at -100 as in PyTorch. ``target`` has the input's shape; ``weight`` broadcasts
    to it. For logits use ``binary_cross_entropy_with_logits`` (more stable)."""
    x = _float_input("binary_cross_entropy", input)
    _check_reduction(reduction)
    y = _same_shape_target("binary_cross_entropy", x, target)
    xp = backend_of(x.data).xp
    outside = ~((x.data >= 0) & (x.data <= 1))  # nan counts as outside, as in PyTorch
    if x.data.size and bool(xp.any(outside)):
        bad = _first(x.data, outside)
        raise ValueError(f"binary_cross_entropy: input must hold probabilities in [0, 1], "
                         f"got {bad}; for logits use binary_cross_entropy_with_logits")
    w = _broadcast_weight("binary_cross_entropy", "weight", weight, x)
    return ops.BinaryCrossEntropy.apply(x, y, weight=w, reduction=reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Any, weight: Tensor | None = None,
                                     pos_weight: Tensor | None = None,
                                     reduction: str = "mean") -> Tensor:
    """l = -w · (pw · y · log σ(x) + (1 - y) · log(1 - σ(x))) on logits x = ``input``, in one
    node stable for any finite x. ``pos_weight`` (pw) weighs the positives of each class
    and broadcasts over the last axis, e.g. shape (C,) for input (N, C)."""
    x = _float_input("binary_cross_entropy_with_logits", input)
    _check_reduction(reduction)
    y = _same_shape_target("binary_cross_entropy_with_logits", x, target)
    w = _broadcast_weight("binary_cross_entropy_with_logits", "weight", weight, x)
    pw = _broadcast_weight("binary_cross_entropy_with_logits", "pos_weight", pos_weight, x)
    return ops.BinaryCrossEntropyWithLogits.apply(x, y, weight=w, pos_weight=pw,
                                                  reduction=reduction)


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """l = (input - target)^2; ``target`` must have the input's shape (no silent broadcast)."""
    x = _float_input("mse_loss", input)
    _check_reduction(reduction)
    y = _same_shape_target("mse_loss", x, target)
    return ops.MSELoss.apply(x, y, reduction=reduction)


# ---- argument checks ---------------------------------------------------------------------
def _float_input(name: str, input: Any) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    if input.dtype.kind != "f":
        raise TypeError(f"{name}: input must be floating point, got dtype {input.dtype}")
    return input


def _as_tensor(value: Any, like: Tensor) -> Tensor:
    """A target or weight as a Tensor on ``like``'s device (lists and arrays are accepted)."""
    if not isinstance(value, Tensor):
        value = tensor(value, device=like.device)
    elif type(value.data) is not type(like.data):
        _check_same_device((like, value))
    return value


def _check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _softmax_axis(input: Tensor, dim: int) -> int | None:
    axis = _axes(input, dim, None)[0]
    return None if input.ndim == 0 else axis


def _first(data: Any, mask: Any) -> Any:
    """The first element of ``data`` where ``mask`` is true, read back to the host."""
    backend = backend_of(data)
    return backend.to_numpy(data)[backend.to_numpy(mask)][0].item()


def _class_target(name: str, x: Tensor, target: Any, ignore_index: int,
                  probabilities: bool) -> Tensor:
    """Check a class-index target (or, if allowed, a probability target) against input x.

    Class axis is 1, or 0 for an unbatched input (C,); class indices have the input's
    shape without that axis; probabilities have the input's shape and a float dtype.
    """
    if x.ndim == 0:
        raise ValueError(f"{name}: input must have a class axis, got a 0-d tensor")
    target = _as_tensor(target, x)
    axis = 0 if x.ndim == 1 else 1
    n_classes = x.shape[axis]
    index_shape = x.shape[:axis] + x.shape[axis + 1:]
    kind = "class probabilities" if probabilities else "class indices"
    if target.dtype.kind == "f":
        if probabilities and target.shape == x.shape:
            if ignore_index >= 0:  # a negative one can never match, as in PyTorch
                raise ValueError(f"{name}: ignore_index={ignore_index} is not supported for "
                                 "class-probability (float) targets")
            return target if target.dtype == x.dtype else target.to(x.dtype)
        if target.shape == index_shape:
            raise TypeError(f"{name}: a target of shape {target.shape} holds class indices, "
                            f"which must be integers, got dtype {target.dtype}: use "
                            "target.long()")
        raise ValueError(f"{name}: input of shape {x.shape} needs class indices (an integer "
                         f"target of shape {index_shape})"
                         + (f" or class probabilities (a float target of shape {x.shape})"
                            if probabilities else "")
                         + f", got a float target of shape {target.shape}")
    if target.dtype.kind not in "iu":
        raise TypeError(f"{name}: target must hold {kind}, got dtype {target.dtype}")
    if target.shape != index_shape:
        if probabilities and target.shape == x.shape:
            raise TypeError(f"{name}: an integer target of the input's shape {x.shape}: class "
                            "probabilities must be floating point, and class indices have "
                            f"shape {index_shape}")
        raise ValueError(f"{name}: class-index target must have shape {index_shape} for input "
                         f"of shape {x.shape}, got {target.shape} (targets are not broadcast)")
    if target.dtype != np.int64:
        target = Tensor(backend_of(target.data).astype(target.data, "int64"))
    y = target.data
    outside = ((y < 0) | (y >= n_classes)) & (y != ignore_index)
    if y.size and bool(backend_of(y).xp.any(outside)):
        raise IndexError(f"{name}: target {_first(y, outside)} is out of bounds for "
                         f"{n_classes} classes (expected 0 <= target < {n_classes}, or "
                         f"ignore_index={ignore_index})")
    return target


def _class_weight(name: str, weight: Any, x: Tensor) -> Any:
    """A per-class weight, shape (C,), as an array of the input's dtype (or None)."""
    if weight is None:
        return None
    w = _no_grad_weight(name, "weight", _as_tensor(weight, x))
    n_classes = x.shape[0 if x.ndim == 1 else 1]
    if w.shape != (n_classes,):
        got = f"{w.shape[0]} entries" if w.ndim == 1 else f"shape {w.shape}"
        raise ValueError(f"{name}: weight must have one entry per class, {n_classes} for "
                         f"input of shape {x.shape}, got {got}")
    return backend_of(w.data).astype(w.data, x.dtype)


def _same_shape_target(name: str, x: Tensor, target: Any) -> Tensor:
    y = _as_tensor(target, x)
    if y.shape != x.shape:
        raise ValueError(f"{name}: target shape {y.shape} must equal input shape {x.shape}")
    if y.dtype.kind not in "fiub":
        raise TypeError(f"{name}: target must be numeric, got dtype {y.dtype}")
    return y if y.dtype == x.dtype else y.to(x.dtype)


def _no_grad_weight(name: str, label: str, w: Tensor) -> Tensor:
    """Weights get no gradient (as in PyTorch): refuse one that asks for it rather than
    silently leaving its .grad empty."""
    if w.requires_grad and is_grad_enabled():
        raise RuntimeError(f"{name}: {label} requires grad, but the loss is not "
                           f"differentiable with respect to {label}; pass {label}.detach()")
    return w


def _broadcast_weight(name: str, label: str, weight: Any, x: Tensor) -> Any:
    """A weight that broadcasts to the input's shape, as an array of its dtype (or None)."""
    if weight is None:
        return None
    w = _no_grad_weight(name, label, _as_tensor(weight, x))
    try:
        shape = np.broadcast_shapes(w.shape, x.shape)
    except ValueError:
        shape = None
    if shape != x.shape:
        raise ValueError(f"{name}: {label} of shape {w.shape} does not broadcast to the "
                         f"input's shape {x.shape}")
    return backend_of(w.data).astype(w.data, x.dtype)


_probabilities_warned = [False]


def _warn_if_probabilities(x: Tensor) -> None:
    """Warn once per process when cross_entropy's input looks like probabilities: every
    row in [0, 1] and summing to 1 (within 1e-3). Skipped for good once it has warned."""
    if _probabilities_warned[0] or x.data.size == 0:
        return
    xp, a = backend_of(x.data).xp, x.data
    n_rows = a.size // a.shape[0 if a.ndim == 1 else 1]
    # First a cheap necessary condition (all rows together sum to the number of rows), then
    # the full test: a single host read of one boolean for almost every batch of logits.
    if not bool(xp.abs(xp.sum(a) - n_rows) <= 1e-3 * n_rows):
        return
    sums = xp.sum(a, axis=0 if a.ndim == 1 else 1)
    if bool(xp.all(xp.abs(sums - 1) <= 1e-3)) and bool(xp.all((a >= 0) & (a <= 1))):
        _probabilities_warned[0] = True
        warnings.warn("cross_entropy received an input that looks like probabilities (every "
                      "row in [0, 1], summing to 1). Pass raw logits (the output of the last "
                      "Linear, before softmax): cross_entropy applies log_softmax itself, so "
                      "a softmax before it trains poorly.", UserWarning, stacklevel=3)

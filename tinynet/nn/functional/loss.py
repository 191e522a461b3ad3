"""The losses of ``tinynet.nn.functional``, with PyTorch's names, defaults and semantics.

Each function checks its arguments (shapes, dtypes, values; checks.py) and raises a clear
error in the forward call, then applies one graph node from ``tinynet.ops``, where the
math and the gradients live.
"""
from __future__ import annotations

from typing import Any

from ... import ops
from ...tensor import Tensor
from .checks import (broadcast_weight, check_reduction, class_target, class_weight,
                     float_input, in_unit_interval, same_shape_target, warn_if_probabilities)


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
    x = float_input("cross_entropy", input)
    check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    target, all_classes = class_target("cross_entropy", x, target, ignore_index,
                                       probabilities=True)
    w = class_weight("cross_entropy", weight, x)
    warn_if_probabilities(x)
    # every target a class and ignore_index none of them: no sample is ignored
    none_ignored = all_classes and not 0 <= ignore_index < x.shape[0 if x.ndim == 1 else 1]
    return ops.SoftmaxCrossEntropy.apply(x, target, weight=w, ignore_index=ignore_index,
                                         label_smoothing=float(label_smoothing),
                                         reduction=reduction, none_ignored=none_ignored)


def nll_loss(input: Tensor, target: Any, weight: Tensor | None = None,
             ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class indices, given log-probabilities ``input``:

        loss_n = -w[target_n] · input[n, target_n]     (0 where target_n == ignore_index)

    Shapes as in ``cross_entropy``; "mean" divides by Σ_n w[target_n] over the samples kept.
    """
    x = float_input("nll_loss", input)
    check_reduction(reduction)
    target, _ = class_target("nll_loss", x, target, ignore_index, probabilities=False)
    w = class_weight("nll_loss", weight, x)
    return ops.NLLLoss.apply(x, target, weight=w, ignore_index=ignore_index,
                             reduction=reduction)


def binary_cross_entropy(input: Tensor, target: Any, weight: Tensor | None = None,
                         reduction: str = "mean") -> Tensor:
    """l = -w · (y · log p + (1 - y) · log(1 - p)) on probabilities p = ``input``, each log
    clamped at -100 as in PyTorch. ``target`` has the input's shape; ``weight`` broadcasts
    to it. For logits use ``binary_cross_entropy_with_logits`` (more stable)."""
    x = float_input("binary_cross_entropy", input)
    check_reduction(reduction)
    y = same_shape_target("binary_cross_entropy", x, target)
    in_unit_interval("binary_cross_entropy", "input", x.array,
                     "; for logits use binary_cross_entropy_with_logits")
    in_unit_interval("binary_cross_entropy", "target", y.array)
    w = broadcast_weight("binary_cross_entropy", "weight", weight, x)
    return ops.BinaryCrossEntropy.apply(x, y, weight=w, reduction=reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Any, weight: Tensor | None = None,
                                     pos_weight: Tensor | None = None,
                                     reduction: str = "mean") -> Tensor:
    """l = -w · (pw · y · log σ(x) + (1 - y) · log(1 - σ(x))) on logits x = ``input``, in one
    node stable for any finite x. ``pos_weight`` (pw) weighs the positives of each class
    and broadcasts over the last axis, e.g. shape (C,) for input (N, C)."""
    x = float_input("binary_cross_entropy_with_logits", input)
    check_reduction(reduction)
    y = same_shape_target("binary_cross_entropy_with_logits", x, target)
    w = broadcast_weight("binary_cross_entropy_with_logits", "weight", weight, x)
    pw = broadcast_weight("binary_cross_entropy_with_logits", "pos_weight", pos_weight, x)
    return ops.BinaryCrossEntropyWithLogits.apply(x, y, weight=w, pos_weight=pw,
                                                  reduction=reduction)


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """l = (input - target)^2; ``target`` must have the input's shape (no silent broadcast)."""
    x = float_input("mse_loss", input)
    check_reduction(reduction)
    y = same_shape_target("mse_loss", x, target)
    return ops.MSELoss.apply(x, y, reduction=reduction)

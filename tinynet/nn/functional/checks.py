"""Argument checks of the losses: each raises a clear error that names the function, the
shapes and the values involved, before any graph node is made."""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ...autograd import check_same_device, is_grad_enabled
from ...backend import backend_of
from ...creation import tensor
from ...tensor import Tensor

REDUCTIONS = ("none", "mean", "sum")
PROBABILITY_CHECKS = 20


def float_input(name: str, input: Any) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    if input.dtype.kind != "f":
        raise TypeError(f"{name}: input must be floating point, got dtype {input.dtype}")
    return input


def as_tensor(value: Any, like: Tensor) -> Tensor:
    """A target or weight as a Tensor on ``like``'s device (lists and arrays are accepted)."""
    if not isinstance(value, Tensor):
        value = tensor(value, device=like.device)
    elif type(value.array) is not type(like.array):
        check_same_device((like, value))
    return value


def check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def in_unit_interval(name: str, label: str, a: Any, hint: str = "") -> None:
    """Check that every element of array ``a`` is in [0, 1] (nan counts as outside, as in
    PyTorch); on a device the check is read later (``Backend.check``)."""
    if not a.size:
        return
    backend = backend_of(a)
    outside = ~((a >= 0) & (a <= 1))

    def fail():
        raise ValueError(f"{name}: all elements of {label} should be between 0 and 1, got "
                         f"{first_where(a, outside)}{hint}")
    backend.check(~backend.xp.any(outside), fail)


def first_where(data: Any, mask: Any) -> Any:
    """The first element of ``data`` where ``mask`` is true, read back to the host."""
    backend = backend_of(data)
    return backend.to_numpy(data)[backend.to_numpy(mask)][0].item()


def class_target(name: str, x: Tensor, target: Any, ignore_index: int,
                 probabilities: bool) -> tuple[Tensor, bool]:
    """Check a class-index target (or, if allowed, a probability target) against input x.

    Class axis is 1, or 0 for an unbatched input (C,); class indices have the input's
    shape without that axis; probabilities have the input's shape and a float dtype.
    Returns the target and whether every target is known to be a class in [0, C) (True
    only for class indices checked on the host: a device check is read later).
    """
    if x.ndim == 0:
        raise ValueError(f"{name}: input must have a class axis, got a 0-d tensor")
    target = as_tensor(target, x)
    axis = 0 if x.ndim == 1 else 1
    n_classes = x.shape[axis]
    index_shape = x.shape[:axis] + x.shape[axis + 1:]
    kind = "class probabilities" if probabilities else "class indices"
    if target.dtype.kind == "f":
        if probabilities and target.shape == x.shape:
            if ignore_index >= 0:  # a negative one can never match, as in PyTorch
                raise ValueError(f"{name}: ignore_index={ignore_index} is not supported for "
                                 "class-probability (float) targets")
            return (target if target.dtype == x.dtype else target.to(x.dtype)), False
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
        target = Tensor(backend_of(target.array).astype(target.array, "int64"))
    y = target.array

    def fail():  # the quick test failed: look closer (ignored targets are allowed)
        outside = ((y < 0) | (y >= n_classes)) & (y != ignore_index)
        if xp.any(outside):
            raise IndexError(f"{name}: target {first_where(y, outside)} is out of bounds for "
                             f"{n_classes} classes (expected 0 <= target < {n_classes}, or "
                             f"ignore_index={ignore_index})")
    if not y.size:
        return target, True
    backend = backend_of(y)
    xp = backend.xp
    return target, backend.check(backend.indices_in_range(y, n_classes), fail)


def class_weight(name: str, weight: Any, x: Tensor) -> Any:
    """A per-class weight, shape (C,), as an array of the input's dtype (or None)."""
    if weight is None:
        return None
    w = no_grad_weight(name, "weight", as_tensor(weight, x))
    n_classes = x.shape[0 if x.ndim == 1 else 1]
    if w.shape != (n_classes,):
        got = f"{w.shape[0]} entries" if w.ndim == 1 else f"shape {w.shape}"
        raise ValueError(f"{name}: weight must have one entry per class, {n_classes} for "
                         f"input of shape {x.shape}, got {got}")
    return backend_of(w.array).astype(w.array, x.dtype)


def same_shape_target(name: str, x: Tensor, target: Any) -> Tensor:
    y = as_tensor(target, x)
    if y.shape != x.shape:
        raise ValueError(f"{name}: target shape {y.shape} must equal input shape {x.shape}")
    if y.dtype.kind not in "fiub":
        raise TypeError(f"{name}: target must be numeric, got dtype {y.dtype}")
    return y if y.dtype == x.dtype else y.to(x.dtype)


def no_grad_weight(name: str, label: str, w: Tensor) -> Tensor:
    """Weights get no gradient (as in PyTorch): refuse one that asks for it rather than
    silently leaving its .grad empty."""
    if w.requires_grad and is_grad_enabled():
        raise RuntimeError(f"{name}: {label} requires grad, but the loss is not "
                           f"differentiable with respect to {label}; pass {label}.detach()")
    return w


def broadcast_weight(name: str, label: str, weight: Any, x: Tensor) -> Any:
    """A weight that broadcasts to the input's shape, as an array of its dtype (or None)."""
    if weight is None:
        return None
    w = no_grad_weight(name, label, as_tensor(weight, x))
    try:
        shape = np.broadcast_shapes(w.shape, x.shape)
    except ValueError:
        shape = None
    if shape != x.shape:
        raise ValueError(f"{name}: {label} of shape {w.shape} does not broadcast to the "
                         f"input's shape {x.shape}")
    return backend_of(w.array).astype(w.array, x.dtype)


probabilities_warned = [False]


probability_checks_left = [PROBABILITY_CHECKS]


def warn_if_probabilities(x: Tensor) -> None:
    """Warn once per process when cross_entropy's input looks like probabilities: every
    row in [0, 1] and summing to 1 (within 1e-3). Only the first ``PROBABILITY_CHECKS``
    calls of a process look (a model that outputs probabilities does so from its first
    batch), so a long training run pays nothing for it."""
    if probabilities_warned[0] or x.array.size == 0 or probability_checks_left[0] <= 0:
        return
    probability_checks_left[0] -= 1  # a model that outputs probabilities does from the start
    backend, a = backend_of(x.array), x.array
    xp = backend.xp
    n_rows = a.size // a.shape[0 if a.ndim == 1 else 1]
    if backend.name == "numpy":
        # First a cheap necessary condition (all rows together sum to the number of rows),
        # then the full test: one boolean computed for almost every batch of logits.
        if not bool(xp.abs(xp.sum(a) - n_rows) <= 1e-3 * n_rows):
            return
    sums = xp.sum(a, axis=0 if a.ndim == 1 else 1)
    looks = xp.all(xp.abs(sums - 1) <= 1e-3) & xp.all((a >= 0) & (a <= 1))

    def fail():
        if probabilities_warned[0]:
            return
        probabilities_warned[0] = True
        warnings.warn("cross_entropy received an input that looks like probabilities (every "
                      "row in [0, 1], summing to 1). Pass raw logits (the output of the last "
                      "Linear, before softmax): cross_entropy applies log_softmax itself, so "
                      "a softmax before it trains poorly.", UserWarning, stacklevel=4)
    backend.check(~looks, fail)

"""Batch normalization layers: BatchNorm1d ((N, C) or (N, C, L)) and BatchNorm2d (N, C, H, W).

In training mode each channel is normalised with the batch's mean and biased variance, and
the running statistics are updated (momentum m, unbiased variance):

    running_mean ← (1 - m)·running_mean + m·mean,   running_var ← (1 - m)·running_var + m·var·M/(M-1)

with M values per channel in the batch. In eval mode the running statistics normalise
instead, so a prediction does not depend on the rest of its batch. ``momentum=None`` makes
the running statistics the plain average over all batches so far (m = 1/num_batches_tracked).
The statistics are buffers: in ``state_dict`` as ``running_mean``, ``running_var`` and
``num_batches_tracked`` (int64), moved by ``to()``, never seen by optimizers.
"""
from __future__ import annotations

from typing import Any

from ..backend import backend_for_device
from ..tensor import Tensor
from . import functional as F
from .module import Module, Parameter


class _BatchNorm(Module):
    """What BatchNorm1d and BatchNorm2d share; they differ only in the input ranks allowed."""

    ranks: tuple = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 device: str | None = None, dtype: Any = None, *, bias: bool = True):
        super().__init__()
        if num_features <= 0:
            raise ValueError(f"{type(self).__name__}: num_features must be positive, got "
                             f"{num_features}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        backend = backend_for_device(device)
        dtype = dtype or "float32"
        if affine:
            self.weight = Parameter(backend.zeros((num_features,), dtype) + 1)
            if bias:  # bias=False: a scale without a shift
                self.bias = Parameter(backend.zeros((num_features,), dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(backend.zeros((num_features,), dtype)))
            self.register_buffer("running_var", Tensor(backend.zeros((num_features,), dtype) + 1))
            self.register_buffer("num_batches_tracked", Tensor(backend.zeros((), "int64")))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.array[...] = 0
            self.running_var.array[...] = 1
            self.num_batches_tracked.array[...] = 0

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            self.weight.array[...] = 1
        if self.bias is not None:
            self.bias.array[...] = 0

    def forward(self, x: Tensor) -> Tensor:
        name = type(self).__name__
        if not isinstance(x, Tensor) or x.ndim not in self.ranks:
            shape = x.shape if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"{name}: expected a {' or '.join(f'{r}-D' for r in self.ranks)} "
                             f"input, got {shape}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"{name}({self.num_features}): input of shape {x.shape} has "
                             f"{x.shape[1]} channels (axis 1), expected {self.num_features}")
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.array += 1
            if self.momentum is None:  # a cumulative average over the batches so far
                momentum = 1.0 / self.num_batches_tracked.item()
        # Batch statistics in training, or always when there are no running statistics.
        batch_stats = self.training or self.running_mean is None
        update = not self.training or self.track_running_stats
        return F.batch_norm(x, self.running_mean if update else None,
                            self.running_var if update else None, self.weight, self.bias,
                            batch_stats, momentum, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization over (N, C) or (N, C, L) inputs, per channel C."""

    ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization over (N, C, H, W) images, per channel C."""

    ranks = (4,)

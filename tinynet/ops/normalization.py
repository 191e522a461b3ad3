"""Batch normalization: one node for BatchNorm1d and BatchNorm2d, channels on axis 1.

For each channel c, over its M = N·(spatial size) values in the batch:

    training:    μ = mean(x),  σ² = mean((x - μ)²)        (the biased variance)
    evaluation:  μ, σ² = the running statistics
    x̂ = (x - μ) / sqrt(σ² + eps),    y = γ · x̂ + β

In training with running statistics, forward updates them in place, as PyTorch's
batch_norm does, with the *unbiased* variance:

    running_mean ← (1 - m)·running_mean + m·μ,   running_var ← (1 - m)·running_var + m·σ²·M/(M - 1)

Backward, with s = γ / sqrt(σ² + eps) per channel:

    dL/dβ = Σ gy,    dL/dγ = Σ gy·x̂                  (sums over everything but the channel)
    evaluation (μ, σ² are constants):   dL/dx = s·gy
    training (μ and σ² depend on x):    dL/dx = s·(gy - dL/dβ / M - x̂·dL/dγ / M)

The training line is the whole chain rule through μ and σ²: shifting x moves μ, so the
mean of gy drops out; scaling x moves σ, so the part of gy along x̂ drops out.
"""
from __future__ import annotations

import math

from ..autograd import Function
from ..backend import array_module, backend_of


class BatchNorm(Function):
    """y = γ·(x - μ)/sqrt(σ² + eps) + β per channel; inputs (x) or (x, γ, β).

    Options: ``running_mean``/``running_var`` (arrays updated in place when training, used
    as μ, σ² when not; None for batch statistics always), ``training``, ``momentum``, ``eps``.
    """

    __slots__ = ("xhat", "scale", "batch_stats")  # x̂, s = γ/sqrt(σ²+eps), which formula

    def forward(self, x, weight=None, bias=None, *, running_mean=None, running_var=None,
                training=True, momentum=0.1, eps=1e-5):
        xp = array_module(x)
        axes, shape = channel_axes(x)
        self.batch_stats = training or running_mean is None
        if self.batch_stats:
            mean = xp.mean(x, axis=axes)
            xhat = x - xp.reshape(mean, shape)
            var = xp.mean(xhat * xhat, axis=axes)
            if training and running_mean is not None:
                m = math.prod(x.shape) // x.shape[1]
                update(running_mean, mean, momentum)
                update(running_var, var * (m / max(m - 1, 1)), momentum)
        else:
            mean, var = running_mean, running_var
            xhat = x - xp.reshape(xp.astype(mean, x.dtype), shape)
            var = xp.astype(var, x.dtype)
        invstd = 1.0 / xp.sqrt(var + eps)
        xhat *= xp.reshape(invstd, shape)  # xhat is fresh: normalise it in place
        self.xhat = xhat
        self.scale = invstd if weight is None else invstd * weight
        if weight is None:
            return xhat * 1.0  # a new array: xhat is kept for backward
        y = xhat * xp.reshape(weight, shape)
        y += xp.reshape(bias, shape)
        return y

    def backward(self, gy):
        xp = array_module(gy)
        axes, shape = channel_axes(gy)
        needs = self.needs_input_grad
        gbeta = xp.sum(gy, axis=axes)
        ggamma = xp.sum(gy * self.xhat, axis=axes)
        gx = None
        if needs[0] and self.batch_stats:
            m = math.prod(gy.shape) // gy.shape[1]
            gx = gy - xp.reshape(gbeta / m, shape)
            gx -= self.xhat * xp.reshape(ggamma / m, shape)
            gx *= xp.reshape(self.scale, shape)
        elif needs[0]:
            gx = gy * xp.reshape(self.scale, shape)
        if len(needs) == 1:
            return (gx,)
        return gx, ggamma if needs[1] else None, gbeta if needs[2] else None


def channel_axes(x) -> tuple:
    """The axes to reduce (all but the channel axis 1) and the shape (1, C, 1, ...) that
    broadcasts a per-channel vector over x."""
    return (0,) + tuple(range(2, x.ndim)), (1, x.shape[1]) + (1,) * (x.ndim - 2)


def update(running, batch, momentum: float) -> None:
    """running ← (1 - momentum)·running + momentum·batch, in place, in running's dtype."""
    running *= 1.0 - momentum
    running += backend_of(running).astype(batch * momentum, running.dtype)

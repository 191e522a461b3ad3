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
Channels are the innermost axis in memory after a conv (channels-last), so every
per-channel sum is one matrix product and every broadcast a pass over x: the op makes
four such passes forward and five backward.
"""
from __future__ import annotations

import math

from ..autograd import Function
from ..backend import array_module, backend_of


class BatchNorm(Function):
    """y = γ·(x - μ)/sqrt(σ² + eps) + β per channel; inputs (x) or (x, γ, β).

    Options: ``running_mean``/``running_var`` (arrays updated in place when training, used
    as μ, σ² when not; None for batch statistics always), ``training``, ``momentum``, ``eps``.
    In code, x̂ = d·r with d = x - μ and r = 1/sqrt(σ² + eps): y = d·s + β.
    """

    __slots__ = ("d", "r", "s", "batch_stats")  # x - μ, 1/sqrt(σ² + eps), s = γ·r, formula

    def forward(self, x, weight=None, bias=None, *, running_mean=None, running_var=None,
                training=True, momentum=0.1, eps=1e-5):
        xp = array_module(x)
        shape, m = channel_shape(x), math.prod(x.shape) // x.shape[1]
        self.batch_stats = training or running_mean is None
        if self.batch_stats:
            mean = channel_sum(x) / m
            d = x - xp.reshape(mean, shape)
            var = channel_sum(d * d) / m
            if training and running_mean is not None:
                update(running_mean, mean, momentum)
                update(running_var, var * (m / max(m - 1, 1)), momentum)
        else:
            d = x - xp.reshape(xp.astype(running_mean, x.dtype), shape)
            var = xp.astype(running_var, x.dtype)
        r = 1.0 / xp.sqrt(var + eps)
        s = r if weight is None else r * weight
        y = d * xp.reshape(s, shape)
        if bias is not None:
            y += xp.reshape(bias, shape)  # y is fresh: add in place
        self.d, self.r, self.s = d, r, s
        return y

    def backward(self, gy):
        xp = array_module(gy)
        shape, m = channel_shape(gy), math.prod(gy.shape) // gy.shape[1]
        needs = self.needs_input_grad
        gbeta = channel_sum(gy)
        ggamma = channel_sum(gy * self.d) * self.r  # Σ gy·x̂
        gx = None
        if needs[0] and self.batch_stats:  # s·(gy - dL/dβ / M) - x̂·s·dL/dγ / M, x̂ = d·r
            gx = gy - xp.reshape(gbeta / m, shape)
            gx *= xp.reshape(self.s, shape)
            gx -= self.d * xp.reshape(self.s * self.r * ggamma / m, shape)
        elif needs[0]:
            gx = gy * xp.reshape(self.s, shape)
        if len(needs) == 1:
            return (gx,)
        return gx, ggamma if needs[1] else None, gbeta if needs[2] else None


def channel_shape(x) -> tuple:
    """(1, C, 1, ...): the shape that broadcasts a per-channel vector over x."""
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def channel_sum(a):
    """Σ of ``a`` over every axis but the channel axis 1, as the product ones @ A of the
    (M, C) matrix A of a's values. BLAS sums it about ten times faster than ``xp.sum`` does
    when the channels are the small innermost axis in memory (a conv's channels-last output,
    where A is a free view)."""
    xp = array_module(a)
    rows = xp.reshape(xp.moveaxis(a, 1, -1), (-1, a.shape[1]))
    return xp.ones((rows.shape[0],), dtype=a.dtype, device=a.device) @ rows


def update(running, batch, momentum: float) -> None:
    """running ← (1 - momentum)·running + momentum·batch, in place, in running's dtype."""
    running *= 1.0 - momentum
    running += backend_of(running).astype(batch * momentum, running.dtype)

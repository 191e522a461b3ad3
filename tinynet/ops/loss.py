"""The elementwise losses (binary cross-entropy on probabilities and on logits, squared
error) and the reductions every loss shares.

Each loss is ONE Function: forward computes the loss from raw arrays, backward returns
dL/dinput (and dL/dtarget where the target requires grad). The arguments were checked in
``nn.functional``, so only the math happens here. ``reduction`` is "none", "sum" or "mean";
``axis`` is the class axis (1, or 0 for an unbatched input of shape (C,)).
Weights never get a gradient, as in PyTorch.
"""
from __future__ import annotations

import math

from ..autograd import Function
from ..backend import array_module
from .softmax import class_sum

LOG_FLOOR = -100.0  # PyTorch clamps BCE's logs here, so p = 0 or 1 gives a finite loss
TINY = 1e-45        # no larger than any positive float32: log(max(p, TINY)) = log p for p > 0
BCE_EPS = 9.999999960041972e-13  # PyTorch's 1e-12 in BCE's gradient, a float32 in any dtype


# ---- reductions ------------------------------------------------------------------------
def _nonzero(xp, d):
    """``d``, with 0 replaced by 1 (Python int or 0-d array)."""
    if isinstance(d, int):
        return d or 1
    return d + xp.astype(d == 0, d.dtype)


def reduce_loss(xp, terms, reduction: str, denominator, axis: int | None = None):
    """"none": the loss of each sample (``terms`` summed over the class axis, if one is
    given); "sum": the sum of all terms; "mean": that sum / ``denominator``.

    A mean over nothing (an empty batch, every target ignored) is 0/0 = nan, as in PyTorch.
    """
    if reduction == "none":
        return terms if axis is None else class_sum(xp, terms, axis, keepdims=False)
    total = xp.sum(terms)
    if reduction == "sum":
        return total
    if isinstance(denominator, int):
        return total / denominator if denominator else total * math.nan
    return xp.where(denominator == 0, math.nan, total / _nonzero(xp, denominator))


def grad_scale(xp, gy, reduction: str, denominator, axis: int | None = None):
    """dL/d(per-sample loss), shaped to broadcast against the input.

    For "mean" it is gy / denominator (0 when nothing was counted: every term of the sum is
    0 then, and PyTorch returns a zero gradient). For "none", gy gets back the class axis.
    """
    if reduction == "mean":
        return gy / _nonzero(xp, denominator)
    if reduction == "none" and axis is not None:
        return xp.expand_dims(gy, axis=axis)
    return gy


# ---- elementwise losses ------------------------------------------------------------------
class BinaryCrossEntropy(Function):
    """On probabilities p, with PyTorch's clamp of each log at -100 (finite at p = 0 and 1):

        l     = -w · (y · log p + (1 - y) · log(1 - p))
        dl/dp = w · (p - y) / max(p · (1 - p), 1e-12)   (PyTorch's form)
        dl/dy = -w · (log p - log(1 - p))               (the clamped logs)
    """

    __slots__ = ("p", "y", "w", "log_ratio", "reduction")

    def forward(self, p, y, weight, reduction):
        xp = array_module(p)
        log_p = xp.maximum(xp.log(xp.maximum(p, TINY)), LOG_FLOOR)
        # log1p(-p) as PyTorch computes it; at p = 1 (log 0) take log1p(0) - 100 instead.
        below_one = xp.astype(p < 1, p.dtype)
        log_1mp = xp.maximum(xp.log1p(-p * below_one) + (below_one - 1) * 100, LOG_FLOOR)
        log_ratio = log_p - log_1mp
        loss = -(log_1mp + y * log_ratio)
        if weight is not None:
            loss = loss * weight
        self.p, self.y, self.w, self.reduction = p, y, weight, reduction
        if self.needs_input_grad[1]:
            self.log_ratio = log_ratio
        return reduce_loss(xp, loss, reduction, p.size)

    def backward(self, gy):
        xp, p = array_module(gy), self.p
        g = grad_scale(xp, gy, self.reduction, p.size)
        if self.w is not None:
            g = g * self.w
        gp = gt = None
        if self.needs_input_grad[0]:
            gp = (p - self.y) / xp.maximum(p * (1 - p), BCE_EPS) * g
        if self.needs_input_grad[1]:
            gt = -self.log_ratio * g
        return gp, gt


class BinaryCrossEntropyWithLogits(Function):
    """Binary cross-entropy on logits x, stable for any finite x:

        l     = w · ((1 - y) · x + lw · softplus(-x)),     lw = 1 + (pw - 1) · y
              = -w · (pw · y · log σ(x) + (1 - y) · log(1 - σ(x)))
        dl/dx = w · (σ(x) · lw - pw · y)
        dl/dy = w · (pw · softplus(-x) - softplus(x))

    softplus(-x) = log(1 + e^-x) = -log σ(x) is computed as logaddexp(0, -x): no overflow.
    """

    __slots__ = ("x", "y", "sp", "w", "pw", "reduction")

    def forward(self, x, y, weight, pos_weight, reduction):
        xp = array_module(x)
        sp = xp.logaddexp(0.0, -x)  # softplus(-x) = -log σ(x)
        lw = 1.0 if pos_weight is None else 1 + (pos_weight - 1) * y
        loss = (1 - y) * x + lw * sp
        if weight is not None:
            loss = loss * weight
        self.x, self.y, self.sp, self.w, self.pw = x, y, sp, weight, pos_weight
        self.reduction = reduction
        return reduce_loss(xp, loss, reduction, x.size)

    def backward(self, gy):
        xp, y, sp, pw = array_module(gy), self.y, self.sp, self.pw
        g = grad_scale(xp, gy, self.reduction, self.x.size)
        if self.w is not None:
            g = g * self.w
        gx = gt = None
        if self.needs_input_grad[0]:
            sigma = xp.exp(-sp)  # σ(x) = exp(log σ(x))
            gx = (sigma - y if pw is None else sigma * (1 + (pw - 1) * y) - pw * y) * g
        if self.needs_input_grad[1]:
            softplus_x = sp + self.x  # softplus(x) = softplus(-x) + x
            gt = ((sp if pw is None else pw * sp) - softplus_x) * g
        return gx, gt


class MSELoss(Function):
    """l = (x - y)^2.  dl/dx = 2 (x - y) · g,  dl/dy = -dl/dx."""

    __slots__ = ("diff", "reduction")  # x - y: all backward needs
    saves_inputs = False

    def forward(self, x, y, reduction):
        self.diff, self.reduction = x - y, reduction
        return reduce_loss(array_module(x), self.diff * self.diff, reduction, x.size)

    def backward(self, gy):
        g = grad_scale(array_module(gy), gy, self.reduction, self.diff.size)
        gx = 2 * self.diff * g
        return gx, (-gx if self.needs_input_grad[1] else None)

"""The graph nodes behind ``tinynet.nn.functional``: softmax, log_softmax and the losses.

Each loss is ONE Function: forward computes the loss from raw arrays, backward returns
dL/dinput (and dL/dtarget where the target requires grad). The arguments were checked in
functional.py, so only the math happens here. ``reduction`` is "none", "sum" or "mean";
``axis`` is the class axis (1, or 0 for an unbatched input of shape (C,)).
Weights never get a gradient, as in PyTorch.
"""
from __future__ import annotations

import math

from ..autograd import Function, _xp

LOG_FLOOR = -100.0  # PyTorch clamps BCE's logs here, so p = 0 or 1 gives a finite loss
TINY = 1e-45        # no larger than any positive float32: log(max(p, TINY)) = log p for p > 0
BCE_EPS = 9.999999960041972e-13  # PyTorch's 1e-12 in BCE's gradient, a float32 in any dtype


# ---- reductions ------------------------------------------------------------------------
def class_sum(xp, a, axis: int, keepdims: bool = True):
    """Σ over the class axis. When it is the last axis this is a matrix-vector product with
    ones: NumPy's sum over a short last axis costs ~30 ns a row, BLAS a few."""
    if axis != a.ndim - 1 or a.ndim > 2:
        return xp.sum(a, axis=axis, keepdims=keepdims)
    ones = xp.ones((a.shape[axis], 1) if keepdims else (a.shape[axis],), dtype=a.dtype,
                   device=a.device)
    return a @ ones


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


# ---- softmax ---------------------------------------------------------------------------
def _log_softmax(xp, x, axis):
    z = x - xp.max(x, axis=axis, keepdims=True)  # shift by the max: every exp(z) <= 1
    return z - xp.log(class_sum(xp, xp.exp(z), axis))  # the sum is >= 1: no log(0), no overflow


class LogSoftmax(Function):
    """y = x - log Σ_j exp(x_j) along ``axis`` (by log-sum-exp: finite for finite x).
    dL/dx = gy - softmax(x) · Σ_j gy_j."""

    __slots__ = ("y", "axis")  # the output: softmax = exp(y)

    def forward(self, x, axis):
        self.axis = axis
        self.y = _log_softmax(_xp(x), x, axis)
        return self.y

    def backward(self, gy):
        xp = _xp(gy)
        return (gy - xp.exp(self.y) * class_sum(xp, gy, self.axis),)


class Softmax(Function):
    """y = exp(x) / Σ_j exp(x_j) along ``axis``.  dL/dx = y · (gy - Σ_j gy_j · y_j)."""

    __slots__ = ("y", "axis")  # the output is all backward needs

    def forward(self, x, axis):
        xp = _xp(x)
        e = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
        self.axis = axis
        self.y = e / class_sum(xp, e, axis)
        return self.y

    def backward(self, gy):
        xp, y = _xp(gy), self.y
        return (y * (gy - class_sum(xp, gy * y, self.axis)),)


# ---- softmax cross-entropy and NLL: one target distribution q -----------------------------
def target_distribution(xp, x, target, axis, weight, ignore_index, label_smoothing):
    """The distribution q that the loss compares softmax(x) with, and the mean's denominator.

        q = w_c · ((1 - ε) · t + ε / C · valid)

    t is the one-hot of the class index (a zero row where the target is ``ignore_index``) or
    the given probabilities; ε is the label smoothing, w the class weights (1 if None), and
    valid is 0 for ignored samples. The mean divides by Σ_n w[y_n] over the samples not
    ignored (PyTorch's weighted mean) for class indices, by the number of samples for
    probabilities.
    """
    n_classes = x.shape[axis]
    class_shape = tuple(n_classes if i == axis else 1 for i in range(x.ndim))
    w = None if weight is None else xp.reshape(weight, class_shape)
    if xp.isdtype(target.dtype, "integral"):
        y = xp.reshape(target, x.shape[:axis] + (1,) + x.shape[axis + 1:])
        classes = xp.reshape(xp.arange(n_classes, dtype=y.dtype, device=y.device), class_shape)
        valid = y != ignore_index
        t = xp.astype((y == classes) & valid, x.dtype)  # one-hot by comparison: no loop
        q = t if w is None else t * w
        denominator = xp.sum(q)  # Σ_n w[y_n] over the samples not ignored
    else:
        valid = None
        q = target if w is None else target * w
        denominator = x.size // n_classes if n_classes else 0
    if label_smoothing:
        uniform = label_smoothing / n_classes
        if valid is not None:
            uniform = xp.astype(valid, x.dtype) * uniform
        q = q * (1.0 - label_smoothing) + (uniform if w is None else uniform * w)
    return q, denominator


class SoftmaxCrossEntropy(Function):
    """Softmax, log and the pick of the target as one node (it never forms log(0)).

        loss_n = -Σ_c q_nc · log_softmax(x)_nc          (q from ``target_distribution``)
        dL/dx  = (softmax(x) · Σ_c q_nc - q) · g        g = gy, or gy / denominator for "mean"
        dL/dt  = -(1 - ε) · w · log_softmax(x) · g      (probability targets that need it)

    For a one-hot q without weights this is the familiar (softmax - onehot) / N.
    """

    __slots__ = ("logp", "q", "denominator", "reduction", "axis", "t_scale")

    def forward(self, x, target, weight, ignore_index, label_smoothing, reduction):
        xp = _xp(x)
        axis = 0 if x.ndim == 1 else 1
        logp = _log_softmax(xp, x, axis)
        q, denominator = target_distribution(xp, x, target, axis, weight, ignore_index,
                                             label_smoothing)
        self.logp, self.q, self.denominator = logp, q, denominator
        self.reduction, self.axis = reduction, axis
        if self.needs_input_grad[1]:  # dq/dt = (1 - ε) · w
            self.t_scale = 1.0 - label_smoothing
            if weight is not None:
                class_shape = tuple(-1 if i == axis else 1 for i in range(x.ndim))
                self.t_scale = xp.reshape(weight, class_shape) * self.t_scale
        # Only classes with q > 0 count: a masked-out class (logit -inf, log_softmax -inf)
        # with q = 0 must add 0, not 0 * -inf = nan.
        terms = q * xp.where(q != 0, logp, 0.0)
        return -reduce_loss(xp, terms, reduction, denominator, axis)

    def backward(self, gy):
        xp, q = _xp(gy), self.q
        g = grad_scale(xp, gy, self.reduction, self.denominator, self.axis)
        gx = gt = None
        if self.needs_input_grad[0]:
            gx = (xp.exp(self.logp) * class_sum(xp, q, self.axis) - q) * g
        if self.needs_input_grad[1]:
            gt = -(self.logp * self.t_scale) * g
        return gx, gt


class NLLLoss(Function):
    """loss_n = -Σ_c q_nc · x_nc = -w[y_n] · x[n, y_n] (0 where ignored), x log-probabilities.
    dL/dx = -q · g, with q = w · onehot from ``target_distribution``."""

    __slots__ = ("q", "denominator", "reduction", "axis")

    def forward(self, x, target, weight, ignore_index, reduction):
        xp = _xp(x)
        axis = 0 if x.ndim == 1 else 1
        q, denominator = target_distribution(xp, x, target, axis, weight, ignore_index, 0.0)
        self.q, self.denominator, self.reduction, self.axis = q, denominator, reduction, axis
        picked = xp.where(q != 0, x, 0.0)  # only the targets: a -inf (log 0) elsewhere is harmless
        return -reduce_loss(xp, q * picked, reduction, denominator, axis)

    def backward(self, gy):
        g = grad_scale(_xp(gy), gy, self.reduction, self.denominator, self.axis)
        return -self.q * g, None


# ---- elementwise losses ------------------------------------------------------------------
class BinaryCrossEntropy(Function):
    """On probabilities p, with PyTorch's clamp of each log at -100 (finite at p = 0 and 1):

        l     = -w · (y · log p + (1 - y) · log(1 - p))
        dl/dp = w · (p - y) / max(p · (1 - p), 1e-12)   (PyTorch's form)
        dl/dy = -w · (log p - log(1 - p))               (the clamped logs)
    """

    __slots__ = ("p", "y", "w", "log_ratio", "reduction")

    def forward(self, p, y, weight, reduction):
        xp = _xp(p)
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
        xp, p = _xp(gy), self.p
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
        xp = _xp(x)
        sp = xp.logaddexp(0.0, -x)  # softplus(-x) = -log σ(x)
        lw = 1.0 if pos_weight is None else 1 + (pos_weight - 1) * y
        loss = (1 - y) * x + lw * sp
        if weight is not None:
            loss = loss * weight
        self.x, self.y, self.sp, self.w, self.pw = x, y, sp, weight, pos_weight
        self.reduction = reduction
        return reduce_loss(xp, loss, reduction, x.size)

    def backward(self, gy):
        xp, y, sp, pw = _xp(gy), self.y, self.sp, self.pw
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

    def forward(self, x, y, reduction):
        self.diff, self.reduction = x - y, reduction
        return reduce_loss(_xp(x), self.diff * self.diff, reduction, x.size)

    def backward(self, gy):
        g = grad_scale(_xp(gy), gy, self.reduction, self.diff.size)
        gx = 2 * self.diff * g
        return gx, (-gx if self.needs_input_grad[1] else None)

"""The fused softmax cross-entropy and the negative log-likelihood: one target distribution q.

Both losses build q, the distribution the prediction is compared with (one-hot or given
probabilities, smoothed, masked for ignore_index, weighted), in ``target_distribution``;
each is then one formula in q. The arguments were checked in ``nn.functional``. See
docs/cross_entropy.md for the derivation.
"""
from __future__ import annotations

from ..autograd import Function
from ..backend import array_module, backend_of
from .loss import grad_scale, reduce_loss
from .softmax import class_sum, constant, log_softmax


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
    if target.ndim < x.ndim:  # class indices (probabilities have the input's shape)
        y = xp.reshape(target, x.shape[:axis] + (1,) + x.shape[axis + 1:])
        classes = constant(xp, "classes", class_shape, y.dtype, y.device, lambda: xp.reshape(
            xp.arange(n_classes, dtype=y.dtype, device=y.device), class_shape))
        hit = y == classes  # the one-hot, by comparison: no loop
        valid = None
        if weight is not None or label_smoothing or 0 <= ignore_index < n_classes:
            # (an ignore_index outside [0, C) matches no class: its rows are zero already)
            valid = y != ignore_index
            hit = hit & valid
        t = xp.astype(hit, x.dtype)
        q = t
        if w is not None:
            # Each sample is weighted by its own class, w[y_n] (0 where ignored): a class
            # absent from the batch never enters, so its weight may be inf or nan (t · w
            # would give 0 · inf = nan in every row).
            picked = xp.take(weight, xp.reshape(xp.where(valid, y, 0), (-1,)))
            w_n = xp.where(valid, xp.reshape(picked, y.shape), 0.0)
            q = t * w_n
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

    __slots__ = ("logp", "q", "denominator", "reduction", "axis", "t_scale", "picks")

    def forward(self, x, target, weight, ignore_index, label_smoothing, reduction,
                none_ignored=False):
        xp = array_module(x)
        if (none_ignored and x.ndim == 2 and target.ndim == 1 and x.size and weight is None
                and not label_smoothing):
            return self.forward_classes(xp, x, target, reduction)
        self.picks = None
        axis = 0 if x.ndim == 1 else 1
        logp = log_softmax(xp, x, axis)
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

    def forward_classes(self, xp, x, y, reduction):
        """The common case, (N, C) logits and class indices y with no weight, no smoothing
        and no sample ignored: q is the one-hot of y, so the sum over classes keeps one term,

            loss_n = -log_softmax(x)[n, y_n]        dL/dx = (softmax(x) - onehot(y)) · g

        (Σ_c q_nc = 1). The same formula as the general path, picked from a flat view of
        log_softmax instead of multiplied by a one-hot: no (N, C) q is formed, in forward or
        in backward (which subtracts 1 at the same flat positions)."""
        n, n_classes = x.shape
        logp = log_softmax(xp, x, 1)
        # flat index of x[n, 0] for each row (keyed by the whole shape (N, C))
        row_starts = constant(xp, "row starts", x.shape, y.dtype, y.device,
                              lambda: xp.arange(0, n * n_classes, n_classes, dtype=y.dtype,
                                                device=y.device))
        picks = y + row_starts  # the flat position of x[n, y_n]
        picked = xp.take(xp.reshape(logp, (-1,)), picks)
        self.logp, self.picks, self.denominator = logp, picks, n
        self.reduction, self.axis = reduction, 1
        return -reduce_loss(xp, picked, reduction, n)

    def backward(self, gy):
        xp = array_module(gy)
        g = grad_scale(xp, gy, self.reduction, self.denominator, self.axis)
        if self.picks is not None:  # class indices (forward_classes): q is the one-hot of y
            softmax = xp.exp(self.logp)  # a fresh array: the one-hot is subtracted in place
            backend_of(softmax).subtract_at_rows(softmax, self.picks, 1)
            return softmax * g, None
        q, gx, gt = self.q, None, None
        if self.needs_input_grad[0]:
            gx = (xp.exp(self.logp) * class_sum(xp, q, self.axis) - q) * g
        if self.needs_input_grad[1]:
            gt = -(self.logp * self.t_scale) * g
        return gx, gt


class NLLLoss(Function):
    """loss_n = -Σ_c q_nc · x_nc = -w[y_n] · x[n, y_n] (0 where ignored), x log-probabilities.
    dL/dx = -q · g, with q = w · onehot from ``target_distribution``."""

    __slots__ = ("q", "denominator", "reduction", "axis")
    saves_inputs = False

    def forward(self, x, target, weight, ignore_index, reduction):
        xp = array_module(x)
        axis = 0 if x.ndim == 1 else 1
        q, denominator = target_distribution(xp, x, target, axis, weight, ignore_index, 0.0)
        self.q, self.denominator, self.reduction, self.axis = q, denominator, reduction, axis
        picked = xp.where(q != 0, x, 0.0)  # only the targets: a -inf (log 0) elsewhere is harmless
        return -reduce_loss(xp, q * picked, reduction, denominator, axis)

    def backward(self, gy):
        g = grad_scale(array_module(gy), gy, self.reduction, self.denominator, self.axis)
        return -self.q * g, None



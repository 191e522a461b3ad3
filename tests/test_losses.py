"""The losses and softmax against closed forms in NumPy float64, on every backend.

Every option combination comes from one table (weights, ignore_index, label smoothing,
reductions, class-index and probability targets, (N, C), (N, C, d1) and unbatched (C,)
inputs). Values and input gradients are checked in float64 and float32; gradients also by
central differences (tn.gradcheck). Then stability at logits of ±1e4, the fused node against
the unfused composition, the beginner warning, and one table of bad inputs.
"""
import itertools
import warnings

import numpy as np
import pytest

import tinynet as tn
import tinynet.nn.functional as F
from tinynet.nn.functional import checks
from conftest import to_numpy

REDUCTIONS = ["mean", "sum", "none"]
SHAPES = [(5, 4), (3, 4, 2), (4,)]  # (N, C), (N, C, d1), unbatched (C,)


# ---- NumPy float64 references ----------------------------------------------------------
def _last(a, axis):
    return np.moveaxis(a, axis, -1)


def _reduce(loss, reduction, denominator):
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.sum() / denominator


def _scale(reduction, denominator, shape):
    """dL/d(per-sample loss) for an all-ones upstream gradient."""
    if reduction != "mean":
        return np.ones(shape)
    return np.full(shape, 1.0 / denominator if denominator else 0.0)  # nothing counted: 0


def ref_cross_entropy(x, target, weight, ignore_index, reduction, smoothing):
    """PyTorch's definition: (1 - ε) · nll + ε / C · Σ_c -w_c log p_c, and its gradient
    written as the sum of the two terms' gradients."""
    axis = 0 if x.ndim == 1 else 1
    xl = _last(x, axis)
    n_classes = xl.shape[-1]
    w = np.ones(n_classes) if weight is None else weight
    logp = xl - np.log(np.exp(xl - xl.max(-1, keepdims=True)).sum(-1, keepdims=True)) \
        - xl.max(-1, keepdims=True)
    p = np.exp(logp)
    if target.dtype.kind == "i":
        valid = target != ignore_index
        onehot = (target[..., None] == np.arange(n_classes)) & valid[..., None]
        w_y = (onehot * w).sum(-1)
        nll = -(onehot * w * logp).sum(-1)
        smooth = -(w * logp).sum(-1) * valid
        loss = (1 - smoothing) * nll + smoothing / n_classes * smooth
        denominator = w_y.sum()
        grad = ((1 - smoothing) * w_y[..., None] * (p - onehot)
                + smoothing / n_classes * valid[..., None] * (p * w.sum() - w))
    else:
        t = _last(target, axis) * (1 - smoothing) + smoothing / n_classes
        loss = -(t * w * logp).sum(-1)
        denominator = loss.size
        grad = p * (t * w).sum(-1, keepdims=True) - t * w
    grad = grad * _scale(reduction, denominator, loss.shape)[..., None]
    return _reduce(loss, reduction, denominator), np.moveaxis(grad, -1, axis)


def ref_nll_loss(x, target, weight, ignore_index, reduction):
    axis = 0 if x.ndim == 1 else 1
    xl = _last(x, axis)
    w = np.ones(xl.shape[-1]) if weight is None else weight
    onehot = (target[..., None] == np.arange(xl.shape[-1])) & (target != ignore_index)[..., None]
    loss = -(onehot * w * xl).sum(-1)
    denominator = (onehot * w).sum()
    grad = -(onehot * w) * _scale(reduction, denominator, loss.shape)[..., None]
    return _reduce(loss, reduction, denominator), np.moveaxis(grad, -1, axis)


def ref_bce(p, y, weight, reduction):
    w = 1.0 if weight is None else weight
    with np.errstate(divide="ignore"):
        log_p, log_q = np.maximum(np.log(p), -100), np.maximum(np.log1p(-p), -100)
    loss = -w * (y * log_p + (1 - y) * log_q) * np.ones_like(p)
    grad = w * (p - y) / np.maximum(p * (1 - p), np.float32(1e-12).item()) * _scale(reduction, p.size, p.shape)
    return _reduce(loss, reduction, p.size), grad


def ref_bce_with_logits(x, y, weight, pos_weight, reduction):
    w = 1.0 if weight is None else weight
    pw = 1.0 if pos_weight is None else pos_weight
    log_sig, log_1msig = -np.logaddexp(0, -x), -np.logaddexp(0, x)
    loss = -w * (pw * y * log_sig + (1 - y) * log_1msig)
    sig = 1 / (1 + np.exp(-x))
    grad = w * (sig * (pw * y + 1 - y) - pw * y) * _scale(reduction, x.size, x.shape)
    return _reduce(loss, reduction, x.size), grad


def ref_mse(x, y, reduction):
    return _reduce((x - y) ** 2, reduction, x.size), 2 * (x - y) * _scale(reduction, x.size,
                                                                          x.shape)


# ---- the option table ------------------------------------------------------------------
def _class_case(shape, kind, weighted, ignore, smoothing, reduction, seed=0):
    """Arrays for one cross_entropy / nll_loss case: logits, target, weight, ignore_index."""
    rng = np.random.default_rng(seed)
    axis = 0 if len(shape) == 1 else 1
    n_classes = shape[axis]
    x = rng.standard_normal(shape) * 2
    index_shape = shape[:axis] + shape[axis + 1:]
    if kind == "index":
        target = rng.integers(0, n_classes, index_shape)
        ignore_index = {"none": -100, "default": -100, "class1": 1}[ignore]
        if ignore == "default" and target.size > 1:
            target.flat[0] = -100  # one ignored sample
    else:
        target = np.moveaxis(rng.dirichlet(np.ones(n_classes), index_shape), -1, axis)
        ignore_index = -100
    weight = rng.uniform(0.2, 2.0, n_classes) if weighted else None
    return x, target, weight, ignore_index


CE_CASES = [
    pytest.param(shape, kind, weighted, ignore, smoothing, reduction,
                 id=f"{shape}-{kind}-w{int(weighted)}-{ignore}-ls{smoothing}-{reduction}")
    for shape, kind, weighted, ignore, smoothing, reduction in itertools.product(
        SHAPES, ["index", "prob"], [False, True], ["none", "default", "class1"], [0.0, 0.2],
        REDUCTIONS)
    if kind == "index" or ignore == "none"]


def _tensors(x, target, weight, dtype, requires_grad=True):
    xt = tn.tensor(x.astype(dtype), requires_grad=requires_grad)
    tt = tn.tensor(target if target.dtype.kind == "i" else target.astype(dtype))
    wt = None if weight is None else tn.tensor(weight.astype(dtype))
    return xt, tt, wt


def _tolerances(dtype):
    return dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("shape,kind,weighted,ignore,smoothing,reduction", CE_CASES)
def test_cross_entropy_values_and_grads(backend, shape, kind, weighted, ignore, smoothing,
                                        reduction, dtype):
    x, target, weight, ignore_index = _class_case(shape, kind, weighted, ignore, smoothing,
                                                  reduction)
    xt, tt, wt = _tensors(x, target, weight, dtype)
    loss = F.cross_entropy(xt, tt, weight=wt, ignore_index=ignore_index, reduction=reduction,
                           label_smoothing=smoothing)
    expected, grad = ref_cross_entropy(x, target, weight, ignore_index, reduction, smoothing)
    assert loss.dtype == dtype and loss.shape == np.shape(expected)
    np.testing.assert_allclose(to_numpy(loss), expected, **_tolerances(dtype))
    loss.sum().backward()
    assert xt.grad.dtype == dtype
    np.testing.assert_allclose(to_numpy(xt.grad), grad, **_tolerances(dtype))


NLL_CASES = [pytest.param(shape, weighted, ignore, reduction,
                          id=f"{shape}-w{int(weighted)}-{ignore}-{reduction}")
             for shape, weighted, ignore, reduction in itertools.product(
                 SHAPES, [False, True], ["none", "default", "class1"], REDUCTIONS)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("shape,weighted,ignore,reduction", NLL_CASES)
def test_nll_loss_values_and_grads(backend, shape, weighted, ignore, reduction, dtype):
    x, target, weight, ignore_index = _class_case(shape, "index", weighted, ignore, 0.0,
                                                  reduction)
    xt, tt, wt = _tensors(x, target, weight, dtype)
    loss = F.nll_loss(xt, tt, weight=wt, ignore_index=ignore_index, reduction=reduction)
    expected, grad = ref_nll_loss(x, target, weight, ignore_index, reduction)
    np.testing.assert_allclose(to_numpy(loss), expected, **_tolerances(dtype))
    loss.sum().backward()
    assert xt.grad.dtype == dtype
    np.testing.assert_allclose(to_numpy(xt.grad), grad, **_tolerances(dtype))


@pytest.mark.parametrize("shape,kind,weighted,ignore,smoothing,reduction", CE_CASES)
def test_cross_entropy_gradcheck(backend, shape, kind, weighted, ignore, smoothing, reduction):
    x, target, weight, ignore_index = _class_case(shape, kind, weighted, ignore, smoothing,
                                                  reduction, seed=1)
    xt, tt, wt = _tensors(x, target, weight, np.float64)
    if kind == "prob":
        tt.requires_grad = True  # d/dtarget of probability targets too

    def loss(x, t):
        return F.cross_entropy(x, t, weight=wt, ignore_index=ignore_index,
                               reduction=reduction, label_smoothing=smoothing)
    assert tn.gradcheck(loss, (xt, tt))


# ---- elementwise losses: BCE, BCE with logits, MSE ----------------------------------------
ELEMENTWISE_SHAPES = [(4, 3), (5,), ()]


def _binary_case(shape, weighted, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.95, shape)
    y = rng.uniform(0, 1, shape)
    weight = rng.uniform(0.2, 2.0, shape[-1:] if shape else ()) if weighted else None
    return p, y, weight


BINARY_CASES = [pytest.param(shape, weighted, reduction,
                             id=f"{shape}-w{int(weighted)}-{reduction}")
                for shape, weighted, reduction in itertools.product(
                    ELEMENTWISE_SHAPES, [False, True], REDUCTIONS)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("shape,weighted,reduction", BINARY_CASES)
def test_bce_values_and_grads(backend, shape, weighted, reduction, dtype):
    p, y, weight = _binary_case(shape, weighted)
    pt, yt, wt = (None if a is None else tn.tensor(np.asarray(a, dtype)) for a in (p, y, weight))
    pt.requires_grad = True
    loss = F.binary_cross_entropy(pt, yt, weight=wt, reduction=reduction)
    expected, grad = ref_bce(p, y, weight, reduction)
    np.testing.assert_allclose(to_numpy(loss), expected, **_tolerances(dtype))
    loss.sum().backward()
    assert pt.grad.dtype == dtype
    np.testing.assert_allclose(to_numpy(pt.grad), grad, **_tolerances(dtype))
    yt.requires_grad = True
    assert tn.gradcheck(lambda p, y: F.binary_cross_entropy(p, y, weight=wt,
                                                            reduction=reduction), (pt, yt))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("pos_weighted", [False, True], ids=["pw0", "pw1"])
@pytest.mark.parametrize("shape,weighted,reduction", BINARY_CASES)
def test_bce_with_logits_values_and_grads(backend, shape, weighted, reduction, pos_weighted,
                                          dtype):
    _, y, weight = _binary_case(shape, weighted)
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape) * 3
    pos_weight = rng.uniform(0.5, 3.0, shape[-1:]) if pos_weighted else None  # per class
    xt, yt, wt, pwt = (None if a is None else tn.tensor(np.asarray(a, dtype))
                       for a in (x, y, weight, pos_weight))
    xt.requires_grad = True
    loss = F.binary_cross_entropy_with_logits(xt, yt, weight=wt, pos_weight=pwt,
                                              reduction=reduction)
    expected, grad = ref_bce_with_logits(x, y, weight, pos_weight, reduction)
    np.testing.assert_allclose(to_numpy(loss), expected, **_tolerances(dtype))
    loss.sum().backward()
    assert xt.grad.dtype == dtype
    np.testing.assert_allclose(to_numpy(xt.grad), grad, **_tolerances(dtype))
    yt.requires_grad = True
    assert tn.gradcheck(lambda x, y: F.binary_cross_entropy_with_logits(
        x, y, weight=wt, pos_weight=pwt, reduction=reduction), (xt, yt))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("shape", ELEMENTWISE_SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_values_and_grads(backend, shape, reduction, dtype):
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal(shape), rng.standard_normal(shape)
    xt, yt = tn.tensor(np.asarray(x, dtype), requires_grad=True), tn.tensor(np.asarray(y, dtype))
    loss = F.mse_loss(xt, yt, reduction=reduction)
    expected, grad = ref_mse(x, y, reduction)
    np.testing.assert_allclose(to_numpy(loss), expected, **_tolerances(dtype))
    loss.sum().backward()
    assert xt.grad.dtype == dtype
    np.testing.assert_allclose(to_numpy(xt.grad), grad, **_tolerances(dtype))
    yt.requires_grad = True
    assert tn.gradcheck(lambda x, y: F.mse_loss(x, y, reduction=reduction), (xt, yt))


def test_bce_at_zero_and_one_is_finite_as_in_pytorch(backend):
    """log is clamped at -100; the gradient is w (p - y) / max(p (1 - p), 1e-12)."""
    p = tn.tensor(np.array([0.0, 1.0, 0.0, 1.0, 0.5]), requires_grad=True)
    y = tn.tensor(np.array([0.0, 0.0, 1.0, 1.0, 0.3]))
    loss = F.binary_cross_entropy(p, y, reduction="none")
    np.testing.assert_allclose(to_numpy(loss), [0, 100, 100, 0, -0.3 * np.log(0.5) -
                                                0.7 * np.log(0.5)], rtol=1e-12)
    loss.sum().backward()
    big = 1 / np.float32(1e-12).item()  # PyTorch's epsilon is a float32 1e-12
    np.testing.assert_allclose(to_numpy(p.grad), [0, big, -big, 0, 0.8], rtol=1e-12)


# ---- softmax and log_softmax ----------------------------------------------------------------
def _np_log_softmax(x, axis):
    m = x.max(axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis, keepdims=True))


@pytest.mark.parametrize("shape,dim", [((4, 5), -1), ((4, 5), 0), ((2, 3, 4), 1),
                                       ((2, 3, 4), -1), ((6,), 0), ((1, 3), 1)], ids=str)
@pytest.mark.parametrize("fn,ref", [(F.softmax, lambda x, a: np.exp(_np_log_softmax(x, a))),
                                    (F.log_softmax, _np_log_softmax)],
                         ids=["softmax", "log_softmax"])
def test_softmax_and_log_softmax(backend, fn, ref, shape, dim):
    x = np.random.default_rng(5).standard_normal(shape) * 3
    out = fn(tn.tensor(x.astype(np.float32)), dim)
    assert out.dtype == np.float32
    np.testing.assert_allclose(to_numpy(out), ref(x, dim), rtol=1e-5, atol=1e-6)
    assert tn.gradcheck(lambda t: fn(t, dim), (tn.tensor(x, requires_grad=True),))


def test_tensor_softmax_methods(backend):
    x = tn.tensor(np.array([[1.0, 2.0, 3.0]]))
    np.testing.assert_allclose(to_numpy(x.softmax(1)), to_numpy(F.softmax(x, 1)))
    np.testing.assert_allclose(to_numpy(x.log_softmax(-1)), to_numpy(F.log_softmax(x)))


# ---- stability and the fused node -------------------------------------------------------------
def test_extreme_logits_give_finite_loss_and_gradient(backend):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [-1e4, -1e4, -1e4]])
    y = np.array([1, 0, 2])
    for fn in (lambda t: F.cross_entropy(t, tn.tensor(y)),
               lambda t: F.cross_entropy(t, tn.tensor(y), label_smoothing=0.1),
               lambda t: F.log_softmax(t, 1).sum(), lambda t: F.softmax(t, 1)[0, 0],
               lambda t: F.binary_cross_entropy_with_logits(t, tn.tensor(np.eye(3)))):
        for dtype in (np.float32, np.float64):
            xt = tn.tensor(x.astype(dtype), requires_grad=True)
            loss = fn(xt)
            loss.backward()
            assert np.isfinite(to_numpy(loss)).all() and np.isfinite(to_numpy(xt.grad)).all()
    xt = tn.tensor(x.astype(np.float32), requires_grad=True)
    loss = F.cross_entropy(xt, tn.tensor(y), reduction="none")
    np.testing.assert_allclose(to_numpy(loss), [2e4, 2e4 + np.log(2), np.log(3)], rtol=1e-6)


@pytest.mark.parametrize("shape", [(6, 5), (3, 4, 2)], ids=str)
def test_fused_gradient_equals_unfused_composition(backend, shape):
    """softmax -> log -> pick, as separate nodes, where it is finite."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal(shape) * 2
    target = rng.integers(0, shape[1], (shape[0],) + shape[2:])
    onehot = np.moveaxis(np.eye(shape[1])[target], -1, 1)
    fused, unfused = (tn.tensor(x, requires_grad=True) for _ in range(2))
    F.cross_entropy(fused, tn.tensor(target)).backward()
    picked = (F.softmax(unfused, 1).log() * tn.tensor(onehot)).sum(1)
    (-picked.mean()).backward()
    np.testing.assert_allclose(to_numpy(fused.grad), to_numpy(unfused.grad), rtol=1e-10,
                               atol=1e-14)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_class_index_path_equals_the_general_path(backend, reduction, dtype):
    """Class indices with no weight, smoothing or ignored sample pick log_softmax at the
    target instead of forming the one-hot q (the common case of training): the same loss
    to rounding and the same gradient as the general path, taken here by unit weights."""
    rng = np.random.default_rng(8)
    x, target = rng.standard_normal((300, 10)) * 3, rng.integers(0, 10, 300)
    picked, general = (tn.tensor(x.astype(dtype), requires_grad=True) for _ in range(2))
    y = tn.tensor(target)
    loss = F.cross_entropy(picked, y, reduction=reduction)
    reference = F.cross_entropy(general, y, weight=tn.tensor(np.ones(10, dtype)),
                                reduction=reduction)
    if backend.name == "numpy":  # the host check of the targets lets the node take the pick
        assert loss._node.picks is not None and reference._node.picks is None
    np.testing.assert_allclose(to_numpy(loss), to_numpy(reference),
                               rtol=1e-12 if dtype == np.float64 else 1e-6)
    loss.sum().backward()
    reference.sum().backward()
    np.testing.assert_array_equal(to_numpy(picked.grad), to_numpy(general.grad))


def test_all_ignored_mean_is_nan_with_zero_gradient(backend):
    """As in PyTorch: a mean over no sample is nan, and the gradient is zero."""
    for smoothing in (0.0, 0.1):
        x = tn.tensor(np.ones((3, 4)), requires_grad=True)
        loss = F.cross_entropy(x, tn.tensor(np.full(3, -100)), label_smoothing=smoothing)
        loss.backward()
        assert np.isnan(loss.item())
        np.testing.assert_array_equal(to_numpy(x.grad), np.zeros((3, 4)))
    total = F.nll_loss(tn.tensor(np.ones((3, 4))), tn.tensor(np.full(3, -100)), reduction="sum")
    assert total.item() == 0.0


def test_probability_input_warns_once(backend, monkeypatch):
    monkeypatch.setattr(checks, "probabilities_warned", [False])
    monkeypatch.setattr(checks, "probability_checks_left", [checks.PROBABILITY_CHECKS])
    logits = tn.tensor(np.random.default_rng(7).standard_normal((4, 3)))
    target = tn.tensor(np.array([0, 1, 2, 0]))
    # (on a device the check is read with the next host read, here .item())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.cross_entropy(logits, target).item()  # raw logits: no warning
    with pytest.warns(UserWarning, match="raw logits"):
        F.cross_entropy(F.softmax(logits, 1), target).item()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.cross_entropy(F.softmax(logits, 1), target).item()  # once per process


# ---- bad input ------------------------------------------------------------------------------
X = np.zeros((3, 4), np.float32)
LABELS = np.array([0, 1, 2])
BAD_INPUTS = [
    ("class >= C", lambda: F.cross_entropy(tn.tensor(X), tn.tensor([0, 4, 1])), IndexError,
     r"target 4 .*4 classes"),
    ("negative class", lambda: F.cross_entropy(tn.tensor(X), tn.tensor([0, -1, 1])), IndexError,
     r"target -1 .*4 classes"),
    ("nll class >= C", lambda: F.nll_loss(tn.tensor(X), tn.tensor([7, 1, 1])), IndexError,
     r"target 7 .*4 classes"),
    ("(N, 1) targets", lambda: F.cross_entropy(tn.tensor(X), tn.tensor(LABELS[:, None])),
     ValueError, r"shape \(3,\).*\(3, 4\).*\(3, 1\)"),
    ("float class indices", lambda: F.cross_entropy(tn.tensor(X), tn.tensor([0.0, 1.0, 2.0])),
     TypeError, r"integers.*float32"),
    ("float target of another shape", lambda: F.cross_entropy(tn.tensor(X),
                                                               tn.tensor(np.zeros((3, 5)))),
     ValueError, r"\(3, 4\).*\(3, 5\)"),
    ("integer target of the input's shape",
     lambda: F.cross_entropy(tn.tensor(X), tn.tensor(np.zeros((3, 4), np.int64))), TypeError,
     r"floating point"),
    ("nll probabilities", lambda: F.nll_loss(tn.tensor(X), tn.tensor(X)), ValueError,
     r"class indices"),
    ("weight length", lambda: F.cross_entropy(tn.tensor(X), tn.tensor(LABELS),
                                              weight=tn.tensor([1.0, 2.0, 3.0])),
     ValueError, r"4 .*got 3 entries"),
    ("reduction", lambda: F.cross_entropy(tn.tensor(X), tn.tensor(LABELS), reduction="avg"),
     ValueError, r"'avg'"),
    ("label smoothing", lambda: F.cross_entropy(tn.tensor(X), tn.tensor(LABELS),
                                                label_smoothing=1.5), ValueError, r"1.5"),
    ("ignore_index with probabilities",
     lambda: F.cross_entropy(tn.tensor(X), tn.tensor(X), ignore_index=0), ValueError,
     r"ignore_index=0"),
    ("0-d input", lambda: F.cross_entropy(tn.tensor(1.0), tn.tensor(0)), ValueError, r"0-d"),
    ("integer input", lambda: F.cross_entropy(tn.tensor([[1, 2]]), tn.tensor([0])), TypeError,
     r"floating point"),
    ("bce outside [0, 1]", lambda: F.binary_cross_entropy(tn.tensor([0.5, 1.5]),
                                                          tn.tensor([1.0, 0.0])),
     ValueError, r"1\.5"),
    ("bce nan", lambda: F.binary_cross_entropy(tn.tensor([0.5, float("nan")]),
                                               tn.tensor([1.0, 0.0])), ValueError, r"nan"),
    ("bce shapes", lambda: F.binary_cross_entropy(tn.tensor([0.5, 0.5]), tn.tensor([1.0])),
     ValueError, r"\(1,\).*\(2,\)"),
    ("bce weight shape", lambda: F.binary_cross_entropy(tn.tensor(X), tn.tensor(X),
                                                        weight=tn.tensor(np.ones((3, 3)))),
     ValueError, r"\(3, 3\).*\(3, 4\)"),
    ("bce with logits shapes", lambda: F.binary_cross_entropy_with_logits(
        tn.tensor(X), tn.tensor(X[:, :1])), ValueError, r"\(3, 1\).*\(3, 4\)"),
    ("pos_weight shape", lambda: F.binary_cross_entropy_with_logits(
        tn.tensor(X), tn.tensor(X), pos_weight=tn.tensor([1.0, 2.0])), ValueError,
     r"pos_weight of shape \(2,\)"),
    ("mse shapes", lambda: F.mse_loss(tn.tensor(X), tn.tensor(X[0])), ValueError,
     r"\(4,\).*\(3, 4\)"),
]


@pytest.mark.parametrize("case,call,error,message", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_raises_a_clear_error(backend, case, call, error, message):
    with pytest.raises(error, match=message):
        call().numpy()  # on a device the check is read with the values


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_with_masked_out_classes(backend, reduction):
    """A logit of -inf (a class masked out) in a class other than the target adds nothing:
    the loss stays finite, also in rows whose target is ignored."""
    x = np.array([[0.5, -np.inf, 1.0], [2.0, 0.1, -np.inf], [0.0, -np.inf, 1.0]], np.float32)
    target = np.array([0, 1, -100])
    logits = tn.tensor(x, device=backend, requires_grad=True)
    loss = F.cross_entropy(logits, tn.tensor(target, device=backend), reduction=reduction)
    finite = np.where(np.isinf(x), -1e30, x).astype(np.float64)  # the same, without inf
    lse = np.log(np.exp(finite - finite.max(1, keepdims=True)).sum(1)) + finite.max(1)
    per_row = np.array([lse[0] - x[0, 0], lse[1] - x[1, 1], 0.0])
    expected = {"none": per_row, "sum": per_row.sum(), "mean": per_row.sum() / 2}[reduction]
    np.testing.assert_allclose(to_numpy(loss), expected, rtol=1e-6)
    loss.sum().backward()
    assert np.isfinite(to_numpy(logits.grad)).all()


def test_loss_weights_that_require_grad_are_refused():
    x, y = tn.zeros(4, 3), tn.tensor([0, 1, 2, 0])
    weight = tn.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="weight requires grad.*weight.detach()"):
        F.cross_entropy(x, y, weight=weight)
    with pytest.raises(RuntimeError, match="pos_weight requires grad"):
        F.binary_cross_entropy_with_logits(x, tn.zeros(4, 3), pos_weight=weight)
    F.cross_entropy(x, y, weight=weight.detach())  # fine once detached


def test_probability_targets_accept_only_negative_ignore_index():
    x, probs = tn.zeros(2, 3), tn.tensor(np.full((2, 3), 1 / 3, np.float32))
    assert F.cross_entropy(x, probs, ignore_index=-1).item() == pytest.approx(np.log(3))
    with pytest.raises(ValueError, match="ignore_index=0 is not supported"):
        F.cross_entropy(x, probs, ignore_index=0)

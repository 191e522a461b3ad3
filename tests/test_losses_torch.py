"""Parity with PyTorch for every loss and option combination: values, input gradients and
target gradients, in float32 and float64. Skipped when torch is not installed.

The largest absolute and relative differences seen per loss and dtype are printed at the
end of the module (run with -s to see them).
"""
import itertools
from collections import defaultdict

import numpy as np
import pytest

import tinynet as tn
import tinynet.nn.functional as F
from test_losses import CE_CASES, ELEMENTWISE_SHAPES, NLL_CASES, REDUCTIONS, _binary_case, \
    _class_case

torch = pytest.importorskip("torch")
TF = torch.nn.functional

DTYPES = [pytest.param(np.float64, id="f64"), pytest.param(np.float32, id="f32")]
TOLERANCE = {np.float64: (1e-12, 1e-10), np.float32: (2e-6, 2e-5)}  # (atol, rtol)
MEASURED = defaultdict(lambda: [0.0, 0.0])  # (loss, dtype) -> [max abs, max rel difference]


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    print("\nlargest differences from torch (abs, rel):")
    for (name, dtype), (abs_diff, rel_diff) in sorted(MEASURED.items()):
        print(f"  {name:34s} {dtype:8s} {abs_diff:.3e}  {rel_diff:.3e}")


def _compare(name, ours, theirs, dtype):
    """Assert ours ≈ theirs (arrays, nan where both are nan) and record the differences."""
    ours = ours.numpy() if isinstance(ours, tn.Tensor) else ours
    theirs = theirs.detach().numpy()
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    ours, theirs = ours.astype(np.float64), theirs.astype(np.float64)
    both = np.isfinite(ours) & np.isfinite(theirs)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    diff = np.abs(ours - theirs)[both]
    if diff.size:
        record = MEASURED[(name, np.dtype(dtype).name)]
        record[0] = max(record[0], float(diff.max()))
        record[1] = max(record[1], float((diff / np.maximum(np.abs(theirs[both]), 1e-30)).max()))
    atol, rtol = TOLERANCE[dtype]
    np.testing.assert_allclose(ours, theirs, atol=atol, rtol=rtol)


def _pair(array, dtype, requires_grad=False):
    """One array as a tinynet tensor and a torch tensor (or None twice)."""
    if array is None:
        return None, None
    array = np.asarray(array)
    if array.dtype.kind == "f":
        array = array.astype(dtype)
    ours = tn.tensor(array, requires_grad=requires_grad)
    theirs = torch.tensor(array, requires_grad=requires_grad)
    return ours, theirs


def _check(name, dtype, ours_fn, theirs_fn, arrays, grad_of):
    """Run both frameworks on the same arrays; compare the loss and the gradients of the
    arrays whose index is in ``grad_of``."""
    pairs = [_pair(a, dtype, i in grad_of) for i, a in enumerate(arrays)]
    ours = ours_fn(*[p[0] for p in pairs])
    theirs = theirs_fn(*[p[1] for p in pairs])
    _compare(name, ours, theirs, dtype)
    ours.sum().backward()
    theirs.sum().backward()
    for i in grad_of:
        _compare(name + " grad", pairs[i][0].grad, pairs[i][1].grad, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,kind,weighted,ignore,smoothing,reduction", CE_CASES)
def test_cross_entropy(shape, kind, weighted, ignore, smoothing, reduction, dtype):
    x, target, weight, ignore_index = _class_case(shape, kind, weighted, ignore, smoothing,
                                                  reduction)
    options = dict(ignore_index=ignore_index, reduction=reduction, label_smoothing=smoothing)
    _check("cross_entropy", dtype,
           lambda x, t, w: F.cross_entropy(x, t, weight=w, **options),
           lambda x, t, w: TF.cross_entropy(x, t, weight=w, **options),
           (x, target, weight), grad_of=(0, 1) if kind == "prob" else (0,))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,weighted,ignore,reduction", NLL_CASES)
def test_nll_loss(shape, weighted, ignore, reduction, dtype):
    x, target, weight, ignore_index = _class_case(shape, "index", weighted, ignore, 0.0,
                                                  reduction)
    options = dict(ignore_index=ignore_index, reduction=reduction)
    _check("nll_loss", dtype,
           lambda x, t, w: F.nll_loss(x, t, weight=w, **options),
           lambda x, t, w: TF.nll_loss(x, t, weight=w, **options),
           (x, target, weight), grad_of=(0,))


BINARY = list(itertools.product(ELEMENTWISE_SHAPES, [False, True], REDUCTIONS))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,weighted,reduction", BINARY, ids=str)
def test_binary_cross_entropy(shape, weighted, reduction, dtype):
    p, y, weight = _binary_case(shape, weighted)
    _check("binary_cross_entropy", dtype,
           lambda p, y, w: F.binary_cross_entropy(p, y, weight=w, reduction=reduction),
           lambda p, y, w: TF.binary_cross_entropy(p, y, weight=w, reduction=reduction),
           (p, y, weight), grad_of=(0, 1))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_at_zero_and_one(reduction, dtype):
    p = np.array([0.0, 1.0, 0.0, 1.0, 1e-30, 1 - 1e-7, 0.5])
    y = np.array([0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.25])
    _check("binary_cross_entropy p in {0, 1}", dtype,
           lambda p, y: F.binary_cross_entropy(p, y, reduction=reduction),
           lambda p, y: TF.binary_cross_entropy(p, y, reduction=reduction),
           (p, y), grad_of=(0,))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("pos_weighted", [False, True], ids=["pw0", "pw1"])
@pytest.mark.parametrize("shape,weighted,reduction", BINARY, ids=str)
def test_binary_cross_entropy_with_logits(shape, weighted, reduction, pos_weighted, dtype):
    _, y, weight = _binary_case(shape, weighted)
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape) * 3
    pos_weight = rng.uniform(0.5, 3.0, shape[-1:]) if pos_weighted else None
    options = dict(reduction=reduction)
    _check("binary_cross_entropy_with_logits", dtype,
           lambda x, y, w, pw: F.binary_cross_entropy_with_logits(x, y, w, pw, **options),
           lambda x, y, w, pw: TF.binary_cross_entropy_with_logits(x, y, w, pos_weight=pw,
                                                                   **options),
           (x, y, weight, pos_weight), grad_of=(0, 1))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", ELEMENTWISE_SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss(shape, reduction, dtype):
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal(shape), rng.standard_normal(shape)
    _check("mse_loss", dtype, lambda x, y: F.mse_loss(x, y, reduction=reduction),
           lambda x, y: TF.mse_loss(x, y, reduction=reduction), (x, y), grad_of=(0, 1))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax(name, dim, dtype):
    x = np.random.default_rng(5).standard_normal((3, 4, 5)) * 4
    rng_grad = np.random.default_rng(6).standard_normal((3, 4, 5))
    _check(name, dtype, lambda x, g: getattr(F, name)(x, dim) * g,
           lambda x, g: getattr(TF, name)(x, dim) * g, (x, rng_grad), grad_of=(0,))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_extreme_logits(reduction, smoothing, dtype):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [-1e4, -1e4, -1e4], [3.0, 1e4, -2.0]])
    y = np.array([1, 0, 2, 1])
    options = dict(reduction=reduction, label_smoothing=smoothing)
    _check("cross_entropy at ±1e4", dtype, lambda x, y: F.cross_entropy(x, y, **options),
           lambda x, y: TF.cross_entropy(x, y, **options), (x, y), grad_of=(0,))
    _check("bce_with_logits at ±1e4", dtype,
           lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction=reduction),
           lambda x, t: TF.binary_cross_entropy_with_logits(x, t, reduction=reduction),
           (x, np.eye(4, 3)), grad_of=(0, 1))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_all_targets_ignored(reduction, weighted, smoothing, dtype):
    """The mean is nan and the gradient zero, in both frameworks."""
    x = np.random.default_rng(8).standard_normal((3, 4))
    weight = np.array([0.5, 1.0, 2.0, 3.0]) if weighted else None
    options = dict(reduction=reduction, label_smoothing=smoothing)
    _check("cross_entropy all ignored", dtype,
           lambda x, y, w: F.cross_entropy(x, y, weight=w, **options),
           lambda x, y, w: TF.cross_entropy(x, y, weight=w, **options),
           (x, np.full(3, -100), weight), grad_of=(0,))

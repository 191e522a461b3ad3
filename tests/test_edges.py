"""Edges that random graphs and hostile inputs found: each gives PyTorch's result or the
clear error PyTorch raises, never an internal error or a silently wrong number."""
import numpy as np
import pytest

import tinynet as tn
import tinynet.nn.functional as F
from conftest import to_numpy


@pytest.mark.parametrize("bad", [np.inf, np.nan])
@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
def test_an_inf_or_nan_weight_of_an_absent_class_leaves_the_loss_finite(backend, bad, fn):
    """Inverse-frequency weights give inf to a class with no samples: PyTorch's loss stays
    finite when that class does not occur in the batch."""
    rng = np.random.default_rng(0)
    x = tn.tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    y = tn.tensor([0, 1, 1, 0])
    w = tn.tensor([1.0, 2.0, bad])
    inputs = x if fn == "cross_entropy" else F.log_softmax(x, 1)
    for reduction in ("mean", "sum", "none"):
        loss = getattr(F, fn)(inputs, y, weight=w, reduction=reduction)
        assert np.isfinite(to_numpy(loss)).all(), reduction
    loss = getattr(F, fn)(inputs, y, weight=w)
    loss.backward()
    assert np.isfinite(to_numpy(x.grad)).all()
    logp = np.log(np.exp(x.numpy()) / np.exp(x.numpy()).sum(1, keepdims=True))
    weights = np.array([1.0, 2.0, 2.0, 1.0])
    expected = -(weights * logp[np.arange(4), [0, 1, 1, 0]]).sum() / weights.sum()
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-5)


@pytest.mark.parametrize("target", [1.5, -0.1, np.nan])
def test_binary_cross_entropy_refuses_targets_outside_zero_one(backend, target):
    p = tn.tensor([0.5, 0.2])
    with pytest.raises(ValueError, match="target should be between 0 and 1"):
        F.binary_cross_entropy(p, tn.tensor([target, 1.0])).item()


def test_zero_powers_have_zero_gradients(backend):
    x = tn.tensor([0.0, 2.0], requires_grad=True)
    (x ** 0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0])
    a, b = tn.tensor([0.0, 2.0], requires_grad=True), tn.tensor([0.0, 0.0], requires_grad=True)
    (a ** b).sum().backward()
    assert np.isfinite(a.grad.numpy()).all() and a.grad.numpy().tolist() == [0, 0]
    np.testing.assert_allclose(b.grad.numpy(), [0, np.log(2)], rtol=1e-6)


def test_sizes_must_be_integers(backend):
    for make in (tn.zeros, tn.ones, tn.randn, tn.rand, tn.empty):
        with pytest.raises(TypeError, match="integers"):
            make(2.5)
    assert tn.zeros(tn.tensor(3)).shape == (3,) and tn.zeros(np.int64(2), 3).shape == (2, 3)


def test_an_empty_dim_tuple_reduces_everything(backend):
    x = tn.tensor(np.arange(6.0).reshape(2, 3))
    assert x.sum(dim=()).item() == 15 and x.mean(dim=()).item() == 2.5
    assert x.sum(axis=[]).item() == 15


def test_maximum_with_nan_routes_the_gradient_as_pytorch(backend):
    a = tn.tensor([1.0, np.nan, 3.0, 2.0], requires_grad=True)
    b = tn.tensor([2.0, 1.0, np.nan, 2.0], requires_grad=True)
    tn.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0, 1, 1, 0.5])   # PyTorch's values
    np.testing.assert_array_equal(b.grad.numpy(), [1, 1, 1, 0.5])


def test_reductions_with_an_axis_on_0d_tensors(backend):
    x = tn.tensor(3.0, requires_grad=True)
    for dim in (0, -1):
        assert x.sum(dim).item() == 3 and x.mean(dim).item() == 3
        assert x.max(dim=dim).values.item() == 3 and x.max(dim=dim).indices.item() == 0
        assert x.argmax(dim).item() == 0 and x.softmax(dim).item() == 1
    x.sum(0).backward()
    assert x.grad.item() == 1
    with pytest.raises(IndexError, match="out of range"):
        x.sum(1)


def test_transpose_edges(backend):
    x = tn.ones(2, 3)
    assert x.transpose(1, 1) is x and x.transpose(0, -2) is x
    v = tn.ones(3)
    assert v.transpose(0, 0) is v and v.transpose(0, -1) is v
    with pytest.raises(IndexError, match=r"dimension 1 is out of range.*\(3,\)"):
        v.transpose(0, 1)


def test_cat_of_0d_tensors_is_a_clear_error(backend):
    with pytest.raises(ValueError, match="zero-dimensional tensor .*position 0.*tn.stack"):
        tn.cat([tn.tensor(1.0), tn.tensor(2.0)])
    assert tn.stack([tn.tensor(1.0), tn.tensor(2.0)]).tolist() == [1, 2]


def test_empty_batches(backend):
    x = tn.zeros(0, 10, requires_grad=True)
    assert x.max(axis=1).shape == (0,) and x.max(dim=1).indices.shape == (0,)
    assert x.softmax(1).shape == (0, 10) and tn.zeros(2, 0).softmax(1).shape == (2, 0)
    assert tn.zeros(2, 0).log_softmax(-1).shape == (2, 0)
    x.max(axis=1).sum().backward()
    assert x.grad.shape == (0, 10)
    with pytest.raises(ValueError, match=r"axis of size 0"):
        tn.zeros(3, 0).max(axis=1)


def test_edges_match_pytorch():
    torch = pytest.importorskip("torch")
    cases = [lambda m: m.tensor(3.0).sum(0), lambda m: m.ones(2, 3).sum(dim=()),
             lambda m: m.zeros(0, 10).amax(1) if hasattr(m.zeros(1), "amax")
             else m.zeros(0, 10).max(axis=1), lambda m: m.ones(3).transpose(0, 0)]
    for case in cases:
        np.testing.assert_array_equal(to_numpy(case(tn)), case(torch).numpy())

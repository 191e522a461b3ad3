"""Every differentiable op, from one table: forward against NumPy, gradient by gradcheck.

Each row is (name, tinynet function, NumPy reference, input domain, shapes). Adding an op
costs one line here. Gradients are checked by central differences in float64 over shapes
that include scalars, size-1 axes and broadcasting; forward values in float32 too.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinynet as tn
from conftest import to_numpy

POS = (0.5, 2.0)      # domain for log, sqrt, division, powers
ANY = (-2.0, 2.0)
AWAY = "away"          # values kept away from kinks (abs, relu, clip, max ties)

UNARY = [
    ("neg", lambda x: -x, lambda x: -x, ANY),
    ("exp", tn.exp, np.exp, ANY),
    ("log", tn.log, np.log, POS),
    ("sqrt", tn.sqrt, np.sqrt, POS),
    ("abs", tn.abs, np.abs, AWAY),
    ("tanh", tn.tanh, np.tanh, ANY),
    ("sigmoid", tn.sigmoid, lambda x: 1 / (1 + np.exp(-x)), ANY),
    ("relu", tn.relu, lambda x: np.maximum(x, 0), AWAY),
    ("clip", lambda x: x.clip(-0.5, 0.7), lambda x: np.clip(x, -0.5, 0.7), AWAY),
    ("clip_min", lambda x: tn.clip(x, min=-0.5), lambda x: np.maximum(x, -0.5), AWAY),
    ("pow2", lambda x: x ** 2, lambda x: x ** 2, ANY),
    ("pow_frac", lambda x: x ** 1.5, lambda x: x ** 1.5, POS),
    ("pow_neg", lambda x: x ** -2, lambda x: x ** -2.0, POS),
    ("rpow", lambda x: 2.0 ** x, lambda x: 2.0 ** x, ANY),
    ("scalar_ops", lambda x: (3 - x) * 2 / 4 + 1, lambda x: (3 - x) * 2 / 4 + 1, ANY),
    ("rdiv", lambda x: 1 / x, lambda x: 1 / x, POS),
    ("sum", lambda x: x.sum(), np.sum, ANY),
    ("mean", lambda x: x.mean(), np.mean, ANY),
    ("max", lambda x: x.max(), np.max, AWAY),
    ("sum_last", lambda x: x.sum(-1), lambda x: x.sum(-1), ANY),
    ("sum_keep", lambda x: x.sum(axis=0, keepdims=True), lambda x: x.sum(0, keepdims=True),
     ANY),
    ("mean_dim", lambda x: x.mean(dim=-1, keepdim=True), lambda x: x.mean(-1, keepdims=True),
     ANY),
    ("max_axis", lambda x: x.max(axis=-1), lambda x: x.max(-1), AWAY),
    ("max_dim", lambda x: x.max(dim=0).values, lambda x: x.max(0), AWAY),
    ("reshape", lambda x: x.reshape(-1), lambda x: x.reshape(-1), ANY),
    ("flatten", lambda x: x.flatten(), lambda x: x.reshape(-1), ANY),
    ("transpose", lambda x: x.transpose(0, -1), lambda x: np.swapaxes(x, 0, -1), ANY),
    ("T", lambda x: x.T, lambda x: x.T, ANY),
    ("getitem", lambda x: x[0], lambda x: x[0], ANY),
    ("getitem_slice", lambda x: x[::-1, 1:], lambda x: x[::-1, 1:], ANY),
    ("getitem_array", lambda x: x[tn.tensor([0, -1, 0])],
     lambda x: x[np.array([0, -1, 0])], ANY),
]
UNARY_SHAPES = [(3, 4), (1, 4), (2, 1, 3)]
REDUCING_ALL = {"sum", "mean", "max", "neg", "exp", "log", "sqrt", "abs", "tanh", "sigmoid",
                "relu", "clip", "clip_min", "pow2", "pow_frac", "pow_neg", "rpow",
                "scalar_ops", "rdiv", "reshape", "flatten"}

BINARY = [
    ("add", lambda a, b: a + b, np.add, ANY),
    ("sub", lambda a, b: a - b, np.subtract, ANY),
    ("mul", lambda a, b: a * b, np.multiply, ANY),
    ("div", lambda a, b: a / b, np.divide, POS),
    ("pow", lambda a, b: a ** b, np.power, POS),
    ("maximum", tn.maximum, np.maximum, AWAY),
    ("where", lambda a, b: tn.where(a > b, a, b), lambda a, b: np.where(a > b, a, b), AWAY),
]
BROADCAST_PAIRS = [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1)),
                   ((), (2, 3)), ((1,), (3, 1))]

MATMUL_SHAPES = [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)),
                 ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((4,), (2, 4, 3)),
                 ((2, 3, 4), (4,)), ((1, 3, 4), (2, 4, 2))]


def _sample(shape, domain, rng, dtype=np.float64):
    if domain == AWAY:  # distinct values, at least 0.1 from 0 and from each other's ties
        n = int(np.prod(shape))
        values = (0.1 + 0.1093 * (rng.permutation(n) + 1)) * rng.choice([-1, 1], n)
        return values.reshape(shape).astype(dtype)
    low, high = domain
    return rng.uniform(low, high, size=shape).astype(dtype)


UNARY_CASES = [pytest.param(*row, shape, id=f"{row[0]}-{shape}") for row in UNARY
               for shape in UNARY_SHAPES + ([()] if row[0] in REDUCING_ALL else [])]


@pytest.mark.parametrize("name,fn,ref,domain,shape", UNARY_CASES)
def test_unary_forward_and_gradient(backend, name, fn, ref, domain, shape):
    rng = np.random.default_rng(0)
    x = _sample(shape, domain, rng)
    out32 = fn(tn.tensor(x.astype(np.float32)))
    assert out32.dtype == np.float32, f"{name} upcast float32 to {out32.dtype}"
    np.testing.assert_allclose(to_numpy(out32), ref(x), rtol=1e-5, atol=1e-6)
    assert tn.gradcheck(fn, (tn.tensor(x, requires_grad=True),))


@pytest.mark.parametrize("name,fn,ref,domain", BINARY, ids=[r[0] for r in BINARY])
@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
def test_binary_broadcasting(backend, name, fn, ref, domain, shapes):
    rng = np.random.default_rng(1)
    a, b = (_sample(s, domain, rng) for s in shapes)
    if domain == AWAY:
        b = b + 0.031  # no ties between a and b: maximum and where have kinks there
    out = fn(tn.tensor(a.astype(np.float32)), tn.tensor(b.astype(np.float32)))
    assert out.dtype == np.float32 and out.shape == np.broadcast_shapes(*shapes)
    np.testing.assert_allclose(to_numpy(out), ref(a, b), rtol=1e-5, atol=1e-6)
    ta, tb = tn.tensor(a, requires_grad=True), tn.tensor(b, requires_grad=True)
    assert tn.gradcheck(fn, (ta, tb))
    fn(ta, tb).sum().backward()
    assert ta.grad.shape == a.shape and tb.grad.shape == b.shape
    assert ta.grad.dtype == np.float64


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul(backend, shapes):
    rng = np.random.default_rng(2)
    a, b = (rng.standard_normal(s) for s in shapes)
    out = tn.tensor(a.astype(np.float32)) @ tn.tensor(b.astype(np.float32))
    np.testing.assert_allclose(to_numpy(out), a @ b, rtol=1e-5, atol=1e-5)
    assert tn.gradcheck(lambda x, y: x @ y,
                        (tn.tensor(a, requires_grad=True), tn.tensor(b, requires_grad=True)))


def test_cat_stack(backend):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 1))
    ta, tb = tn.tensor(a, requires_grad=True), tn.tensor(b, requires_grad=True)
    np.testing.assert_allclose(to_numpy(tn.cat([ta, tb], 1)), np.concatenate([a, b], 1))
    assert tn.gradcheck(lambda x, y: tn.cat([x, y * 2], 1) ** 2, (ta, tb))
    c = tn.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    np.testing.assert_allclose(to_numpy(tn.stack([ta, c], 1)), np.stack([a, c.numpy()], 1))
    assert tn.gradcheck(lambda x, y: tn.stack([x, y], -1).tanh(), (ta, c))


def test_permute_and_view(backend):
    x = tn.tensor(np.random.default_rng(4).standard_normal((2, 3, 4)), requires_grad=True)
    np.testing.assert_allclose(to_numpy(x.permute(2, 0, 1)),
                               np.transpose(x.numpy(), (2, 0, 1)))
    assert tn.gradcheck(lambda t: t.permute((1, 2, 0)).view(3, 8) * 3, (x,))
    assert x.flatten(1).shape == (2, 12)


def test_repeated_indices_accumulate(backend):
    x = tn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[tn.tensor([0, 0, 2, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 0.0, 1.0])


def test_two_array_index(backend):
    x = tn.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    rows, cols = tn.tensor([0, 2, 2]), tn.tensor([1, 3, 3])
    y = x[rows, cols]
    np.testing.assert_array_equal(y.numpy(), [1.0, 11.0, 11.0])
    y.sum().backward()
    assert x.grad.numpy()[2, 3] == 2.0 and x.grad.numpy().sum() == 3.0


def test_max_ties_share_gradient(backend):
    x = tn.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    values, indices = x.max(1)
    assert indices.numpy().tolist() == [1, 0]


def test_maximum_ties_split_evenly(backend):
    a, b = tn.tensor([1.0, 2.0], requires_grad=True), tn.tensor([1.0, 1.0], requires_grad=True)
    tn.maximum(a, b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [0.5, 1.0])
    np.testing.assert_allclose(b.grad.numpy(), [0.5, 0.0])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 3), min_size=0, max_size=3),
       st.lists(st.booleans(), min_size=3, max_size=3))
def test_broadcast_gradient_shapes_property(shape, squeeze):
    """For any shape and any way of making it broadcastable, a*b's gradients match shapes."""
    other = [1 if s else n for n, s in zip(shape, squeeze)][: len(shape)]
    rng = np.random.default_rng(5)
    a = tn.tensor(rng.standard_normal(shape), requires_grad=True)
    b = tn.tensor(rng.standard_normal(other[1:] if other else ()), requires_grad=True)
    assert tn.gradcheck(lambda x, y: x * y + y, (a, b))
    (a * b + b).sum().backward()
    assert a.grad.shape == tuple(shape) and b.grad.shape == b.shape

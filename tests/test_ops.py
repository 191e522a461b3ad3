"""Every differentiable op, from one table: forward against NumPy, gradient by gradcheck.

Each row of ``OPS`` names the op classes it exercises, a tinynet function, a NumPy
reference, the input domain and the input shapes. Adding an op costs one row here, and a
test fails, naming the class, when a Function subclass in ``tinynet/ops/`` has no row.
Gradients are checked by central differences in float64 over shapes that include scalars,
size-1 axes and broadcasting; forward values in float32, which must stay float32.
"""
import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinynet as tn
import tinynet.nn.functional as F
from tinynet import ops
from tinynet.autograd import Function
from conftest import to_numpy

POS = (0.5, 2.0)      # domain for log, sqrt, division, powers
ANY = (-2.0, 2.0)
PROB = (0.05, 0.95)   # probabilities, for binary cross-entropy
AWAY = "away"          # values kept away from kinks (abs, relu, clip, max ties)

UNARY_SHAPES = [(3, 4), (1, 4), (2, 1, 3)]
WITH_SCALAR = UNARY_SHAPES + [()]
BROADCAST_PAIRS = [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1)),
                   ((), (2, 3)), ((1,), (3, 1))]
MATMUL_SHAPES = [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)),
                 ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((4,), (2, 4, 3)),
                 ((2, 3, 4), (4,)), ((1, 3, 4), (2, 4, 2))]


@dataclass
class Row:
    name: str
    ops: tuple                     # the Function classes this row exercises
    fn: Callable                   # tinynet, on Tensors
    ref: Callable                  # NumPy, on float64 arrays
    domain: object
    shapes: list                   # each entry: one shape per input
    grad_tol: dict = field(default_factory=dict)   # gradcheck's eps/atol/rtol, if not default


def unary(name, op_classes, fn, ref, domain, shapes=UNARY_SHAPES, **kw):
    return Row(name, op_classes, fn, ref, domain, [(s,) for s in shapes], **kw)


def binary(name, op_classes, fn, ref, domain, pairs=BROADCAST_PAIRS, **kw):
    return Row(name, op_classes, fn, ref, domain, list(pairs), **kw)


# ---- NumPy references of the ops that NumPy does not have --------------------------------
def np_log_softmax(x, axis=-1):
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def labels(shape):
    """Class indices for logits of ``shape`` (class axis 1): 0, 1, 2, ... modulo C."""
    n = shape[:1] + shape[2:]
    return (np.arange(int(np.prod(n))) % shape[1]).reshape(n)


def targets(shape):
    """Fixed values in [0, 1] shaped like the input (binary targets and MSE targets)."""
    return (np.arange(int(np.prod(shape))) % 3 / 2.0).reshape(shape)


def np_cross_entropy(x):
    logp, y = np_log_softmax(x, axis=1), labels(x.shape)
    return -np.take_along_axis(logp, np.expand_dims(y, 1), axis=1).mean()


def np_nll(x):
    return -np.take_along_axis(x, np.expand_dims(labels(x.shape), 1), axis=1).mean()


def np_bce(p):
    y = targets(p.shape)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()


def np_bce_logits(x):
    y = targets(x.shape)
    return (np.logaddexp(0, x) - y * x).mean()


def dropout_mask(shape):
    """The mask F.dropout(p=0.5) draws right after tn.manual_seed(0), for float32 input."""
    return (np.random.default_rng(0).random(shape, dtype=np.float32) >= 0.5) * 2.0


def seeded_dropout(x):
    tn.manual_seed(0)  # the same mask on every call, so central differences see one function
    return F.dropout(x, 0.5)


def np_conv2d(x, w, b=None, stride=(1, 1), padding=(0, 0)):
    """The definition: y[n, o] = b[o] + Σ_{c,p,q} w[o, c, p, q] x[n, c, i·sh + p, j·sw + q]."""
    (sh, sw), (ph, pw) = stride, padding
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    (kh, kw), (h, w_) = w.shape[2:], x.shape[2:]
    oh, ow = (h - kh) // sh + 1, (w_ - kw) // sw + 1
    y = sum(np.einsum("nchw,oc->nohw", x[:, :, p:p + sh * oh:sh, q:q + sw * ow:sw], w[:, :, p, q])
            for p in range(kh) for q in range(kw))
    return y if b is None else y + b[:, None, None]


def np_pool(reduce, x, kernel, stride, padding, fill):
    """Every window's values stacked on a last axis, then reduced (max or mean)."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    oh, ow = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    windows = [x[:, :, p:p + sh * oh:sh, q:q + sw * ow:sw] for p in range(kh) for q in range(kw)]
    return reduce(np.stack(windows, -1), axis=-1)


def np_batch_norm(x, mean=None, var=None, w=None, b=None, eps=1e-5):
    """(x - μ)/sqrt(σ² + eps)·w + b per channel (axis 1); batch statistics unless given."""
    axes, shape = (0,) + tuple(range(2, x.ndim)), (1, -1) + (1,) * (x.ndim - 2)
    mean = x.mean(axes) if mean is None else mean
    var = x.var(axes) if var is None else var
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    return y if w is None else y * w.reshape(shape) + b.reshape(shape)


RUNNING_MEAN, RUNNING_VAR = np.array([0.1, -0.2, 0.3]), np.array([0.5, 1.5, 2.0])


def running(values, x):
    return tn.tensor(values, dtype=float_dtype(x), device=x.device)


def other_device(x):
    return "strict" if x.device == "cpu" else "cpu"


def float_dtype(x):
    return tn.float64 if x.dtype == np.float64 else tn.float32


OPS = [
    unary("neg", (ops.Neg,), lambda x: -x, lambda x: -x, ANY, WITH_SCALAR),
    unary("exp", (ops.Exp,), tn.exp, np.exp, ANY, WITH_SCALAR),
    unary("log", (ops.Log,), tn.log, np.log, POS, WITH_SCALAR),
    unary("sqrt", (ops.Sqrt,), tn.sqrt, np.sqrt, POS, WITH_SCALAR),
    unary("abs", (ops.Abs,), tn.abs, np.abs, AWAY, WITH_SCALAR),
    unary("sin", (ops.Sin,), tn.sin, np.sin, ANY, WITH_SCALAR),
    unary("cos", (ops.Cos,), tn.cos, np.cos, ANY, WITH_SCALAR),
    unary("log10", (ops.Log, ops.Mul), tn.log10, np.log10, POS, WITH_SCALAR),
    unary("clone", (ops.Clone,), lambda x: x.clone() * 2, lambda x: x * 2, ANY, WITH_SCALAR),
    unary("on_backward", (ops.OnBackward,),
          lambda x: ops.OnBackward.apply(x, callback=lambda: None) * 2, lambda x: x * 2, ANY,
          WITH_SCALAR),
    unary("tanh", (ops.Tanh,), tn.tanh, np.tanh, ANY, WITH_SCALAR),
    unary("sigmoid", (ops.Sigmoid,), tn.sigmoid, lambda x: 1 / (1 + np.exp(-x)), ANY,
          WITH_SCALAR),
    unary("relu", (ops.ReLU,), tn.relu, lambda x: np.maximum(x, 0), AWAY, WITH_SCALAR),
    unary("clip", (ops.Clip,), lambda x: x.clip(-0.5, 0.7), lambda x: np.clip(x, -0.5, 0.7),
          AWAY, WITH_SCALAR),
    unary("clip_min", (ops.Clip,), lambda x: tn.clip(x, min=-0.5),
          lambda x: np.maximum(x, -0.5), AWAY, WITH_SCALAR),
    unary("dropout", (ops.Dropout,), seeded_dropout, lambda x: x * dropout_mask(x.shape), ANY),
    unary("pow2", (ops.PowScalar,), lambda x: x ** 2, lambda x: x ** 2, ANY, WITH_SCALAR),
    unary("pow_frac", (ops.PowScalar,), lambda x: x ** 1.5, lambda x: x ** 1.5, POS,
          WITH_SCALAR),
    unary("pow_neg", (ops.PowScalar,), lambda x: x ** -2, lambda x: x ** -2.0, POS,
          WITH_SCALAR),
    unary("rpow", (ops.Pow,), lambda x: 2.0 ** x, lambda x: 2.0 ** x, ANY, WITH_SCALAR),
    unary("scalar_ops", (ops.Sub, ops.Mul, ops.Div, ops.Add),
          lambda x: (3 - x) * 2 / 4 + 1, lambda x: (3 - x) * 2 / 4 + 1, ANY, WITH_SCALAR),
    unary("rdiv", (ops.Div,), lambda x: 1 / x, lambda x: 1 / x, POS, WITH_SCALAR),
    unary("sum", (ops.Sum,), lambda x: x.sum(), np.sum, ANY, WITH_SCALAR),
    unary("mean", (ops.Mean,), lambda x: x.mean(), np.mean, ANY, WITH_SCALAR),
    unary("max", (ops.Max,), lambda x: x.max(), np.max, AWAY, WITH_SCALAR),
    unary("sum_last", (ops.Sum,), lambda x: x.sum(-1), lambda x: x.sum(-1), ANY),
    unary("sum_keep", (ops.Sum,), lambda x: x.sum(axis=0, keepdims=True),
          lambda x: x.sum(0, keepdims=True), ANY),
    unary("mean_dim", (ops.Mean,), lambda x: x.mean(dim=-1, keepdim=True),
          lambda x: x.mean(-1, keepdims=True), ANY),
    unary("max_axis", (ops.Max,), lambda x: x.max(axis=-1), lambda x: x.max(-1), AWAY),
    unary("max_dim", (ops.Max,), lambda x: x.max(dim=0).values, lambda x: x.max(0), AWAY),
    unary("reshape", (ops.Reshape,), lambda x: x.reshape(-1), lambda x: x.reshape(-1), ANY,
          WITH_SCALAR),
    unary("flatten", (ops.Reshape,), lambda x: x.flatten(), lambda x: x.reshape(-1), ANY,
          WITH_SCALAR),
    unary("transpose", (ops.Permute,), lambda x: x.transpose(0, -1),
          lambda x: np.swapaxes(x, 0, -1), ANY),
    unary("T", (ops.Permute,), lambda x: x.T, lambda x: x.T, ANY),
    unary("getitem", (ops.GetItem,), lambda x: x[0], lambda x: x[0], ANY),
    unary("getitem_slice", (ops.GetItem,), lambda x: x[::-1, 1:], lambda x: x[::-1, 1:], ANY),
    unary("getitem_array", (ops.GetItem,), lambda x: x[tn.tensor([0, -1, 0])],
          lambda x: x[np.array([0, -1, 0])], ANY),
    unary("softmax", (ops.Softmax,), lambda x: x.softmax(-1),
          lambda x: np.exp(np_log_softmax(x)), ANY),
    unary("softmax_dim0", (ops.Softmax,), lambda x: F.softmax(x, 0),
          lambda x: np.exp(np_log_softmax(x, 0)), ANY),
    unary("log_softmax", (ops.LogSoftmax,), lambda x: F.log_softmax(x, -1), np_log_softmax,
          ANY),
    unary("cast", (ops.Cast,), lambda x: x.to(tn.float32) * 2, lambda x: x * 2, ANY,
          grad_tol=dict(eps=1e-2, atol=1e-3)),   # a float64 input is cast to float32
    unary("to_device", (ops.ToDevice,), lambda x: x.to(other_device(x)).exp().to(x.device),
          np.exp, ANY),
    unary("cross_entropy", (ops.SoftmaxCrossEntropy,), lambda x: F.cross_entropy(
        x, tn.tensor(labels(x.shape), device=x.device)), np_cross_entropy, ANY,
        [(3, 4), (2, 3, 2)]),
    unary("nll_loss", (ops.NLLLoss,), lambda x: F.nll_loss(
        x, tn.tensor(labels(x.shape), device=x.device)), np_nll, ANY, [(3, 4), (2, 3, 2)]),
    unary("binary_cross_entropy", (ops.BinaryCrossEntropy,),
          lambda p: F.binary_cross_entropy(p, tn.tensor(targets(p.shape), dtype=float_dtype(p),
                                                        device=p.device)), np_bce, PROB),
    unary("bce_with_logits", (ops.BinaryCrossEntropyWithLogits,),
          lambda x: F.binary_cross_entropy_with_logits(
              x, tn.tensor(targets(x.shape), dtype=float_dtype(x), device=x.device)),
          np_bce_logits, ANY),
    unary("mse_loss", (ops.MSELoss,), lambda x: F.mse_loss(
        x, tn.tensor(targets(x.shape), dtype=float_dtype(x), device=x.device)),
        lambda x: ((x - targets(x.shape)) ** 2).mean(), ANY),
    binary("add", (ops.Add,), lambda a, b: a + b, np.add, ANY),
    binary("sub", (ops.Sub,), lambda a, b: a - b, np.subtract, ANY),
    binary("mul", (ops.Mul,), lambda a, b: a * b, np.multiply, ANY),
    binary("div", (ops.Div,), lambda a, b: a / b, np.divide, POS),
    binary("pow", (ops.Pow,), lambda a, b: a ** b, np.power, POS),
    binary("maximum", (ops.Maximum,), tn.maximum, np.maximum, AWAY),
    binary("where", (ops.Where,), lambda a, b: tn.where(a > b, a, b),
           lambda a, b: np.where(a > b, a, b), AWAY),
    binary("matmul", (ops.MatMul,), lambda a, b: a @ b, np.matmul, ANY, MATMUL_SHAPES),
    binary("cat", (ops.Cat,), lambda a, b: tn.cat([a, b * 2], 1) ** 2,
           lambda a, b: np.concatenate([a, b * 2], 1) ** 2, ANY, [((2, 3), (2, 1))]),
    binary("stack", (ops.Stack,), lambda a, b: tn.stack([a, b], -1).tanh(),
           lambda a, b: np.tanh(np.stack([a, b], -1)), ANY, [((2, 3), (2, 3))]),
    binary("linear_no_bias", (ops.Linear,), F.linear, lambda x, w: x @ w.T, ANY,
           [((3, 4), (5, 4)), ((2, 3, 4), (5, 4)), ((4,), (2, 4))]),
    Row("linear", (ops.Linear,), F.linear, lambda x, w, b: x @ w.T + b, ANY,
        [((3, 4), (5, 4), (5,)), ((2, 3, 4), (5, 4), (5,))]),
    Row("conv2d", (ops.Conv2d,), lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=(1, 0)),
        lambda x, w, b: np_conv2d(x, w, b, (2, 1), (1, 0)), ANY,
        [((2, 3, 5, 4), (4, 3, 3, 2), (4,)), ((1, 1, 3, 3), (2, 1, 3, 3), (2,))]),
    binary("conv2d_no_bias", (ops.Conv2d,), lambda x, w: F.conv2d(x, w, padding=1),
           lambda x, w: np_conv2d(x, w, padding=(1, 1)), ANY, [((1, 2, 4, 3), (3, 2, 2, 2))]),
    unary("max_pool2d", (ops.MaxPool2d,), lambda x: F.max_pool2d(x, (2, 3), (1, 2), (1, 1)),
          lambda x: np_pool(np.max, x, (2, 3), (1, 2), (1, 1), -np.inf), AWAY,
          [(2, 3, 4, 5), (1, 1, 3, 3)]),
    unary("max_pool2d_tiled", (ops.MaxPool2d,), lambda x: F.max_pool2d(x, 2),
          lambda x: np_pool(np.max, x, (2, 2), (2, 2), (0, 0), 0), AWAY, [(2, 2, 5, 4)]),
    unary("avg_pool2d", (ops.AvgPool2d,), lambda x: F.avg_pool2d(x, (3, 2), (2, 1), (1, 1)),
          lambda x: np_pool(np.mean, x, (3, 2), (2, 1), (1, 1), 0), ANY, [(2, 3, 5, 4)]),
    unary("batch_norm", (ops.BatchNorm,), lambda x: F.batch_norm(x, None, None, training=True),
          np_batch_norm, ANY, [(4, 3), (2, 3, 4), (2, 3, 2, 3)]),
    Row("batch_norm_affine", (ops.BatchNorm,),
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        lambda x, w, b: np_batch_norm(x, w=w, b=b), ANY, [((5, 3), (3,), (3,)),
                                                          ((2, 3, 2, 2), (3,), (3,))]),
    Row("batch_norm_eval", (ops.BatchNorm,), lambda x, w, b: F.batch_norm(
        x, running(RUNNING_MEAN, x), running(RUNNING_VAR, x), w, b, training=False),
        lambda x, w, b: np_batch_norm(x, RUNNING_MEAN, RUNNING_VAR, w, b), ANY,
        [((2, 3, 2, 2), (3,), (3,))]),
]
CASES = [pytest.param(row, shapes, id=f"{row.name}-{shapes}") for row in OPS
         for shapes in row.shapes]


def _sample(shape, domain, rng, dtype=np.float64):
    if domain == AWAY:  # distinct values, at least 0.1 from 0 and from each other's ties
        n = int(np.prod(shape))
        values = (0.1 + 0.1093 * (rng.permutation(n) + 1)) * rng.choice([-1, 1], n)
        return values.reshape(shape).astype(dtype)
    low, high = domain
    return rng.uniform(low, high, size=shape).astype(dtype)


def graph_ops(out):
    """The op classes of every node in the graph that produced ``out``."""
    found, stack = set(), [out]
    while stack:
        t = stack.pop()
        if t.grad_fn is not None and type(t.grad_fn) not in found:
            found.add(type(t.grad_fn))
            stack.extend(t.grad_fn.inputs)
    return found


@pytest.mark.parametrize("row,shapes", CASES)
def test_op_forward_and_gradient(backend, row, shapes):
    if row.name == "to_device" and backend.name == "numpy":
        pytest.importorskip("array_api_strict", reason="to_device moves to the strict backend")
    rng = np.random.default_rng(0)
    arrays = [_sample(s, row.domain, rng) for s in shapes]
    if row.domain == AWAY and len(arrays) == 2:
        arrays[1] = arrays[1] + 0.031  # no ties between a and b: maximum and where have kinks
    out32 = row.fn(*[tn.tensor(a.astype(np.float32)) for a in arrays])
    assert out32.dtype == np.float32, f"{row.name} changed float32 to {out32.dtype}"
    np.testing.assert_allclose(to_numpy(out32), row.ref(*arrays), rtol=1e-5, atol=1e-6)

    inputs = [tn.tensor(a, requires_grad=True) for a in arrays]
    assert tn.gradcheck(row.fn, inputs, **row.grad_tol)
    out = row.fn(*inputs)
    missing = set(row.ops) - graph_ops(out)
    assert not missing, f"row {row.name} does not exercise {sorted(c.__name__ for c in missing)}"
    out.sum().backward()
    for t, a in zip(inputs, arrays):
        assert t.grad.shape == a.shape and t.grad.dtype == np.float64


def _op_classes():
    """Every Function subclass defined in a module of tinynet/ops/."""
    found = set()
    for info in pkgutil.iter_modules(ops.__path__):
        module = importlib.import_module(f"tinynet.ops.{info.name}")
        found |= {obj for obj in vars(module).values() if isinstance(obj, type)
                  and issubclass(obj, Function) and obj.__module__ == module.__name__}
    return found


def test_every_op_has_a_row_in_the_table():
    covered = {op for row in OPS for op in row.ops}
    missing = sorted(cls.__name__ for cls in _op_classes() - covered)
    assert not missing, f"Function subclasses in tinynet/ops/ without a row in OPS: {missing}"
    assert len(_op_classes()) >= 30


def test_no_function_subclass_outside_ops():
    """Every graph node of tinynet lives in tinynet/ops/ (the README says so)."""
    import tinynet
    for info in pkgutil.walk_packages(tinynet.__path__, "tinynet."):
        importlib.import_module(info.name)
    outside, stack = [], list(Function.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("tinynet.") and not cls.__module__.startswith("tinynet.ops."):
            outside.append(f"{cls.__module__}.{cls.__name__}")
    assert not outside, f"graph nodes outside tinynet/ops/: {outside}"


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

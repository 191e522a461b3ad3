"""tinynet.nn against PyTorch's contract, without PyTorch: Parameter and Module bookkeeping
(registration, names, state dicts, modes, devices, repr), the layers' values and gradients
on every backend, Dropout's statistics, the loss modules, and tn.nn.init.

Parity with PyTorch itself (same weights -> same outputs and gradients, same keys, same
repr) lives in test_nn_torch.py.
"""
import math
from collections import OrderedDict

import numpy as np
import pytest

import tinynet as tn
import tinynet.nn as nn
import tinynet.nn.functional as F
from conftest import to_numpy


class Net(nn.Module):
    """A custom module: two Linears around a parameterless activation, plus a plain tensor
    attribute (a constant, not a parameter) and a nested Sequential."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.act = nn.ReLU()
        self.scale = tn.tensor(2.0)  # a plain Tensor: not registered as a parameter
        self.head = nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))

    def forward(self, x, shift=0.0):
        return self.head(self.act(self.fc1(x))) * self.scale + shift


def mlp():
    return nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Dropout(0.5), nn.Linear(5, 3))


# ---- Parameter and registration ----------------------------------------------------------
@pytest.mark.parametrize("data", [np.ones((2, 3), np.float32), tn.ones(2, 3)])
def test_parameter_is_a_tensor_that_requires_grad(data):
    p = nn.Parameter(data)
    assert isinstance(p, tn.Tensor)
    assert p.requires_grad and p.is_leaf
    assert p.shape == (2, 3) and p.dtype == np.float32
    np.testing.assert_array_equal(to_numpy(p), np.ones((2, 3)))


def test_named_parameters_follow_pytorch_names():
    names = [name for name, _ in Net().named_parameters()]
    assert names == ["fc1.weight", "fc1.bias", "head.0.weight", "head.0.bias",
                     "head.2.weight", "head.2.bias"]
    # Inside Sequential, parameterless modules (ReLU, Dropout) still take an index.
    assert [name for name, _ in mlp().named_parameters()] == [
        "0.weight", "0.bias", "3.weight", "3.bias"]


def test_parameters_are_the_attributes_themselves():
    net = Net()
    params = list(net.parameters())
    expected = [net.fc1.weight, net.fc1.bias, net.head[0].weight, net.head[0].bias,
                net.head[2].weight, net.head[2].bias]
    assert len(params) == len(expected)
    assert all(p is q for p, q in zip(params, expected))
    assert all(isinstance(p, nn.Parameter) for p in params)


def test_reassigning_an_attribute_replaces_it_in_place():
    lin = nn.Linear(3, 2)
    new = nn.Parameter(np.zeros((2, 3), np.float32))
    lin.weight = new
    params = dict(lin.named_parameters())
    assert list(params) == ["weight", "bias"] and params["weight"] is new
    # Replacing a child (a new head for fine-tuning) keeps its place too, as in PyTorch.
    net = Net()
    net.fc1 = nn.Linear(4, 8)
    assert [name for name, _ in net.named_children()] == ["fc1", "act", "head"]
    assert list(net.state_dict())[:2] == ["fc1.weight", "fc1.bias"]


def test_attribute_reads_follow_every_change_of_the_registries():
    """Parameters, buffers and children are read as plain attributes (mirrored in the
    instance dict): every way of changing them must show at once in ``module.name``."""
    import copy
    bn = nn.BatchNorm1d(3)
    net = nn.Sequential(nn.Linear(3, 2), bn)
    lin = net[0]
    new = nn.Parameter(np.ones((2, 3), np.float32))
    lin.weight = new
    assert lin.weight is new and lin._parameters["weight"] is new
    lin.bias = None
    assert lin.bias is None and lin._parameters["bias"] is None
    lin.register_parameter("bias", nn.Parameter(np.zeros(2, np.float32)))
    assert lin.bias is lin._parameters["bias"]
    del lin.bias
    assert "bias" not in lin._parameters and not hasattr(lin, "bias")
    lin.register_parameter("extra", None)
    assert lin.extra is None
    mean = tn.ones(3)
    bn.running_mean = mean
    assert bn.running_mean is mean and bn._buffers["running_mean"] is mean
    bn.register_buffer("seen", tn.zeros(1))
    assert bn.seen is bn._buffers["seen"]
    lin.weight = lin.weight  # the same parameter again: nothing changes
    net.add_module("1", None)
    assert net._modules["1"] is None and getattr(net, "1") is None
    twin = copy.deepcopy(net)
    assert twin[0].weight is twin[0]._parameters["weight"]
    assert twin[0].weight is not lin.weight
    lin.weight = nn.Linear(2, 2)  # a parameter name taken by a child module
    assert "weight" not in lin._parameters and isinstance(lin.weight, nn.Linear)


def test_shared_parameters_are_listed_once():
    lin = nn.Linear(3, 3)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2  # an optimizer must not step them twice


def test_children_and_modules():
    net = Net()
    assert [name for name, _ in net.named_children()] == ["fc1", "act", "head"]
    assert [m for m in net.children()] == [net.fc1, net.act, net.head]
    modules = list(net.modules())
    assert modules[0] is net and len(modules) == 7  # net, fc1, act, head and its three
    assert modules[4] is net.head[0]


def test_call_runs_forward_with_arguments(backend):
    net = Net()
    x = tn.randn(2, 4)
    np.testing.assert_allclose(to_numpy(net(x, shift=1.0)), to_numpy(net.forward(x)) + 1.0,
                               rtol=1e-6, atol=1e-6)


# ---- state_dict / load_state_dict --------------------------------------------------------
def test_state_dict_is_ordered_detached_and_shares_data():
    net = Net()
    sd = net.state_dict()
    assert isinstance(sd, OrderedDict)
    assert list(sd) == [name for name, _ in net.named_parameters()]
    for name, p in net.named_parameters():
        assert not sd[name].requires_grad and sd[name].grad_fn is None
        assert np.shares_memory(sd[name].array, p.array)


@pytest.mark.parametrize("as_numpy", [True, False], ids=["arrays", "tensors"])
def test_load_state_dict_copies_into_existing_parameters(backend, as_numpy):
    src, dst = mlp(), mlp()
    before = list(dst.parameters())
    sd = {k: (v.numpy().astype(np.float64) if as_numpy else v)
          for k, v in src.state_dict().items()}
    result = dst.load_state_dict(sd)
    assert list(result.missing_keys) == [] and list(result.unexpected_keys) == []
    after = list(dst.parameters())
    assert all(p is q for p, q in zip(before, after))  # an optimizer's references stay valid
    for (name, p), (_, q) in zip(src.named_parameters(), dst.named_parameters()):
        np.testing.assert_array_equal(to_numpy(q), to_numpy(p), err_msg=name)
        assert q.dtype == np.float32 and q.device == backend.device and q.requires_grad
    # A copy, not an alias: changing the source in place afterwards leaves the model alone.
    source = sd["0.weight"] if as_numpy else sd["0.weight"].array
    source[...] = 7
    assert not np.any(to_numpy(dst[0].weight) == 7)


def test_load_state_dict_names_every_bad_key():
    net = mlp()
    sd = {k: v.numpy() for k, v in net.state_dict().items()}
    del sd["0.bias"], sd["3.weight"]
    sd["extra.weight"] = np.zeros(3, np.float32)
    sd["0.weight"] = np.zeros((5, 7), np.float32)
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(sd)
    message = str(info.value)
    for key in ("0.bias", "3.weight", "extra.weight", "0.weight"):
        assert key in message
    assert "(5, 7)" in message or "[5, 7]" in message


def test_load_state_dict_not_strict_loads_what_matches():
    net = mlp()
    values = np.full((5, 6), 0.25, np.float32)
    result = net.load_state_dict({"0.weight": values, "oops": np.zeros(1)}, strict=False)
    missing, unexpected = result
    assert result.missing_keys == missing == ["0.bias", "3.weight", "3.bias"]
    assert result.unexpected_keys == unexpected == ["oops"]
    np.testing.assert_array_equal(net[0].weight.numpy(), values)


# ---- modes, devices, grads, repr ---------------------------------------------------------
def test_train_and_eval_propagate_to_children():
    net = Net()
    assert net.training and net.head[1].training  # modules start in training mode
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    assert net.train() is net and all(m.training for m in net.modules())
    net.train(False)
    assert not any(m.training for m in net.modules())


def test_to_moves_parameters_and_returns_self(backend):
    tn.set_backend("numpy")
    net = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3))
    assert all(p.device == "cpu" for p in net.parameters())
    assert net.to(backend.device) is net
    for name, p in net.named_parameters():
        assert p.device == backend.device and isinstance(p, nn.Parameter), name
        assert p.requires_grad and p.is_leaf
    x = tn.randn(4, 6, device=backend.device)
    net(x).sum().backward()
    assert all(p.grad is not None and p.grad.device == backend.device
               for p in net.parameters())


def test_zero_grad_sets_grads_to_none():
    net = mlp()
    net(tn.randn(2, 6)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_repr_reads_like_pytorch():
    seq = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 10, bias=False))
    assert repr(seq) == ("Sequential(\n"
                         "  (0): Linear(in_features=784, out_features=512, bias=True)\n"
                         "  (1): ReLU()\n"
                         "  (2): Linear(in_features=512, out_features=10, bias=False)\n"
                         ")")
    text = repr(Net())
    assert text.startswith("Net(\n  (fc1): Linear(in_features=4, out_features=8, bias=True)\n")
    assert "  (head): Sequential(\n    (0): Linear(in_features=8" in text
    assert text.endswith("\n  )\n)")


# ---- Linear ------------------------------------------------------------------------------
def test_linear_shapes_dtype_and_init():
    lin = nn.Linear(784, 512)
    assert lin.weight.shape == (512, 784) and lin.bias.shape == (512,)
    assert lin.weight.dtype == np.float32 and lin.bias.dtype == np.float32
    assert (lin.in_features, lin.out_features) == (784, 512)
    bound = 1 / math.sqrt(784)  # kaiming_uniform(a=sqrt(5)) gives exactly this bound
    for p in (lin.weight, lin.bias):
        a = np.abs(p.numpy())
        assert a.max() <= bound * (1 + 1e-6) and a.max() > 0.95 * bound
        assert abs(p.numpy().mean()) < 0.1 * bound
    w = lin.weight.numpy()
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound  # uniform: std = b / √3
    no_bias = nn.Linear(3, 2, bias=False)
    assert no_bias.bias is None and [n for n, _ in no_bias.named_parameters()] == ["weight"]
    assert nn.Linear(3, 2, dtype=tn.float64).weight.dtype == np.float64


def test_linear_init_is_reproducible():
    tn.manual_seed(3)
    a = nn.Linear(5, 4)
    tn.manual_seed(3)
    b = nn.Linear(5, 4)
    c = nn.Linear(5, 4)
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    assert not np.array_equal(b.weight.numpy(), c.weight.numpy())


@pytest.mark.parametrize("shape", [(4,), (3, 4), (2, 3, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_forward_and_backward(backend, shape, bias):
    lin = nn.Linear(4, 5, bias=bias, device=backend.device)
    assert lin.weight.device == backend.device
    x_np = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    x = tn.tensor(x_np, requires_grad=True)
    y = lin(x)
    w = lin.weight.numpy().astype(np.float64)
    b = lin.bias.numpy().astype(np.float64) if bias else 0.0
    expected = x_np @ w.T + b
    assert y.shape == shape[:-1] + (5,) and y.dtype == np.float32
    np.testing.assert_allclose(to_numpy(y), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(to_numpy(F.linear(x, lin.weight, lin.bias)), expected,
                               rtol=1e-5, atol=1e-5)
    g = np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)
    y.backward(tn.tensor(g))
    g2, x2 = g.reshape(-1, 5), x_np.reshape(-1, 4)
    np.testing.assert_allclose(to_numpy(x.grad), g @ w, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(to_numpy(lin.weight.grad), g2.T @ x2, rtol=1e-5, atol=1e-5)
    if bias:
        np.testing.assert_allclose(to_numpy(lin.bias.grad), g2.sum(0), rtol=1e-5, atol=1e-5)


def test_linear_gradcheck(backend):
    lin = nn.Linear(4, 3, dtype=tn.float64)
    x = tn.randn(2, 3, 4, dtype=tn.float64, requires_grad=True)
    assert tn.gradcheck(lambda x, w, b: F.linear(x, w, b), [x, lin.weight, lin.bias])
    assert tn.gradcheck(lambda x: lin(x), [x])


def test_linear_rejects_wrong_feature_size():
    with pytest.raises(ValueError) as info:
        nn.Linear(4, 3)(tn.randn(2, 5))
    message = str(info.value)
    assert ("(2, 5)" in message or "[2, 5]" in message) and "4" in message


# ---- activations, Flatten, Identity, Sequential --------------------------------------------
def _softmax(x, axis):
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


ACTIVATIONS = [
    ("ReLU", lambda: nn.ReLU(), lambda x: np.maximum(x, 0)),
    ("Sigmoid", lambda: nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    ("Tanh", lambda: nn.Tanh(), np.tanh),
    ("Softmax1", lambda: nn.Softmax(dim=1), lambda x: _softmax(x, 1)),
    ("Softmax-1", lambda: nn.Softmax(-1), lambda x: _softmax(x, -1)),
    ("LogSoftmax1", lambda: nn.LogSoftmax(dim=1), lambda x: np.log(_softmax(x, 1))),
    ("Identity", lambda: nn.Identity(), lambda x: x),
]


@pytest.mark.parametrize("name, make, ref", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_modules(backend, name, make, ref):
    x_np = np.random.default_rng(0).standard_normal((3, 4, 2))
    x = tn.tensor(x_np, requires_grad=True)
    module = make()
    assert list(module.parameters()) == []
    np.testing.assert_allclose(to_numpy(module(x)), ref(x_np), rtol=1e-10, atol=1e-12)
    assert tn.gradcheck(module, [x])


@pytest.mark.parametrize("args, shape", [((), (2, 60)), ((0,), (120,)), ((1, 2), (2, 12, 5)),
                                         ((2, -1), (2, 3, 20)), ((-2,), (2, 3, 20))])
def test_flatten(backend, args, shape):
    x_np = np.arange(120.0).reshape(2, 3, 4, 5)
    y = nn.Flatten(*args)(tn.tensor(x_np))
    np.testing.assert_array_equal(to_numpy(y), x_np.reshape(shape))


def test_sequential_container():
    layers = [nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3)]
    seq = nn.Sequential(*layers)
    assert len(seq) == 3 and list(seq) == layers
    assert seq[0] is layers[0] and seq[-1] is layers[2]
    part = seq[1:]
    assert isinstance(part, nn.Sequential) and list(part) == layers[1:]
    assert [n for n, _ in part.named_parameters()] == ["2.weight", "2.bias"]  # keys kept
    for index in (3, -4):
        with pytest.raises(IndexError):
            seq[index]
    x = tn.randn(2, 6)
    np.testing.assert_allclose(seq(x).numpy(), layers[2](layers[1](layers[0](x))).numpy())
    seq.append(nn.Sigmoid())
    assert len(seq) == 4 and [n for n, _ in seq.named_children()] == ["0", "1", "2", "3"]
    assert np.all(seq(x).numpy() > 0)


# ---- Dropout -----------------------------------------------------------------------------
def test_dropout_eval_is_identity(backend):
    drop = nn.Dropout(0.5).eval()
    x = tn.randn(50, 40)
    np.testing.assert_array_equal(to_numpy(drop(x)), to_numpy(x))
    np.testing.assert_array_equal(to_numpy(F.dropout(x, 0.5, training=False)), to_numpy(x))


def test_dropout_follows_the_model_mode():
    net = mlp()
    x = tn.randn(64, 6)
    assert not np.array_equal(net(x).numpy(), net(x).numpy())  # a fresh mask per call
    net.eval()
    np.testing.assert_array_equal(net(x).numpy(), net(x).numpy())


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_train_scales_and_masks_gradients(backend, p):
    n = 1000 * 1000
    x = tn.tensor(np.random.default_rng(0).random((1000, 1000), np.float32) + 1,
                  requires_grad=True)
    y = nn.Dropout(p)(x)
    x_np, y_np = to_numpy(x), to_numpy(y)
    kept = y_np != 0
    assert y.dtype == np.float32
    # P(zero) = p: binomial std sqrt(p(1-p)/n) < 5e-4, so 0.005 is more than 10 sigma.
    assert abs(1 - kept.mean() - p) < 0.005
    np.testing.assert_allclose(y_np[kept], x_np[kept] / (1 - p), rtol=1e-6)
    ones = nn.Dropout(p)(tn.ones(1000, 1000))
    assert abs(float(ones.mean().item()) - 1) < 20 * math.sqrt(p / (1 - p) / n)
    g = np.random.default_rng(1).standard_normal((1000, 1000)).astype(np.float32)
    y.backward(tn.tensor(g))
    np.testing.assert_allclose(to_numpy(x.grad), g * kept / (1 - p), rtol=1e-6, atol=1e-7)


def test_dropout_edge_probabilities_and_seed(backend):
    x = tn.randn(30, 30, requires_grad=True)
    np.testing.assert_array_equal(to_numpy(nn.Dropout(0.0)(x)), to_numpy(x))
    y = nn.Dropout(1.0)(x)
    y.sum().backward()
    assert not np.any(to_numpy(y)) and not np.any(to_numpy(x.grad))  # zeros, not nan
    tn.manual_seed(5)
    a = to_numpy(F.dropout(x, 0.5))
    tn.manual_seed(5)
    np.testing.assert_array_equal(to_numpy(F.dropout(x, 0.5)), a)


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_rejects_bad_probability(p):
    with pytest.raises(ValueError, match=str(p)):
        nn.Dropout(p)
    with pytest.raises(ValueError, match=str(p)):
        F.dropout(tn.ones(3), p)


def test_dropout_repr_and_default():
    assert nn.Dropout().p == 0.5
    assert repr(nn.Dropout(0.2)).startswith("Dropout(p=0.2")


# ---- loss modules ------------------------------------------------------------------------
def _class_data(weighted):
    rng = np.random.default_rng(0)
    x = tn.tensor(rng.standard_normal((6, 4)), requires_grad=True)
    target = tn.tensor(np.array([0, 3, 1, 1, 2, -100]))
    weight = tn.tensor(rng.random(4) + 0.5) if weighted else None
    return x, target, weight


def _binary_data():
    rng = np.random.default_rng(1)
    x = tn.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    return x, tn.tensor(rng.random((5, 3))), tn.tensor(rng.random(3) + 0.5)


# name -> (module, the functional call it must equal), for a reduction and a weight.
LOSSES = {
    "cross_entropy": lambda r, w: (
        nn.CrossEntropyLoss(weight=w, reduction=r, label_smoothing=0.1),
        lambda x, t: F.cross_entropy(x, t, weight=w, reduction=r, label_smoothing=0.1)),
    "nll": lambda r, w: (
        nn.NLLLoss(weight=w, ignore_index=-100, reduction=r),
        lambda x, t: F.nll_loss(x, t, weight=w, reduction=r)),
    "bce": lambda r, w: (
        nn.BCELoss(weight=w, reduction=r),
        lambda x, t: F.binary_cross_entropy(x, t, weight=w, reduction=r)),
    "bce_logits": lambda r, w: (
        nn.BCEWithLogitsLoss(weight=w, pos_weight=w, reduction=r),
        lambda x, t: F.binary_cross_entropy_with_logits(x, t, weight=w, pos_weight=w,
                                                         reduction=r)),
    "mse": lambda r, w: (nn.MSELoss(reduction=r), lambda x, t: F.mse_loss(x, t, reduction=r)),
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_modules_match_functional(backend, name, weighted, reduction):
    if name in ("cross_entropy", "nll"):
        x, target, weight = _class_data(weighted)
    else:
        x, target, weight = _binary_data()
        weight = weight if weighted else None
    if name == "nll":  # log-probabilities in, probabilities for BCE
        x = tn.tensor(to_numpy(x.log_softmax(1)), requires_grad=True)
    elif name == "bce":
        x = tn.tensor(to_numpy(x.sigmoid()), requires_grad=True)
    module, functional = LOSSES[name](reduction, weight)
    out = module(x, target)
    expected = functional(x, target)
    np.testing.assert_allclose(to_numpy(out), to_numpy(expected), rtol=1e-12)
    out.sum().backward()
    grad = to_numpy(x.grad)
    x.grad = None
    expected.sum().backward()
    np.testing.assert_allclose(grad, to_numpy(x.grad), rtol=1e-12)


def test_loss_module_defaults():
    ce = nn.CrossEntropyLoss()
    assert (ce.ignore_index, ce.reduction, ce.label_smoothing, ce.weight) == (-100, "mean",
                                                                             0.0, None)
    assert nn.MSELoss().reduction == "mean" and nn.BCEWithLogitsLoss().pos_weight is None


# ---- nn.init -----------------------------------------------------------------------------
# 512 x 784 = 401408 samples: a sample std is within 1% of the true one by ~9 sigma, the
# sample mean of a uniform in ±b within 0.01 b by ~11 sigma, and the largest |value| of a
# uniform exceeds 0.99 b except with probability 0.99^401408 ≈ 0. None of these can flake.
SHAPE = (512, 784)
FAN_IN, FAN_OUT = 784, 512


def _check_uniform(t, low, high):
    a = to_numpy(t).astype(np.float64)
    width = high - low
    assert a.min() >= low and a.max() <= high
    assert a.min() < low + 0.01 * width and a.max() > high - 0.01 * width
    assert abs(a.mean() - (low + high) / 2) < 0.01 * width


def _check_normal(t, mean, std):
    a = to_numpy(t).astype(np.float64)
    assert abs(a.mean() - mean) < 0.01 * std + 1e-12
    assert abs(a.std() - std) < 0.01 * std


def _fresh(dtype=np.float32):
    return nn.Parameter(tn.zeros(*SHAPE, dtype=dtype))


def test_init_works_in_place_without_recording(backend):
    t = _fresh()
    for out in (nn.init.uniform_(t, -2, 3), nn.init.normal_(t, 1, 2),
                nn.init.kaiming_uniform_(t), nn.init.xavier_normal_(t)):
        assert out is t and t.is_leaf and t.grad_fn is None and t.requires_grad
        assert t.dtype == np.float32 and t.device == backend.device
    _check_uniform(nn.init.uniform_(_fresh(), -2, 3), -2, 3)
    _check_uniform(nn.init.uniform_(_fresh(np.float64)), 0, 1)
    _check_normal(nn.init.normal_(_fresh(), 1, 2), 1, 2)
    _check_normal(nn.init.normal_(_fresh(np.float64)), 0, 1)


def test_constant_inits(backend):
    t = tn.randn(3, 4)
    assert nn.init.zeros_(t) is t and not np.any(to_numpy(t))
    np.testing.assert_array_equal(to_numpy(nn.init.ones_(t)), np.ones((3, 4)))
    np.testing.assert_array_equal(to_numpy(nn.init.constant_(t, 0.5)), np.full((3, 4), 0.5))
    assert t.dtype == np.float32


@pytest.mark.parametrize("a, mode, nonlinearity", [
    (0, "fan_in", "leaky_relu"), (math.sqrt(5), "fan_in", "leaky_relu"),
    (0, "fan_out", "relu"), (0, "fan_in", "linear")])
def test_kaiming(backend, a, mode, nonlinearity):
    fan = FAN_IN if mode == "fan_in" else FAN_OUT
    gain = {"leaky_relu": math.sqrt(2 / (1 + a * a)), "relu": math.sqrt(2), "linear": 1}
    std = gain[nonlinearity] / math.sqrt(fan)
    bound = math.sqrt(3) * std
    _check_uniform(nn.init.kaiming_uniform_(_fresh(), a=a, mode=mode, nonlinearity=nonlinearity),
                   -bound, bound)
    _check_normal(nn.init.kaiming_normal_(_fresh(), a=a, mode=mode, nonlinearity=nonlinearity),
                  0, std)


@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_xavier(backend, gain):
    std = gain * math.sqrt(2 / (FAN_IN + FAN_OUT))
    bound = math.sqrt(3) * std
    _check_uniform(nn.init.xavier_uniform_(_fresh(), gain=gain), -bound, bound)
    _check_normal(nn.init.xavier_normal_(_fresh(), gain=gain), 0, std)


def test_init_fans_of_higher_rank_tensors():
    # (out, in, k, k): fan_in = in·k·k, as for a convolution kernel in PyTorch.
    t = nn.init.kaiming_normal_(tn.zeros(64, 32, 5, 5), nonlinearity="relu")
    _check_normal(t, 0, math.sqrt(2 / (32 * 25)))


def test_init_is_reproducible_with_manual_seed(backend):
    values = []
    for _ in range(2):
        tn.manual_seed(7)
        values.append(to_numpy(nn.init.kaiming_uniform_(tn.zeros(20, 30))))
    np.testing.assert_array_equal(values[0], values[1])
    assert not np.array_equal(values[0], to_numpy(nn.init.kaiming_uniform_(tn.zeros(20, 30))))


@pytest.mark.parametrize("nonlinearity, param, gain", [
    ("linear", None, 1.0), ("sigmoid", None, 1.0), ("tanh", None, 5 / 3),
    ("relu", None, math.sqrt(2)), ("leaky_relu", None, math.sqrt(2 / (1 + 0.01 ** 2))),
    ("leaky_relu", 0.2, math.sqrt(2 / 1.04)), ("selu", None, 0.75)])
def test_calculate_gain(nonlinearity, param, gain):
    assert nn.init.calculate_gain(nonlinearity, param) == pytest.approx(gain, rel=1e-12)


def test_init_rejects_bad_arguments():
    with pytest.raises(ValueError, match="fan_sideways"):
        nn.init.kaiming_uniform_(tn.zeros(3, 4), mode="fan_sideways")
    with pytest.raises(ValueError, match="swish"):
        nn.init.calculate_gain("swish")
    with pytest.raises(ValueError):
        nn.init.xavier_uniform_(tn.zeros(5))  # fans need at least 2 dimensions


def test_state_dict_of_tied_modules_lists_every_path():
    """A module used twice appears under both names in state_dict (as in PyTorch), while
    parameters() lists each parameter once."""
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    weights = {k: np.full(tuple(v.shape), 0.5, np.float32) for k, v in model.state_dict().items()}
    model.load_state_dict(weights)  # strict: the tied names are expected keys
    np.testing.assert_array_equal(shared.weight.numpy(), np.full((2, 2), 0.5))


def test_sequential_refuses_a_dict_entry_that_is_not_a_module():
    with pytest.raises(TypeError, match="'b' is a int"):
        nn.Sequential(OrderedDict([("a", nn.ReLU()), ("b", 5)]))


def test_init_of_zero_element_tensors_warns_and_does_nothing():
    with pytest.warns(UserWarning, match="zero-element"):
        layer = nn.Linear(0, 2)
    assert layer(tn.zeros(4, 0)).shape == (4, 2)
    with pytest.warns(UserWarning, match="zero-element"):
        nn.init.xavier_uniform_(tn.zeros(0, 0))

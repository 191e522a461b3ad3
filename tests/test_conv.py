"""Convolution and pooling: forward and gradients against PyTorch over strides, paddings,
non-square kernels, batch 1 and odd sizes, on every backend; the first-maximum rule of
max-pooling on ties; the layers; and errors raised in the forward call naming the shapes.
(The op table of test_ops.py checks the same ops by gradcheck in float64.)"""
import math

import numpy as np
import pytest

import tinynet as tn
import tinynet.nn.functional as F
from tinynet import nn
from conftest import to_numpy

torch = pytest.importorskip("torch")
TF = torch.nn.functional

# (x shape, weight shape, stride, padding)
CONV_CASES = [
    ((2, 3, 8, 8), (4, 3, 3, 3), 1, 0),
    ((1, 2, 7, 9), (3, 2, 3, 2), (2, 1), (1, 0)),       # batch 1, odd sizes, non-square
    ((3, 1, 5, 5), (2, 1, 5, 5), 1, 0),                  # kernel = whole image: 1x1 output
    ((2, 4, 6, 5), (5, 4, 1, 1), 2, 1),                  # 1x1 kernel, stride over padding
    ((2, 3, 9, 7), (2, 3, 4, 3), (3, 2), (2, 1)),        # windows that skip the last rows
]
POOL_CASES = [  # (x shape, kernel, stride, padding)
    ((2, 3, 8, 8), 2, None, 0),
    ((1, 2, 7, 9), (3, 2), (2, 1), (1, 1)),
    ((2, 1, 5, 5), 3, 1, 1),                              # overlapping windows
    ((1, 2, 6, 6), (1, 3), (1, 3), 0),
]


def compare(ours, theirs, atol):
    np.testing.assert_allclose(to_numpy(ours), theirs.detach().numpy(), rtol=1e-5, atol=atol)


@pytest.mark.parametrize("dtype,atol", [(np.float32, 1e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("x_shape,w_shape,stride,padding", CONV_CASES)
def test_conv2d_matches_torch(backend, x_shape, w_shape, stride, padding, dtype, atol):
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in (x_shape, w_shape, w_shape[:1]))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = TF.conv2d(tx, tw, tb, stride=stride, padding=padding)
    gy = rng.standard_normal(ty.shape).astype(dtype)
    ty.backward(torch.tensor(gy))

    X, W, B = (tn.tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.conv2d(X, W, B, stride=stride, padding=padding)
    assert y.shape == tuple(ty.shape) and y.dtype == dtype
    y.backward(tn.tensor(gy))
    compare(y, ty, atol)
    for ours, theirs in ((X, tx), (W, tw), (B, tb)):
        assert ours.grad.dtype == dtype
        compare(ours.grad, theirs.grad, atol * 10)


@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d"])
@pytest.mark.parametrize("x_shape,kernel,stride,padding", POOL_CASES)
def test_pooling_matches_torch(backend, name, x_shape, kernel, stride, padding):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(x_shape)
    tx = torch.tensor(x, requires_grad=True)
    ty = getattr(TF, name)(tx, kernel, stride, padding)
    gy = rng.standard_normal(ty.shape)
    ty.backward(torch.tensor(gy))
    X = tn.tensor(x, requires_grad=True)
    y = getattr(F, name)(X, kernel, stride, padding)
    y.backward(tn.tensor(gy))
    compare(y, ty, 1e-12)
    compare(X.grad, tx.grad, 1e-12)


@pytest.mark.parametrize("kernel,stride,padding", [(2, 2, 0), (3, 1, 1), ((2, 3), (1, 2), (1, 1))])
def test_max_pool_ties_send_the_gradient_to_the_first_maximum(backend, kernel, stride, padding):
    """Constant regions (every window all-tied), a few distinct values and a row of repeated
    maxima: each output's gradient lands on exactly one element, the one PyTorch picks."""
    x = np.zeros((2, 3, 6, 7))
    x[0, 0, 2:4, 3:5] = 1.0          # a 2x2 plateau of maxima
    x[1, 2, :, 1] = 5.0              # a column of equal maxima
    x[1, 1] = np.arange(42).reshape(6, 7) % 3   # many ties among 0, 1, 2
    tx = torch.tensor(x, requires_grad=True)
    ty = TF.max_pool2d(tx, kernel, stride, padding)
    gy = np.random.default_rng(2).standard_normal(ty.shape)
    ty.backward(torch.tensor(gy))
    X = tn.tensor(x, requires_grad=True)
    y = F.max_pool2d(X, kernel, stride, padding)
    y.backward(tn.tensor(gy))
    np.testing.assert_array_equal(to_numpy(y), ty.detach().numpy())
    np.testing.assert_allclose(to_numpy(X.grad), tx.grad.numpy(), atol=1e-12)
    # The gradient's total is the upstream total: no window sends it twice.
    assert to_numpy(X.grad).sum() == pytest.approx(gy.sum())


def test_max_pool_tie_rule_by_hand(backend):
    x = tn.tensor([[[[3.0, 3.0], [3.0, 1.0]]]], requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), [[[[1.0, 0.0], [0.0, 0.0]]]])


def test_a_conv_chain_stays_channels_last_and_agrees_with_torch(backend):
    """conv -> relu -> conv -> max-pool -> flatten -> linear, all through NCHW-shaped views of
    channels-last memory: the values and every gradient are PyTorch's."""
    rng = np.random.default_rng(3)
    shapes = {"c1": (4, 2, 3, 3), "c2": (6, 4, 3, 3), "fc": (5, 6 * 4 * 4)}
    params = {k: rng.standard_normal(s) * 0.3 for k, s in shapes.items()}
    x = rng.standard_normal((3, 2, 10, 10))

    def net(F, p, x):
        h = F.relu(F.conv2d(x, p["c1"], padding=1))
        h = F.max_pool2d(F.conv2d(h, p["c2"], stride=1), 2, 2, 0)
        return (h.reshape(h.shape[0], -1) @ p["fc"].T).tanh().sum()

    theirs = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    net(TF, theirs, torch.tensor(x)).backward()
    ours = {k: tn.tensor(v, requires_grad=True) for k, v in params.items()}
    net(F, ours, tn.tensor(x)).backward()
    for k in params:
        np.testing.assert_allclose(to_numpy(ours[k].grad), theirs[k].grad.numpy(), atol=1e-10)


def test_unbatched_input_is_one_image(backend):
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    y = F.conv2d(tn.tensor(x), tn.tensor(w))
    assert y.shape == (3, 3, 3)
    np.testing.assert_allclose(to_numpy(y), TF.conv2d(torch.tensor(x), torch.tensor(w)).numpy(),
                               atol=1e-12)
    assert F.max_pool2d(tn.tensor(x), 2).shape == (2, 2, 2)


def test_only_the_inputs_that_need_a_gradient_get_one(backend):
    x = tn.randn(2, 1, 6, 6)  # images: no gradient
    conv = nn.Conv2d(1, 3, 3)
    conv(x).sum().backward()
    assert x.grad is None and conv.weight.grad.shape == (3, 1, 3, 3)
    assert conv.bias.grad.shape == (3,)


# ---- layers -----------------------------------------------------------------------------
def test_conv2d_layer_matches_torch_init_and_repr(backend):
    conv = nn.Conv2d(3, 8, (5, 3), stride=2, padding=(1, 2))
    ref = torch.nn.Conv2d(3, 8, (5, 3), stride=2, padding=(1, 2))
    assert repr(conv) == repr(ref)
    assert repr(nn.Conv2d(1, 2, 3, bias=False)) == repr(torch.nn.Conv2d(1, 2, 3, bias=False))
    assert [(n, p.shape) for n, p in conv.named_parameters()] == [
        (n, tuple(p.shape)) for n, p in ref.named_parameters()]
    bound = 1 / math.sqrt(3 * 5 * 3)  # PyTorch's U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    w = conv.weight.numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(conv.bias.numpy()).max() <= bound
    assert conv.weight.dtype == np.float32 and conv.weight.device == backend.device


def test_pool_layers_repr_and_default_stride():
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0)"
    assert repr(nn.AvgPool2d(3, 1, 1)) == "AvgPool2d(kernel_size=3, stride=1, padding=1)"
    assert nn.MaxPool2d(2)(tn.zeros(1, 1, 5, 5)).shape == (1, 1, 2, 2)


def test_unflatten_matches_torch():
    layer, ref = nn.Unflatten(1, (1, 28, 28)), torch.nn.Unflatten(1, (1, 28, 28))
    assert repr(layer) == repr(ref)
    assert layer(tn.zeros(4, 784)).shape == (4, 1, 28, 28)
    assert nn.Unflatten(-1, (2, 3))(tn.zeros(4, 6)).shape == (4, 2, 3)


# ---- errors name the shapes ------------------------------------------------------------------
@pytest.mark.parametrize("call,error,message", [
    (lambda: F.conv2d(tn.zeros(2, 3, 8, 8), tn.zeros(4, 1, 3, 3)), ValueError,
     "expects input with 1 channels, got input of shape (2, 3, 8, 8) with 3 channels"),
    (lambda: F.conv2d(tn.zeros(8, 8), tn.zeros(4, 1, 3, 3)), ValueError,
     "expected a 4-D (N, C, H, W) or 3-D (C, H, W) input, got shape (8, 8)"),
    (lambda: F.conv2d(tn.zeros(1, 1, 4, 4), tn.zeros(2, 1, 6, 6), padding=0), ValueError,
     "kernel size (6, 6) is larger than the padded input (4, 4)"),
    (lambda: F.conv2d(tn.zeros(1, 1, 4, 4), tn.zeros(2, 1, 3)), ValueError,
     "weight must be a 4-D tensor"),
    (lambda: F.conv2d(tn.zeros(1, 1, 4, 4), tn.zeros(2, 1, 3, 3), tn.zeros(3)), ValueError,
     "bias of shape (3,) does not match a weight of shape (2, 1, 3, 3)"),
    (lambda: F.conv2d(tn.zeros(1, 1, 4, 4), tn.zeros(2, 1, 3, 3), stride=0), ValueError,
     "stride must be at least 1, got 0"),
    (lambda: F.conv2d(tn.zeros(1, 1, 4, 4), tn.zeros(2, 1, 3, 3), padding=(1, 1, 1)),
     TypeError, "padding must be an int or a pair of ints"),
    (lambda: F.conv2d(tn.zeros(1, 1, 4, 4, dtype=tn.float64), tn.zeros(2, 1, 3, 3)),
     TypeError, "input dtype float64 differs from the weight's dtype float32"),
    (lambda: F.max_pool2d(tn.zeros(1, 1, 2, 2), 3), ValueError,
     "kernel size (3, 3) is larger than the padded input (2, 2)"),
    (lambda: F.max_pool2d(tn.zeros(1, 1, 8, 8), 2, padding=2), ValueError,
     "padding (2, 2) should be at most half of the kernel size (2, 2)"),
    (lambda: F.avg_pool2d(tn.zeros(1, 2, 3, 4, 5), 2), ValueError, "got shape (1, 2, 3, 4, 5)"),
    (lambda: nn.Conv2d(3, 8, 3)(tn.zeros(2, 1, 28, 28)), ValueError,
     "weight of shape (8, 3, 3, 3) expects input with 3 channels"),
])
def test_bad_input_raises_in_the_forward_call_naming_shapes(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)

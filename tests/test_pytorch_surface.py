"""The names of the contract section "PyTorch code runs unchanged", each with the
semantics PyTorch gives it (compared with PyTorch where it is installed)."""
import builtins

import numpy as np
import pytest

import tinynet as tn
import tinynet as torch_like
import tinynet.nn.functional as F
from conftest import to_numpy


def test_device_idiom(backend):
    device = tn.device("cuda" if tn.cuda.is_available() else "cpu")
    assert device == "cpu" and device.type == "cpu" and device.index is None
    assert repr(tn.device("cuda", 1)) == "device(type='cuda', index=1)"
    assert tn.device("cuda:1").index == 1
    x = tn.ones(2).to(device)
    assert x.device == "cpu" and x.device.type == "cpu" and not x.is_cuda
    model = tn.nn.Linear(2, 1).to(device)
    assert model.weight.device == device
    tn.set_default_device(backend.device)
    assert tn.zeros(1).device == backend.device == tn.get_default_device()


def test_dtype_names():
    assert torch_like.float == np.float32 and torch_like.double == np.float64
    assert torch_like.long == np.int64 and torch_like.int == np.int32
    assert torch_like.bool == np.bool_ and torch_like.half == np.float16
    x = tn.tensor([1, 2])
    assert x.type() == "torch.LongTensor"
    assert x.type(tn.float).dtype == np.float32 and x.type("torch.DoubleTensor").dtype == np.float64
    assert tn.ones(2).to(tn.double).dtype == np.float64
    assert tn.ones(2).to("cpu", tn.float64).dtype == np.float64
    assert tn.ones(2).to(tn.zeros(1, dtype=tn.int64)).dtype == np.int64
    tn.set_default_dtype(tn.float64)
    try:
        assert tn.tensor([1.5]).dtype == np.float64 and tn.zeros(2).dtype == np.float64
    finally:
        tn.set_default_dtype(tn.float32)
    assert tn.get_default_dtype() == np.float32


def test_names_that_shadow_builtins_do_not_break_the_package():
    assert tn.sum is not builtins.sum and tn.max is not builtins.max
    x = tn.tensor([[1.0, 5.0], [3.0, 2.0]])
    values, indices = tn.max(x, 1)
    assert values.tolist() == [5.0, 3.0] and indices.tolist() == [1, 0]
    assert tn.max(x).item() == 5.0 and tn.min(x, dim=0).values.tolist() == [1.0, 2.0]
    assert tn.max(x, tn.full((2, 2), 2.5)).tolist() == [[2.5, 5.0], [3.0, 2.5]]
    assert tn.abs(-x).sum().item() == 11.0 and tn.sum(x, 0).tolist() == [4.0, 7.0]
    assert tn.pow(x, 2).sum().item() == 39.0 and tn.pow(2, tn.tensor([3.0])).item() == 8.0
    # the library's own code, which uses the built-ins, still works after those bindings
    tn.nn.Sequential(tn.nn.Linear(2, 2), tn.nn.ReLU())(x).sum().backward()
    assert tn.cat([x, x]).shape == (4, 2) and repr(tn.tensor(True)).startswith("tensor(")


def test_grad_fn_prints_like_pytorch(backend):
    x = tn.tensor([1.0], requires_grad=True)
    y = x * 2
    assert repr(y.grad_fn) == "<MulBackward0>" and "grad_fn=<MulBackward0>" in repr(y)


def test_generators_are_reproducible_and_independent():
    g1, g2 = tn.Generator().manual_seed(2147483647), tn.Generator().manual_seed(2147483647)
    a = tn.randn(3, 4, generator=g1)
    assert np.array_equal(a.numpy(), tn.randn(3, 4, generator=g2).numpy())
    assert g1.initial_seed() == 2147483647
    tn.manual_seed(3)
    r = tn.rand(5)
    tn.manual_seed(3)
    assert np.array_equal(r.numpy(), tn.rand(5).numpy())


def test_random_functions(backend):
    g = tn.Generator().manual_seed(0)
    i = tn.randint(0, 27, (1000,), generator=g)
    assert i.dtype == np.int64 and i.shape == (1000,) and 0 <= i.numpy().min()
    assert i.numpy().max() < 27 and tn.randint(5, (2, 3)).shape == (2, 3)
    p = tn.tensor([0.0, 0.2, 0.8])
    draws = tn.multinomial(p, num_samples=4000, replacement=True, generator=g).numpy()
    assert set(draws) <= {1, 2} and 0.75 < (draws == 2).mean() < 0.85
    rows = tn.multinomial(tn.ones(2, 5), 5, generator=g).numpy()   # without replacement
    assert [sorted(r) for r in rows] == [list(range(5))] * 2
    n = tn.normal(2.0, 0.5, size=(20000,), generator=g).numpy()
    assert abs(n.mean() - 2) < 0.02 and abs(n.std() - 0.5) < 0.02
    elementwise = tn.normal(tn.tensor([0.0, 100.0]), tn.tensor([1e-6, 1e-6]))
    np.testing.assert_allclose(elementwise.numpy(), [0, 100], atol=1e-3)
    assert sorted(tn.randperm(6, generator=g).tolist()) == list(range(6))
    assert tn.rand(2, 3, dtype=tn.float64).dtype == np.float64
    with pytest.raises(RuntimeError, match="probability"):
        tn.multinomial(tn.tensor([-1.0, 2.0]), 1)


def test_creation_functions(backend):
    a = np.arange(6.0).reshape(2, 3)
    shared = tn.from_numpy(a)
    a[0, 0] = 42
    assert shared.numpy()[0, 0] == 42 and shared.dtype == np.float64   # shares memory
    assert tn.as_tensor(a).numpy()[0, 0] == 42
    t = tn.tensor([1.0, 2.0])
    assert tn.as_tensor(t) is t
    assert tn.eye(3).numpy().tolist() == np.eye(3).tolist() and tn.eye(2, 3).shape == (2, 3)
    np.testing.assert_allclose(tn.linspace(-1, 1, 5).numpy(), [-1, -0.5, 0, 0.5, 1])
    assert tn.full((2, 2), 7).dtype == np.int64 and tn.full((2,), 1.5).dtype == np.float32
    assert tn.zeros_like(t).tolist() == [0, 0] and tn.ones_like(t, dtype=tn.int64).dtype == np.int64
    assert tn.full_like(t, 3.0).tolist() == [3, 3] and tn.empty(2, 3).shape == (2, 3)
    assert tn.rand_like(t).shape == (2,) and tn.randn_like(t).dtype == np.float32


def test_tensor_methods(backend):
    x = tn.tensor([[1.0, 4.0], [9.0, 16.0]], requires_grad=True)
    assert x.t().tolist() == [[1, 9], [4, 16]] and x.nelement() == 4 and x.dim() == 2
    np.testing.assert_allclose(x.pow(0.5).numpy(), [[1, 2], [3, 4]])
    np.testing.assert_allclose(x.log10().numpy(), np.log10([[1, 4], [9, 16]]), rtol=1e-6)
    np.testing.assert_allclose(x.sin().numpy(), np.sin([[1, 4], [9, 16]]), rtol=1e-6)
    np.testing.assert_allclose(tn.cos(x).numpy(), np.cos([[1, 4], [9, 16]]), rtol=1e-6)
    assert x.argmax().item() == 3 and x.argmax(dim=1).tolist() == [1, 1]
    assert x.argmax(axis=0).tolist() == [1, 1] and tn.argmax(x, 1, keepdim=True).shape == (2, 1)
    assert x.argmin().item() == 0
    y = x * 2
    y.backward(gradient=tn.ones(2, 2))
    assert x.grad.tolist() == [[2, 2], [2, 2]]
    v = tn.arange(10)
    assert v[range(3)].tolist() == [0, 1, 2]
    rows = tn.arange(6).reshape(2, 3)
    assert rows[range(2), tn.tensor([2, 0])].tolist() == [2, 3]
    c = x.clone()
    assert c.tolist() == x.tolist() and c.grad_fn is not None


def test_one_hot_matches_pytorch(backend):
    labels = tn.tensor([0, 3, 1])
    onehot = F.one_hot(labels, num_classes=5)
    assert onehot.dtype == np.int64 and onehot.shape == (3, 5)
    assert to_numpy(onehot).argmax(1).tolist() == [0, 3, 1]
    assert F.one_hot(labels).shape == (3, 4)
    assert F.one_hot(labels, 5).float().dtype == np.float32
    with pytest.raises(TypeError, match="index tensors"):
        F.one_hot(tn.tensor([1.0]))


def test_numpy_functions_on_tensors(backend):
    """The seed tutorial's BCE one-liner: np.log on a tensor gives a tensor on the graph."""
    output = tn.tensor([0.9, 0.2], requires_grad=True)
    target = tn.tensor([1.0, 0.0])
    loss = -np.mean(target * np.log(output) + (1 - target) * np.log(1 - output))
    assert isinstance(loss, tn.Tensor)
    loss.backward()
    np.testing.assert_allclose(output.grad.numpy(), [-1 / 0.9 / 2, 1 / 0.8 / 2], rtol=1e-5)
    assert isinstance(np.exp(tn.ones(2)), tn.Tensor) and np.shape(tn.ones(2, 3)) == (2, 3)
    assert isinstance(np.ones(2) + tn.ones(2), tn.Tensor)
    with pytest.raises(TypeError, match="np.median is not supported"):
        np.median(output)
    with pytest.raises(TypeError, match="NumPy's arctan2 is not supported"):
        np.arctan2(output, output)


def test_numpy_arrays_from_cpu_tensors():
    t = tn.tensor([1.0, 2.0])
    assert np.asarray(t).tolist() == [1.0, 2.0]
    with pytest.raises(RuntimeError, match="requires grad.*detach"):
        np.asarray(tn.ones(2, requires_grad=True))


def test_no_implicit_numpy_conversion_on_a_device():
    pytest.importorskip("array_api_strict")
    with pytest.raises(TypeError, match="strict.*numpy"):
        np.asarray(tn.ones(2, device="strict"))


def test_missing_names_say_what_is_missing():
    with pytest.raises(AttributeError, match="tinynet has no torch.einsum; use matmul"):
        tn.einsum
    with pytest.raises(AttributeError, match="tinynet has no torch.nn.LSTM"):
        tn.nn.LSTM
    with pytest.raises(AttributeError, match="'Tensor' object has no attribute 'foo'"):
        tn.ones(1).foo


def test_set_grad_enabled(backend):
    x = tn.ones(1, requires_grad=True)
    with tn.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
    tn.set_grad_enabled(False)
    try:
        assert not tn.is_grad_enabled()
    finally:
        tn.set_grad_enabled(True)


@pytest.mark.parametrize("options", [{}, {"momentum": 0.9}, {"centered": True},
                                     {"weight_decay": 0.1, "alpha": 0.9},
                                     {"momentum": 0.5, "centered": True, "maximize": True}],
                         ids=str)
def test_rmsprop_matches_pytorch(backend, options):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((3, 4)).astype(np.float32)
    grads = [rng.standard_normal((3, 4)).astype(np.float32) for _ in range(5)]
    p = tn.tensor(w0, requires_grad=True)
    q = torch.tensor(w0, requires_grad=True)
    ours, theirs = tn.optim.RMSprop([p], lr=0.01, **options), torch.optim.RMSprop([q], lr=0.01,
                                                                                 **options)
    for g in grads:
        p.grad, q.grad = tn.tensor(g), torch.tensor(g)
        ours.step()
        theirs.step()
    np.testing.assert_allclose(to_numpy(p), q.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert set(ours.state_dict()["state"][0]) == set(theirs.state_dict()["state"][0])

"""In-place updates as PyTorch code writes them, and the write stamps that keep a backward
from computing gradients from values changed after the forward pass."""
import numpy as np
import pytest

import tinynet as tn
import tinynet.nn.functional as F
from tinynet import nn
from conftest import to_numpy


def test_in_place_methods_outside_the_graph(backend):
    t = tn.zeros(2, 3)
    assert t.zero_() is t and t.fill_(2.0) is t
    t.add_(1).mul_(2).sub_(tn.ones(3)).div_(5)           # chained, with broadcasting
    np.testing.assert_allclose(t.numpy(), np.full((2, 3), 1.0))
    t.add_(tn.ones(2, 3), alpha=-0.5)
    np.testing.assert_allclose(t.numpy(), np.full((2, 3), 0.5))
    t.clamp_(max=0.2)
    assert np.all(t.numpy() == np.float32(0.2))
    t.copy_(tn.tensor(np.arange(6.0).reshape(2, 3)))       # float64 into float32: cast
    assert t.dtype == np.float32 and t.numpy()[1, 2] == 5
    t[0] = 7.0
    t[1, 2] += 1
    t[:, 0] = tn.tensor([8.0, 9.0])
    np.testing.assert_array_equal(t.numpy(), [[8, 7, 7], [9, 4, 6]])
    t[tn.tensor([0, 1]), tn.tensor([1, 1])] = -1.0         # integer-array assignment
    assert t.numpy()[0, 1] == -1 and t.numpy()[1, 1] == -1
    t += 1
    t *= tn.tensor(2.0)
    assert t.numpy()[0, 0] == 18


def test_random_fills_are_reproducible_per_generator(backend):
    a = tn.zeros(1000).uniform_(-2, 3, generator=tn.Generator().manual_seed(5))
    b = tn.zeros(1000).uniform_(-2, 3, generator=tn.Generator().manual_seed(5))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert -2 <= a.numpy().min() and a.numpy().max() < 3
    n = tn.zeros(20000).normal_(1.0, 2.0)
    assert abs(n.numpy().mean() - 1.0) < 0.1 and abs(n.numpy().std() - 2.0) < 0.1


def test_a_leaf_that_requires_grad_refuses_in_place_outside_no_grad(backend):
    w = tn.ones(3, requires_grad=True)
    for update in (lambda: w.add_(1), lambda: w.zero_(), lambda: w.__setitem__(0, 2.0),
                   lambda: w.uniform_()):
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            update()
    with tn.no_grad():
        w.add_(1)
        w[0] = 5.0
    np.testing.assert_array_equal(w.numpy(), [5, 2, 2])
    assert w.requires_grad and w.is_leaf


def test_micrograd_style_updates_through_data(backend):
    w = tn.tensor([1.0, -2.0], requires_grad=True)
    for _ in range(3):
        loss = (w * w).sum()
        w.grad = None
        loss.backward()
        w.data += -0.25 * w.grad
    np.testing.assert_allclose(w.numpy(), [0.125, -0.25])


def test_item_assignment_of_a_value_that_requires_grad_is_refused(backend):
    x, w = tn.zeros(3), tn.ones(1, requires_grad=True)
    with pytest.raises(RuntimeError, match="value requires grad.*tn.cat"):
        x[0] = (w * 2)[0]


def test_float_into_an_integer_tensor_is_refused(backend):
    counts = tn.zeros(3, dtype=tn.int64)
    counts[1] += 2
    with pytest.raises(RuntimeError, match="result type float32 can't be cast.*int64"):
        counts.add_(0.5)


# ---- write stamps: a value changed between forward and backward -------------------------
def test_a_parameter_changed_between_forward_and_backward_raises(backend):
    lin = nn.Linear(3, 2)
    x = tn.ones(4, 3)
    loss = lin(x).sum()
    with tn.no_grad():
        lin.weight.add_(1.0)  # Linear saved the weight for dL/dx: it is stale now
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*Linear.*"
                                           r"\(2, 3\)"):
        loss.backward()


def test_an_optimizer_step_before_backward_raises(backend):
    lin = nn.Linear(3, 2)
    opt = tn.optim.SGD(lin.parameters(), lr=0.1)
    loss = (lin(tn.ones(4, 3)) ** 2).sum()
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_writes_through_data_or_detach_are_seen(backend):
    x = tn.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()                      # Exp saves its output y
    z = y.sum()                      # (Sum saves nothing)
    y.detach().mul_(2)               # changes y's values
    with pytest.raises(RuntimeError, match="the output of Exp"):
        z.backward()
    p = tn.tensor([1.0, 2.0], requires_grad=True)
    loss = (p * p).sum()
    p.data += 1                      # Mul saved p
    with pytest.raises(RuntimeError, match="input 0 of Mul"):
        loss.backward()


def test_writes_that_backward_does_not_need_are_fine(backend):
    x = tn.tensor([1.0, 2.0], requires_grad=True)
    c = tn.tensor([5.0, 5.0])
    y = (x + c).sum()               # Add saves nothing: c's values are not needed
    c.add_(1)
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1, 1])
    loss = (x * 2).sum()             # a write after backward, then a new forward: fine
    loss.backward()
    with tn.no_grad():
        x.sub_(x.grad)
    (x * x).sum().backward()


def test_a_training_loop_records_no_false_alarm(backend):
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    opt = tn.optim.Adam(model.parameters(), lr=1e-2)
    x, y = tn.randn(16, 4), tn.tensor(np.arange(16) % 3)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert np.isfinite(to_numpy(model[0].weight)).all()


# ---- ReLU(inplace=True) ----------------------------------------------------------------------
def test_relu_inplace_overwrites_where_no_graph_is_recorded(backend):
    t = tn.tensor([-1.0, 3.0])
    alias = t.detach()
    assert F.relu(t, inplace=True) is t and to_numpy(alias).tolist() == [0.0, 3.0]
    assert t.relu_() is t
    w = tn.tensor([-1.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad.*relu_"):
        w.relu_()
    with tn.no_grad():
        assert nn.ReLU(inplace=True)(w) is w
    assert to_numpy(w).tolist() == [0.0, 3.0]


def test_relu_inplace_in_the_graph_leaves_the_saved_values_and_the_gradients_right(backend):
    x = tn.tensor([-1.0, 2.0, -0.5], requires_grad=True)
    z = x * 1.5
    square = z * z  # Mul saved z
    y = nn.ReLU(inplace=True)(z)
    assert repr(nn.ReLU(inplace=True)) == "ReLU(inplace=True)" and repr(nn.ReLU()) == "ReLU()"
    np.testing.assert_array_equal(to_numpy(y), [0.0, 3.0, 0.0])
    (square.sum() + y.sum()).backward()
    z_old = 1.5 * np.array([-1.0, 2.0, -0.5])
    np.testing.assert_allclose(to_numpy(x.grad), 1.5 * (2 * z_old + (z_old > 0)), rtol=1e-6)
    with pytest.raises(RuntimeError, match="relu_ on a tensor computed by the graph"):
        (x * 2).relu_()  # the explicit method is refused in the graph, as other in-place ops


def test_a_network_with_relu_inplace_trains_as_pytorchs():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 6)).astype(np.float32), rng.integers(0, 3, 16)
    torch.manual_seed(0)
    start = {k: v.numpy().copy() for k, v in torch.nn.Sequential(
        torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)).state_dict().items()}
    results = []
    for lib in (tn, torch):
        net = lib.nn.Sequential(lib.nn.Linear(6, 8), lib.nn.ReLU(inplace=True),
                                lib.nn.Linear(8, 3))
        net.load_state_dict({k: lib.tensor(v) for k, v in start.items()})
        opt = lib.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        for _ in range(3):
            opt.zero_grad()
            lib.nn.functional.cross_entropy(net(lib.tensor(x)), lib.tensor(y)).backward()
            opt.step()
        results.append({k: v.detach().numpy().copy() for k, v in net.state_dict().items()})
    for key in start:
        np.testing.assert_allclose(results[0][key], results[1][key], rtol=1e-5, atol=1e-6)

"""The engine: graph recording, backward order, accumulation, release, grad modes, dtypes."""
import gc
import weakref

import numpy as np
import pytest

import tinynet as tn


def test_long_chain_needs_no_recursion(backend):
    x = tn.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.sum().backward()  # the default recursion limit is 1000: the walk must be iterative
    np.testing.assert_allclose(x.grad.numpy(), [1.0001 ** 10_000], rtol=1e-3)


def test_diamond_graph_sums_both_paths(backend):
    x = tn.tensor(2.0, requires_grad=True)
    a = x * 3
    y = a * a + a.exp() + a  # a is used three times
    y.backward()
    expected = 2 * 6 * 3 + np.exp(6.0) * 3 + 3
    np.testing.assert_allclose(x.grad.item(), expected, rtol=1e-6)


def test_gradients_accumulate_until_zeroed(backend):
    x = tn.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0])
    x.zero_grad()
    assert x.grad is None


def test_shared_gradient_is_not_aliased(backend):
    a, b = tn.tensor([1.0], requires_grad=True), tn.tensor([1.0], requires_grad=True)
    (a + b).sum().backward()
    (a * 1).sum().backward()  # accumulates into a.grad in place: b.grad must not change
    assert a.grad.item() == 2.0 and b.grad.item() == 1.0


def test_graph_is_released_and_second_backward_fails(backend):
    x = tn.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward(backend):
    x = tn.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * np.exp([1.0, 2.0]), rtol=1e-6)


def test_activations_are_freed_after_backward():
    x = tn.tensor(np.ones((100, 100), np.float32), requires_grad=True)
    h = x.exp()                       # Exp saves its output
    saved = weakref.ref(h._node.y)
    loss = (h * 2).sum()
    del h
    loss.backward()
    gc.collect()
    assert saved() is None, "the graph still holds an activation after backward"


def test_intermediates_are_freed_while_backward_runs():
    """An intermediate result that only the graph holds is freed as soon as the pass is
    below it, not when the whole pass ends: the memory of a deep network's activations
    comes back layer by layer, and the next gradients can reuse it."""
    from tinynet.autograd import Function

    alive = {}

    class Probe(Function):  # the first op: its backward runs last and looks above it
        __slots__ = ()

        def forward(self, x):
            return x * 1.0

        def backward(self, gy):
            alive.update({name: ref() is not None for name, ref in refs.items()})
            return (gy,)

    x = tn.tensor(np.ones((64, 64), np.float32), requires_grad=True)
    a = Probe.apply(x)
    b = a.exp()          # Exp saves its output: the array lives until Exp's backward
    c = b * 3.0
    refs = {"b": weakref.ref(b.array), "c": weakref.ref(c.array)}
    loss = c.sum()
    del a, b, c
    loss.backward()
    assert alive == {"b": False, "c": False}, f"still alive in the last backward: {alive}"
    np.testing.assert_allclose(x.grad.numpy(), np.full((64, 64), 3 * np.e), rtol=1e-6)


def test_no_grad_records_nothing():
    x = tn.tensor([1.0], requires_grad=True)
    with tn.no_grad():
        y = x * 2
        with tn.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None
    assert tn.is_grad_enabled()


def test_requires_grad_propagates_and_leaves_default_off(backend):
    a = tn.tensor([1.0, 2.0])
    b = tn.tensor([3.0, 4.0], requires_grad=True)
    assert not a.requires_grad and not (a * 2).requires_grad
    assert (a * b).requires_grad and (a * b).is_leaf is False
    assert b.is_leaf and b.detach().requires_grad is False


def test_integer_tensors_cannot_require_grad(backend):
    labels = tn.tensor([0, 1, 2])
    assert labels.dtype == np.int64
    with pytest.raises(RuntimeError, match="floating point.*int64"):
        labels.requires_grad = True


def test_float32_stays_float32(backend):
    x = tn.tensor([1.0, 2.0], requires_grad=True)
    assert x.dtype == tn.float32
    y = ((x * 2.5 + 1) / 3.0 - 0.5) ** 2
    y = y.exp().log().tanh().sigmoid().sqrt().mean()
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32


def test_float64_works_everywhere(backend):
    x = tn.tensor(np.array([1.0, 2.0]), requires_grad=True)
    assert x.dtype == np.float64
    (x * 2).exp().sum().backward()
    assert x.grad.dtype == np.float64


def test_tensor_dtype_rules(backend):
    assert tn.tensor(1.5).dtype == np.float32
    assert tn.tensor([1, 2]).dtype == np.int64
    assert tn.tensor(np.array([1.0])).dtype == np.float64
    assert tn.tensor(np.array([1], np.int64)).dtype == np.int64
    assert tn.tensor(np.array([1], np.uint8)).dtype == np.uint8
    assert tn.tensor([1.0], dtype=tn.float64).dtype == np.float64
    assert tn.zeros(2, 3).shape == (2, 3) and tn.ones((2, 3)).dtype == np.float32
    assert tn.randn(4, 5).dtype == np.float32 and tn.arange(5).dtype == np.int64
    assert (tn.tensor([1, 2]) * 1.5).dtype == np.float32


def test_item_numpy_and_repr(backend):
    x = tn.tensor([[1.5]])
    assert x.item() == 1.5 and isinstance(x.item(), float)
    assert isinstance(x.numpy(), np.ndarray)
    assert "tensor(" in repr(x)
    with pytest.raises(ValueError, match=r"one element.*\(2,\)"):
        tn.tensor([1.0, 2.0]).item()


def test_backward_with_explicit_gradient(backend):
    x = tn.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).backward(tn.tensor([1.0, 0.5]))
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 1.5])


def test_seed_makes_randn_reproducible(backend):
    tn.manual_seed(7)
    a = tn.randn(3).numpy()
    tn.manual_seed(7)
    np.testing.assert_array_equal(a, tn.randn(3).numpy())


def test_in_place_update_under_no_grad(backend):
    w = tn.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    with tn.no_grad():
        w -= 0.5 * w.grad
    assert w.requires_grad and w.is_leaf
    np.testing.assert_allclose(w.numpy(), [0.0, 0.0])
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad.*in-place"):
        w -= 1.0


# ---- the engine's own checks: a wrong op is caught, named, and never silently accepted ----
from tinynet.autograd import Function  # noqa: E402
from tinynet.backend import array_module  # noqa: E402


class _TransposedGradient(Function):
    """A deliberately wrong op: y = x, but backward returns gy transposed."""

    __slots__ = ()

    def forward(self, x):
        return x * 1

    def backward(self, gy):
        return (array_module(gy).permute_dims(gy, (1, 0)),)


class _FlattenedGradient(Function):
    __slots__ = ()

    def forward(self, x):
        return x * 1

    def backward(self, gy):
        return (array_module(gy).reshape(gy, (-1,)),)


class _Float64Gradient(Function):
    __slots__ = ()

    def forward(self, x):
        return x * 1

    def backward(self, gy):
        return (array_module(gy).astype(gy, array_module(gy).float64),)


class _TooManyGradients(Function):
    __slots__ = ()

    def forward(self, x):
        return x * 1

    def backward(self, gy):
        return gy, gy


@pytest.mark.parametrize("op,match", [
    (_TransposedGradient, r"_TransposedGradient.backward returned a gradient of shape "
                          r"\(4, 3\).*input of shape \(3, 4\)"),
    (_FlattenedGradient, r"_FlattenedGradient.backward returned a gradient of shape \(12,\)"),
    (_Float64Gradient, r"_Float64Gradient.backward returned .*dtype float64.*float32"),
    (_TooManyGradients, r"_TooManyGradients.backward returned 2 gradients for 1 inputs"),
])
def test_a_wrong_gradient_raises_and_names_the_op(backend, op, match):
    x = tn.tensor(np.arange(12.0, dtype=np.float32).reshape(3, 4), requires_grad=True)
    y = op.apply(x)
    with pytest.raises(RuntimeError, match=match):
        (y * 2).sum().backward()     # also when the wrong op is not the last node
    assert x.grad is None, "a wrong gradient must not reach .grad"


def test_broadcast_gradients_are_summed_not_reshaped(backend):
    """unbroadcast sums the leading and the stretched axes and nothing else."""
    from tinynet.autograd import unbroadcast
    g = tn.tensor(np.arange(24.0).reshape(2, 3, 4)).array
    np.testing.assert_array_equal(tn.Tensor(unbroadcast(g, (3, 1))).numpy(),
                                  np.arange(24.0).reshape(2, 3, 4).sum((0, 2))[:, None])
    assert tuple(unbroadcast(g, (4, 3)).shape) != (4, 3)   # no reshape to a wrong shape
    assert tuple(unbroadcast(g, ()).shape) == ()


def test_function_subclass_without_slots_is_refused():
    with pytest.raises(TypeError, match="Leaky must declare __slots__"):
        class Leaky(Function):          # would keep its saved arrays after backward
            def forward(self, x):
                self.x = x
                return x * x

            def backward(self, gy):
                return (2 * self.x * gy,)


def test_saved_arrays_of_every_op_are_freed(backend):
    """After backward every node's slots are None: nothing an op saved outlives the pass."""
    import tinynet.nn.functional as F
    x = tn.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4), requires_grad=True)
    w = tn.tensor(np.ones((5, 4), np.float32), requires_grad=True)
    h = F.dropout(F.linear(x, w).tanh() * x.sum(), 0.3).softmax(-1)
    loss = F.cross_entropy(h * 3, tn.tensor([0, 1, 4])) + (h ** 2).mean() + h.max()
    nodes, stack = [], [loss]
    while stack:
        t = stack.pop()
        if t.grad_fn is not None and t.grad_fn not in nodes:
            nodes.append(t.grad_fn)
            stack.extend(t.grad_fn.inputs)
    loss.backward()
    for node in nodes:
        assert node.inputs is None
        saved = [slot for c in type(node).__mro__ for slot in getattr(c, "__slots__", ())
                 if slot not in ("inputs", "needs_input_grad", "born")]
        for slot in saved:
            assert getattr(node, slot) is None, f"{node.name}.{slot} kept after backward"


def test_queued_callback_runs_once_after_every_gradient_is_accumulated(backend):
    """ops.OnBackward queues a callback (what DistributedDataParallel averages gradients
    with): it runs after the leaves' .grad are final, once per pass however often queued."""
    from tinynet import ops
    w = tn.tensor([1.0, 2.0], requires_grad=True)
    seen = []

    def callback():
        seen.append(w.grad.numpy().tolist())
    a = ops.OnBackward.apply(w * 3, callback=callback)
    b = ops.OnBackward.apply(w * w, callback=callback)
    (a + b).sum().backward()  # dL/dw = 3 + 2w, reached through both nodes
    assert seen == [[5.0, 7.0]]
    x = tn.tensor([1.0], requires_grad=True)
    (x * 2).sum().backward()  # a later pass that passes no such node calls nothing
    assert len(seen) == 1


def test_callbacks_of_a_failed_backward_are_dropped(backend):
    from tinynet.autograd import Function, queue_callback
    calls = []

    class Broken(Function):
        __slots__ = ()

        def forward(self, x):
            return x * 1

        def backward(self, gy):
            queue_callback(lambda: calls.append(1))
            raise ValueError("broken backward")
    x = tn.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="broken backward"):
        Broken.apply(x).sum().backward()
    (x * 2).sum().backward()  # the next pass starts with an empty queue
    assert calls == []

"""tinynet.nn next to torch.nn: with PyTorch's weights copied in, an MLP gives the same
outputs and the same parameter gradients of a cross-entropy loss; state dict keys, reprs,
default hyperparameters and init gains are PyTorch's."""
import numpy as np
import pytest

import tinynet as tn
import tinynet.nn as nn
import tinynet.nn.functional as F
from conftest import to_numpy

torch = pytest.importorskip("torch")
RTOL, ATOL = 1e-5, 1e-6  # float32


def both(build):
    """The same architecture in both libraries: ``build`` receives the nn namespace."""
    return build(torch.nn), build(nn)


def sequential_mlp(lib):
    return lib.Sequential(lib.Linear(20, 32), lib.ReLU(), lib.Dropout(0.5),
                          lib.Linear(32, 16), lib.Tanh(), lib.Linear(16, 10))


def custom_net(lib):
    class Net(lib.Module):
        def __init__(self):
            super().__init__()
            self.flatten = lib.Flatten()
            self.fc1 = lib.Linear(12, 8)
            self.act = lib.Sigmoid()
            self.blocks = lib.Sequential(lib.Linear(8, 8), lib.ReLU(),
                                         lib.Sequential(lib.Identity(), lib.Linear(8, 4)))
            self.out = lib.Linear(4, 3, bias=False)

        def forward(self, x):
            return self.out(self.blocks(self.act(self.fc1(self.flatten(x)))))
    return Net()


def copy_weights(torch_model, tiny_model):
    tiny_model.load_state_dict({k: v.detach().numpy() for k, v in
                                torch_model.state_dict().items()})


@pytest.mark.parametrize("build, shape", [(sequential_mlp, (8, 20)), (custom_net, (8, 3, 4))],
                         ids=["sequential", "custom"])
def test_forward_and_gradients_match_torch(backend, build, shape):
    torch.manual_seed(0)
    ref, model = both(build)
    ref.eval(), model.eval()  # Dropout off in both, so the two runs are deterministic
    copy_weights(ref, model)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    y = rng.integers(0, 3, shape[0])

    ref_out = ref(torch.from_numpy(x))
    torch.nn.functional.cross_entropy(ref_out, torch.from_numpy(y)).backward()
    out = model(tn.tensor(x))
    loss = nn.CrossEntropyLoss()(out, tn.tensor(y))
    loss.backward()

    np.testing.assert_allclose(to_numpy(out), ref_out.detach().numpy(), rtol=RTOL, atol=ATOL)
    ref_grads = {k: p.grad.numpy() for k, p in ref.named_parameters()}
    grads = {k: to_numpy(p.grad) for k, p in model.named_parameters()}
    assert list(grads) == list(ref_grads)
    for k in grads:
        np.testing.assert_allclose(grads[k], ref_grads[k], rtol=RTOL, atol=ATOL, err_msg=k)


@pytest.mark.parametrize("build", [sequential_mlp, custom_net])
def test_state_dict_keys_and_shapes_match_torch(build):
    ref, model = both(build)
    ref_sd, sd = ref.state_dict(), model.state_dict()
    assert list(sd) == list(ref_sd)
    assert [tuple(v.shape) for v in sd.values()] == [tuple(v.shape) for v in ref_sd.values()]
    assert [n for n, _ in model.named_children()] == [n for n, _ in ref.named_children()]
    assert len(list(model.modules())) == len(list(ref.modules()))


def test_mlp_repr_matches_torch():
    def mlp(lib):
        return lib.Sequential(lib.Flatten(), lib.Linear(784, 512), lib.ReLU(),
                              lib.Linear(512, 512), lib.Sigmoid(), lib.Linear(512, 10),
                              lib.LogSoftmax(dim=1))
    ref, model = both(mlp)
    assert repr(model) == repr(ref)


@pytest.mark.parametrize("make", [
    lambda lib: lib.Softmax(dim=1), lambda lib: lib.Flatten(0, 2), lambda lib: lib.Tanh(),
    lambda lib: lib.Identity(), lambda lib: lib.Linear(3, 4, bias=False), custom_net],
    ids=["softmax", "flatten", "tanh", "identity", "linear", "custom"])
def test_layer_reprs_match_torch(make):
    ref, model = both(make)
    assert repr(model) == repr(ref)


def test_linear_on_3d_input_matches_torch(backend):
    torch.manual_seed(1)
    ref, lin = both(lambda lib: lib.Linear(5, 7))
    copy_weights(ref, lin)
    x = np.random.default_rng(2).standard_normal((2, 3, 5)).astype(np.float32)
    np.testing.assert_allclose(to_numpy(lin(tn.tensor(x))),
                               ref(torch.from_numpy(x)).detach().numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(to_numpy(F.linear(tn.tensor(x), lin.weight)),
                               torch.nn.functional.linear(torch.from_numpy(x), ref.weight)
                               .detach().numpy(), rtol=RTOL, atol=ATOL)


def test_linear_init_distribution_matches_torch():
    # Not the same generator, so compare the distributions: same bound, same spread.
    torch.manual_seed(0)
    ref, lin = both(lambda lib: lib.Linear(300, 400))
    for name in ("weight", "bias"):
        a, b = getattr(lin, name).numpy(), getattr(ref, name).detach().numpy()
        assert abs(np.abs(a).max() - np.abs(b).max()) < 0.05 / np.sqrt(300)
        assert abs(a.std() - b.std()) < 0.1 * b.std()


@pytest.mark.parametrize("nonlinearity, param", [
    ("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None),
    ("leaky_relu", None), ("leaky_relu", 0.3), ("selu", None)])
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert nn.init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param), rel=1e-12)


def test_loss_module_defaults_match_torch():
    for name in ("CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "MSELoss"):
        ref, module = getattr(torch.nn, name)(), getattr(nn, name)()
        for attr in ("reduction", "ignore_index", "label_smoothing"):
            if hasattr(ref, attr):
                assert getattr(module, attr) == getattr(ref, attr), (name, attr)
    assert nn.Dropout().p == torch.nn.Dropout().p
    assert (nn.Flatten().start_dim, nn.Flatten().end_dim) == (1, -1)


def test_training_step_matches_torch():
    # One SGD step by hand on both sides: the updated weights agree, so gradients are not
    # only equal once but drive the same training.
    torch.manual_seed(3)
    ref, model = both(lambda lib: lib.Sequential(lib.Linear(6, 8), lib.ReLU(),
                                                 lib.Linear(8, 4)))
    copy_weights(ref, model)
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((16, 6)).astype(np.float32), rng.integers(0, 4, 16)
    for _ in range(3):
        ref.zero_grad(), model.zero_grad()
        torch.nn.functional.cross_entropy(ref(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        F.cross_entropy(model(tn.tensor(x)), tn.tensor(y)).backward()
        with torch.no_grad():
            for p in ref.parameters():
                p -= 0.5 * p.grad
        with tn.no_grad():
            for p in model.parameters():
                p.data = p.data - 0.5 * p.grad.data
    for k, v in ref.state_dict().items():
        np.testing.assert_allclose(model.state_dict()[k].numpy(), v.numpy(), rtol=1e-4,
                                   atol=1e-5, err_msg=k)

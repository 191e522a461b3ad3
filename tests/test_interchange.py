"""Models leave tinynet: safetensors files that PyTorch loads (and that tinynet reads back
from PyTorch), and ONNX files that onnxruntime runs to tinynet's outputs."""
import importlib.util
from collections import OrderedDict

import numpy as np
import pytest

import tinynet as tn
from tinynet import nn
from conftest import error_without, to_numpy



def _skip_without(*packages):
    missing = [p for p in packages if importlib.util.find_spec(p) is None]
    extra = {"safetensors": "safetensors", "torch": "torch", "onnx": "onnx",
             "onnxruntime": "onnx"}
    return pytest.mark.skipif(bool(missing), reason=f"{', '.join(missing)} not installed "
                              f"(pip install 'tinynet[{extra[missing[0]] if missing else ''}]')")


needs_safetensors = _skip_without("safetensors")
needs_torch = _skip_without("safetensors", "torch")
needs_onnx = _skip_without("onnx", "onnxruntime")


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(32, 16), nn.Tanh(), nn.Linear(16, 10))


def torch_mlp(torch):
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 32), torch.nn.ReLU(),
                               torch.nn.Dropout(0.2), torch.nn.Linear(32, 16),
                               torch.nn.Tanh(), torch.nn.Linear(16, 10))


def images(n, seed=0):
    return np.random.default_rng(seed).random((n, 28, 28), dtype=np.float32)


# ---- safetensors ----------------------------------------------------------------------------
@needs_safetensors
def test_safetensors_round_trip_keeps_order_dtypes_and_values(backend, tmp_path):
    state = OrderedDict([("z.weight", tn.randn(3, 2)), ("a.bias", tn.randn(3, dtype=tn.float64)),
                         ("steps", tn.tensor([1, 2, 3])), ("mask", tn.tensor([True, False]))])
    path = tmp_path / "state.safetensors"
    tn.save(state, path)
    loaded = tn.load(path)
    assert list(loaded) == list(state)  # saved order, not safetensors' sorted one
    for key, value in state.items():
        assert loaded[key].dtype == value.dtype and loaded[key].device == value.device
        np.testing.assert_array_equal(to_numpy(loaded[key]), to_numpy(value))
    assert not loaded["z.weight"].requires_grad
    assert tn.load(path, map_location="cpu")["a.bias"].device == "cpu"
    assert [p.name for p in tmp_path.iterdir()] == ["state.safetensors"]  # no temporaries


@needs_torch
def test_pytorch_loads_tinynet_safetensors_strictly_with_the_same_outputs(tmp_path):
    import torch
    from safetensors.torch import load_file
    model = mlp()
    path = tmp_path / "model.safetensors"
    tn.save(model.state_dict(), str(path))
    twin = torch_mlp(torch)
    twin.load_state_dict(load_file(str(path)), strict=True)
    model.eval(), twin.eval()
    x = images(5)
    expected = model(tn.tensor(x)).numpy()
    np.testing.assert_allclose(twin(torch.from_numpy(x)).detach().numpy(), expected,
                               rtol=1e-5, atol=1e-6)


@needs_torch
def test_tinynet_reads_safetensors_that_pytorch_wrote(tmp_path):
    import torch
    from safetensors.torch import save_file
    torch.manual_seed(0)
    twin = torch_mlp(torch).eval()
    path = tmp_path / "torch.safetensors"
    save_file(twin.state_dict(), str(path))
    model = mlp().eval()
    model.load_state_dict(tn.load(path), strict=True)
    x = images(4, seed=1)
    np.testing.assert_allclose(model(tn.tensor(x)).numpy(),
                               twin(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
    save_file({"w": torch.ones(2, dtype=torch.bfloat16)}, str(tmp_path / "bf16.safetensors"))
    with pytest.raises(ValueError, match=r"'w' \(BF16\); convert"):
        tn.load(tmp_path / "bf16.safetensors")


@needs_safetensors
def test_safetensors_refuses_what_it_cannot_hold_before_writing(tmp_path):
    path = tmp_path / "run.safetensors"
    with pytest.raises(TypeError, match="flat dict of tensors.*npz checkpoint"):
        tn.save([tn.ones(2)], path)
    with pytest.raises(TypeError, match="'optimizer' is a dict"):
        tn.save({"model.w": tn.ones(2), "optimizer": {"lr": 0.1}}, path)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(FileNotFoundError, match="no such file"):
        tn.load(tmp_path / "missing.safetensors")
    path.write_bytes(b"not safetensors at all")
    with pytest.raises(ValueError, match="not a valid safetensors file"):
        tn.load(path)


# ---- ONNX -----------------------------------------------------------------------------------
def _run_onnx(path, x):
    import onnxruntime
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


MODELS = {
    "mlp": (mlp, (3, 28, 28)),
    "logreg": (lambda: nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), (3, 28, 28)),
    "sigmoid-softmax": (lambda: nn.Sequential(nn.Linear(6, 5), nn.Sigmoid(), nn.Linear(5, 4),
                                              nn.Softmax(dim=1)), (3, 6)),
    "nested-logsoftmax": (lambda: nn.Sequential(
        nn.Sequential(nn.Linear(6, 5, bias=False), nn.ReLU()), nn.Identity(),
        nn.Linear(5, 4), nn.LogSoftmax(dim=-1)), (3, 6)),
    "linear-on-3d": (lambda: nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Flatten()),
                     (3, 4, 6)),
    "flatten-middle": (lambda: nn.Sequential(nn.Flatten(1, 2), nn.Linear(5, 3)), (3, 2, 2, 5)),
    "float64": (lambda: nn.Sequential(nn.Linear(6, 5, dtype=tn.float64), nn.Tanh()), (3, 6)),
    "dropout-only": (lambda: nn.Sequential(nn.Dropout(0.5)), (3, 6)),
    "bare-linear": (lambda: nn.Linear(6, 4), (3, 6)),
}


@needs_onnx
@pytest.mark.parametrize("name", MODELS)
def test_onnx_export_is_valid_and_onnxruntime_gives_the_same_outputs(name, tmp_path):
    import onnx
    build, shape = MODELS[name]
    model = build()
    dtype = np.float64 if name == "float64" else np.float32
    example = tn.tensor(np.random.default_rng(0).standard_normal(shape).astype(dtype))
    path = tmp_path / "model.onnx"
    proto = tn.onnx.export(model, example, path)
    assert model.training  # the mode is restored after exporting in eval mode
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    assert proto.opset_import[0].version == tn.onnx.OPSET
    assert {i.name for i in proto.graph.initializer if not i.name.endswith(".shape")} \
        == set(model.state_dict())  # the same names as the state dict (and PyTorch's)
    model.eval()
    for batch in (shape[0], 7):  # axis 0 is a free batch axis
        x = np.random.default_rng(batch).standard_normal((batch,) + shape[1:]).astype(dtype)
        np.testing.assert_allclose(_run_onnx(path, x), model(tn.tensor(x)).numpy(),
                                   rtol=1e-5, atol=1e-5)


@needs_onnx
def test_onnx_export_names_a_layer_it_cannot_export_and_keeps_the_batch_axis(tmp_path):
    class Square(nn.Module):
        def forward(self, x):
            return x * x

    model = nn.Sequential(nn.Linear(4, 3), Square())
    with pytest.raises(TypeError, match="layer '1' is a Square, which has no ONNX exporter"):
        tn.onnx.export(model, tn.randn(2, 4), tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == [] and model.training
    proto = tn.onnx.export(nn.Sequential(nn.Linear(4, 3)), tn.randn(2, 4), tmp_path / "m.onnx",
                           input_names=["pixels"], output_names=["logits"])  # PyTorch's names
    assert [proto.graph.input[0].name, proto.graph.output[0].name] == ["pixels", "logits"]
    (tmp_path / "m.onnx").unlink()
    with pytest.raises(ValueError, match="layer '0'.*merges the batch axis 0"):
        tn.onnx.export(nn.Sequential(nn.Flatten(0)), tn.randn(2, 4), tmp_path / "m.onnx")


# ---- the extras are optional: a clear error names the one to install ------------------------
@pytest.mark.parametrize("package,call,extra", [
    ("safetensors", "tn.save({'w': tn.ones(2)}, 'w.safetensors')", "safetensors"),
    ("onnx", "tn.onnx.export(tn.nn.Linear(2, 2), tn.ones(1, 2), 'm.onnx')", "onnx"),
])
def test_a_missing_extra_is_named(tmp_path, package, call, extra):
    assert f"pip install 'tinynet[{extra}]'" in error_without(tmp_path, package, call)


# ---- convolutional networks: buffers in safetensors, layers in ONNX --------------------------
def cnn(nn_module, bn1d_features=12):
    """The same CNN in tinynet.nn or torch.nn: every CNN layer ONNX exports, on (N, 784) rows."""
    m = nn_module
    return m.Sequential(m.Unflatten(1, (1, 28, 28)), m.Conv2d(1, 4, (3, 2), stride=2, padding=1),
                        m.BatchNorm2d(4), m.ReLU(), m.MaxPool2d(2, stride=1, padding=1),
                        m.Conv2d(4, 6, 3, bias=False), m.AvgPool2d(3, stride=2, padding=1),
                        m.Flatten(), m.Linear(6 * 7 * 7, bn1d_features),
                        m.BatchNorm1d(bn1d_features), m.Tanh(), m.Linear(bn1d_features, 10))


def trained_cnn(steps=3):
    """A tinynet CNN after a few training steps: its running statistics are not 0 and 1."""
    tn.manual_seed(0)
    model = cnn(nn)
    opt = tn.optim.SGD(model.parameters(), lr=0.1)
    rng = np.random.default_rng(3)
    for _ in range(steps):
        x = tn.tensor(rng.random((16, 784), dtype=np.float32))
        loss = tn.nn.functional.cross_entropy(model(x), tn.tensor(rng.integers(0, 10, 16)))
        opt.zero_grad(), loss.backward(), opt.step()
    return model


@needs_torch
def test_safetensors_carry_batchnorm_buffers_to_pytorch_and_back(tmp_path):
    import torch
    from safetensors.torch import load_file, save_file
    model = trained_cnn()
    state = model.state_dict()
    assert state["2.num_batches_tracked"].item() == 3 and state["9.running_var"].dtype == tn.float32
    path = tmp_path / "cnn.safetensors"
    tn.save(state, path)
    assert tn.load(path)["2.num_batches_tracked"].shape == ()  # 0-d stays 0-d
    assert load_file(str(path))["2.num_batches_tracked"].shape == ()
    twin = cnn(torch.nn)
    twin.load_state_dict(load_file(str(path)), strict=True)  # buffers included, or it fails
    assert twin[2].num_batches_tracked.item() == 3
    model.eval(), twin.eval()  # eval: the running statistics normalise
    x = np.random.default_rng(4).random((5, 784), dtype=np.float32)
    np.testing.assert_allclose(twin(torch.from_numpy(x)).detach().numpy(),
                               model(tn.tensor(x)).numpy(), rtol=1e-4, atol=1e-5)
    twin.train()
    twin(torch.from_numpy(x))  # PyTorch moves its statistics; tinynet reads them back
    save_file(twin.state_dict(), str(tmp_path / "torch.safetensors"))
    back = cnn(nn)
    back.load_state_dict(tn.load(tmp_path / "torch.safetensors"), strict=True)
    assert back[9].num_batches_tracked.item() == 4
    np.testing.assert_allclose(back[2].running_mean.numpy(), twin[2].running_mean.numpy())
    back.eval(), twin.eval()
    np.testing.assert_allclose(back(tn.tensor(x)).numpy(),
                               twin(torch.from_numpy(x)).detach().numpy(), rtol=1e-4, atol=1e-5)


@needs_onnx
def test_onnx_export_of_a_cnn_runs_in_onnxruntime_to_tinynets_eval_outputs(tmp_path):
    model = trained_cnn()
    path = tmp_path / "cnn.onnx"
    proto = tn.onnx.export(model, tn.tensor(np.zeros((2, 784), np.float32)), path)
    assert model.training
    ops = [node.op_type for node in proto.graph.node]
    for op in ("Reshape", "Conv", "BatchNormalization", "MaxPool", "AveragePool", "Flatten"):
        assert op in ops, op
    names = {i.name for i in proto.graph.initializer if not i.name.endswith(".shape")}
    assert names == {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}
    model.eval()
    for batch in (3, 7):
        x = np.random.default_rng(batch).random((batch, 784), dtype=np.float32)
        np.testing.assert_allclose(_run_onnx(path, x), model(tn.tensor(x)).numpy(),
                                   rtol=1e-4, atol=1e-5)


@needs_onnx
def test_onnx_export_of_batchnorm_without_affine_and_without_running_stats(tmp_path):
    model = nn.Sequential(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3, affine=False))
    model(tn.randn(4, 2, 5, 5))  # one step of statistics
    tn.onnx.export(model, tn.randn(1, 2, 5, 5), tmp_path / "bn.onnx")
    model.eval()
    x = np.random.default_rng(0).standard_normal((2, 2, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(_run_onnx(tmp_path / "bn.onnx", x), model(tn.tensor(x)).numpy(),
                               rtol=1e-5, atol=1e-5)
    stateless = nn.Sequential(nn.BatchNorm2d(3, track_running_stats=False))
    with pytest.raises(ValueError, match="layer '0'.*no running statistics"):
        tn.onnx.export(stateless, tn.randn(2, 3, 4, 4), tmp_path / "none.onnx")
    with pytest.raises(ValueError, match="splits the batch axis 0"):
        tn.onnx.export(nn.Sequential(nn.Unflatten(0, (1, 2))), tn.randn(2, 4),
                       tmp_path / "none.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bn.onnx"]

"""BatchNorm1d/2d against PyTorch: training and evaluation outputs, gradients, running
statistics over several steps (momentum, momentum=None, affine and track_running_stats off),
and the buffers that hold them: registered, named, in state_dict under PyTorch's names,
moved by .to(), saved and restored by checkpoints."""
import numpy as np
import pytest

import tinynet as tn
from tinynet import nn
from conftest import to_numpy

torch = pytest.importorskip("torch")

CASES = [  # (layer, input shape)
    ("BatchNorm1d", (8, 3)),
    ("BatchNorm1d", (4, 3, 5)),
    ("BatchNorm2d", (4, 3, 5, 6)),
]


def pair(name, shape, **options):
    ours = getattr(nn, name)(shape[1], dtype=tn.float64, **options)
    theirs = getattr(torch.nn, name)(shape[1], dtype=torch.float64, **options)
    if ours.affine:  # non-trivial γ and β, the same in both
        rng = np.random.default_rng(7)
        w, b = rng.uniform(0.5, 1.5, shape[1]), rng.standard_normal(shape[1])
        theirs.weight.data = torch.tensor(w)
        ours.load_state_dict({"weight": w}, strict=False)
        if ours.bias is not None:
            theirs.bias.data = torch.tensor(b)
            ours.load_state_dict({"bias": b}, strict=False)
    return ours, theirs


def step(ours, theirs, x, gy):
    """One forward and backward of both; returns the two outputs and input gradients."""
    X, tx = tn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = ours(X), theirs(tx)
    y.backward(tn.tensor(gy))
    ty.backward(torch.tensor(gy))
    return (y, X.grad), (ty, tx.grad)


@pytest.mark.parametrize("options", [{}, {"momentum": None}, {"affine": False},
                                     {"track_running_stats": False}, {"momentum": 0.3},
                                     {"bias": False}])
@pytest.mark.parametrize("name,shape", CASES)
def test_training_then_eval_match_torch_step_by_step(backend, name, shape, options):
    ours, theirs = pair(name, shape, **options)
    rng = np.random.default_rng(0)
    for _ in range(4):  # running statistics accumulate over the steps
        x = rng.standard_normal(shape) * 3 + 1
        gy = rng.standard_normal(shape)
        (y, gx), (ty, tgx) = step(ours, theirs, x, gy)
        np.testing.assert_allclose(to_numpy(y), ty.detach().numpy(), atol=1e-12)
        np.testing.assert_allclose(to_numpy(gx), tgx.numpy(), atol=1e-12)
    for (key, ours_value), (tkey, theirs_value) in zip(ours.state_dict().items(),
                                                       theirs.state_dict().items()):
        assert key == tkey
        np.testing.assert_allclose(to_numpy(ours_value), theirs_value.numpy(), atol=1e-12,
                                   err_msg=key)
    if ours.affine:
        for p, tp in zip(ours.parameters(), theirs.parameters()):
            np.testing.assert_allclose(to_numpy(p.grad), tp.grad.numpy(), atol=1e-10)
    ours.eval(), theirs.eval()
    x, gy = rng.standard_normal(shape), rng.standard_normal(shape)
    (y, gx), (ty, tgx) = step(ours, theirs, x, gy)
    np.testing.assert_allclose(to_numpy(y), ty.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(to_numpy(gx), tgx.numpy(), atol=1e-12)


def test_float32_running_statistics_and_counter(backend):
    bn = nn.BatchNorm2d(2)
    x = tn.tensor(np.arange(48, dtype=np.float32).reshape(2, 2, 3, 4))
    y = bn(x)
    assert y.dtype == np.float32 and bn.running_mean.dtype == np.float32
    assert bn.num_batches_tracked.dtype == np.int64 and bn.num_batches_tracked.item() == 1
    values = np.arange(48.0).reshape(2, 2, 3, 4).transpose(1, 0, 2, 3).reshape(2, -1)
    np.testing.assert_allclose(to_numpy(bn.running_mean), 0.1 * values.mean(1), rtol=1e-6)
    np.testing.assert_allclose(to_numpy(bn.running_var), 0.9 + 0.1 * values.var(1, ddof=1),
                               rtol=1e-6)
    bn.eval()
    bn(x)
    assert bn.num_batches_tracked.item() == 1  # evaluation changes nothing


def test_buffers_are_registered_named_and_not_parameters():
    net = nn.Sequential(nn.Conv2d(1, 4, 3, bias=False), nn.BatchNorm2d(4), nn.ReLU())
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "1.weight", "1.bias"]
    assert [n for n, _ in net.named_buffers()] == [
        "1.running_mean", "1.running_var", "1.num_batches_tracked"]
    assert len(list(net.buffers())) == 3
    ref = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, bias=False), torch.nn.BatchNorm2d(4),
                              torch.nn.ReLU())
    assert list(net.state_dict()) == list(ref.state_dict())
    assert repr(net[1]) == repr(ref[1])
    assert repr(nn.BatchNorm1d(2, bias=False)) == repr(torch.nn.BatchNorm1d(2, bias=False))


def test_register_buffer_rules():
    m = nn.Module()
    m.register_buffer("scale", tn.ones(3))
    m.register_buffer("cache", tn.zeros(2), persistent=False)
    assert list(m.state_dict()) == ["scale"] and [n for n, _ in m.named_buffers()] == [
        "scale", "cache"]
    m.scale = tn.zeros(3)  # assigning a Tensor to a buffer's name replaces the buffer
    assert m._buffers["scale"] is m.scale and m.scale.numpy().sum() == 0
    with pytest.raises(TypeError, match="cannot assign list as buffer 'scale'"):
        m.scale = [1.0, 2.0]
    with pytest.raises(KeyError, match="attribute 'training' already exists"):
        m.register_buffer("training", tn.ones(1))
    with pytest.raises(KeyError, match="without"):
        m.register_buffer("a.b", tn.ones(1))
    with pytest.raises(TypeError, match="not a Parameter"):
        m.register_buffer("w", nn.Parameter(tn.ones(1)))
    del m.scale
    assert list(m.state_dict()) == []


def test_load_state_dict_from_torch_and_back():
    ref = torch.nn.BatchNorm1d(3)
    ref(torch.randn(6, 3) * 2 + 1)  # running statistics move, the counter becomes 1
    bn = nn.BatchNorm1d(3)
    bn.load_state_dict({k: v.numpy() for k, v in ref.state_dict().items()})
    for key, value in bn.state_dict().items():
        np.testing.assert_allclose(value.numpy(), ref.state_dict()[key].numpy(), err_msg=key)
    assert bn.num_batches_tracked.dtype == np.int64 and bn.num_batches_tracked.item() == 1
    fresh = torch.nn.BatchNorm1d(3)
    fresh.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                           for k, v in bn.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    bn.eval(), fresh.eval()
    np.testing.assert_allclose(bn(tn.tensor(x)).numpy(),
                               fresh(torch.tensor(x)).detach().numpy(), atol=1e-6)


def test_buffers_move_with_to_and_keep_integer_dtype():
    pytest.importorskip("array_api_strict")
    bn = nn.BatchNorm2d(2).to("strict")
    assert {b.device for b in bn.buffers()} == {"strict"}
    bn(tn.randn(2, 2, 3, 3, device="strict"))
    assert bn.num_batches_tracked.item() == 1
    bn.to(tn.float64)
    assert bn.running_mean.dtype == np.float64 and bn.num_batches_tracked.dtype == np.int64
    bn.to("cpu")
    assert bn.running_var.device == "cpu"


def test_checkpoint_round_trip_restores_buffers(tmp_path):
    net = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    for _ in range(3):
        net(tn.randn(5, 4))
    tn.save(net.state_dict(), tmp_path / "bn.ckpt")
    other = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    other.load_state_dict(tn.load(tmp_path / "bn.ckpt"))
    for (key, a), b in zip(net.state_dict().items(), other.state_dict().values()):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=key)
    assert other[1].num_batches_tracked.item() == 3


@pytest.mark.parametrize("call,error,message", [
    (lambda: nn.BatchNorm2d(3)(tn.zeros(4, 3)), ValueError,
     "BatchNorm2d: expected a 4-D input, got (4, 3)"),
    (lambda: nn.BatchNorm1d(3)(tn.zeros(4, 3, 2, 2)), ValueError,
     "BatchNorm1d: expected a 2-D or 3-D input, got (4, 3, 2, 2)"),
    (lambda: nn.BatchNorm2d(3)(tn.zeros(4, 5, 2, 2)), ValueError,
     "BatchNorm2d(3): input of shape (4, 5, 2, 2) has 5 channels"),
    (lambda: nn.BatchNorm1d(3)(tn.zeros(1, 3)), ValueError,
     "expected more than 1 value per channel when training, got input of shape (1, 3)"),
    (lambda: tn.nn.functional.batch_norm(tn.zeros(4, 3), tn.zeros(2), tn.ones(2)), ValueError,
     "running_mean of shape (2,) does not match input of shape (4, 3)"),
])
def test_bad_input_raises_naming_shapes(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)

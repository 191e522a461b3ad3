"""Public Tensor and Module methods that PyTorch code calls: each does what its name says."""
import numpy as np
import pytest

import tinynet as tn
from tinynet import nn


def test_squeeze_and_unsqueeze_with_gradients(backend):
    x = tn.tensor(np.arange(6.0).reshape(2, 1, 3), requires_grad=True)
    assert x.squeeze().shape == (2, 3) and x.squeeze(1).shape == (2, 3)
    assert x.squeeze(0).shape == (2, 1, 3)          # not size 1: unchanged, as in PyTorch
    assert x.unsqueeze(0).shape == (1, 2, 1, 3) and x.unsqueeze(-1).shape == (2, 1, 3, 1)
    (x.squeeze(1).unsqueeze(-1) * 2).sum().backward()
    assert x.grad.shape == (2, 1, 3) and np.all(x.grad.numpy() == 2)


def test_dtype_conversions(backend):
    x = tn.tensor([1.7, -2.2])
    assert x.double().dtype == np.float64 and x.float().dtype == np.float32
    assert x.int().dtype == np.int32 and x.int().tolist() == [1, -2]
    assert x.long().dtype == np.int64
    if backend.name != "strict":  # the array API standard has no float16
        assert tn.tensor([1.0], dtype=tn.float16).dtype == np.float16


def test_cpu_and_cuda(backend):
    x = tn.ones(2)
    assert x.cpu().device == "cpu"
    try:
        import cupy  # noqa: F401
    except ImportError:
        with pytest.raises(RuntimeError, match="CuPy"):
            x.cuda()


def test_python_protocols():
    t = tn.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert [row.tolist() for row in t] == [[1.0, 2.0], [3.0, 4.0]]    # __iter__
    assert ["a", "b", "c"][tn.tensor(2)] == "c"                        # __index__
    assert t.size() == (2, 2) and t.size(1) == 2 and t.numel() == 4
    assert float(tn.tensor(1.5)) == 1.5 and int(tn.tensor(3)) == 3


def test_module_apply_add_module_register_parameter_and_delattr():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    seen = []
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "ReLU", "Sequential"]   # children first, as in PyTorch
    model.add_module("head", nn.Linear(3, 1))
    assert [name for name, _ in model.named_parameters()] == [
        "0.weight", "0.bias", "head.weight", "head.bias"]
    layer = nn.Linear(2, 2)
    layer.register_parameter("scale", nn.Parameter(tn.ones(2)))
    layer.register_parameter("bias", None)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "scale"]
    del layer.scale
    assert "scale" not in layer.state_dict() and not hasattr(layer, "scale")
    assert model.double()[0].weight.dtype == np.float64


def test_data_is_a_detached_tensor_sharing_storage(backend):
    """PyTorch's .data: micrograd-style updates work and record nothing."""
    p = tn.tensor([1.0, 2.0], requires_grad=True)
    (p * p).sum().backward()
    p.data += -0.1 * p.grad                         # Karpathy's update
    assert isinstance(p.data, tn.Tensor) and not p.data.requires_grad
    assert p.is_leaf and p.requires_grad and p.grad_fn is None
    np.testing.assert_allclose(p.numpy(), [0.8, 1.6], rtol=1e-6)
    view = p.data
    view.array[0] = 5.0                              # shares storage with p
    assert p.numpy()[0] == 5.0
    (p * 3).sum().backward()                         # p still works in a graph
    p.data = tn.zeros(3)                             # replace the values, any shape
    assert p.shape == (3,) and p.requires_grad

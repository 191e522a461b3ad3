"""A small CNN (conv, BatchNorm, ReLU, max-pool, avg-pool, Linear) trained from PyTorch's
weights equals PyTorch step by step, on every backend; on real MNIST images, whose constant
background ties most max-pool windows, the conv gradients are PyTorch's."""
import os

import numpy as np
import pytest

import tinynet as tn
from conftest import to_numpy

torch = pytest.importorskip("torch")


def small_cnn(nn):
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
        nn.MaxPool2d(2),                                   # 12 -> 6
        nn.Conv2d(4, 6, (3, 2), stride=(1, 2)), nn.ReLU(),  # -> (4, 3)
        nn.AvgPool2d((2, 1)), nn.Flatten(),                # -> (2, 3)
        nn.Linear(6 * 2 * 3, 10), nn.BatchNorm1d(10))


def digits(n, rng):
    """Images like MNIST's: a zero background (ties in every pooling window there) with
    a few bright strokes."""
    x = np.zeros((n, 1, 12, 12))
    for image in x[:, 0]:
        row, col = rng.integers(1, 8, 2)
        image[row:row + 4, col] = 1.0
        image[row + 2, col:col + 4] = rng.uniform(0.5, 1.0)
    return x


def test_three_sgd_steps_equal_torch_step_by_step(backend):
    rng = np.random.default_rng(0)
    ref = small_cnn(torch.nn).double()
    model = small_cnn(tn.nn).to(tn.float64)
    model.load_state_dict({k: v.numpy() for k, v in ref.state_dict().items()})
    opt = tn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    for step in range(3):
        x, y = digits(8, rng), rng.integers(0, 10, 8)
        loss = tn.nn.functional.cross_entropy(model(tn.tensor(x)), tn.tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        ref_loss = torch.nn.functional.cross_entropy(ref(torch.tensor(x)), torch.tensor(y))
        ref_opt.zero_grad()
        ref_loss.backward()
        ref_opt.step()
        assert loss.item() == pytest.approx(ref_loss.item(), rel=1e-12), step
        theirs = ref.state_dict()
        for key, value in model.state_dict().items():
            np.testing.assert_allclose(to_numpy(value), theirs[key].numpy(), rtol=1e-9,
                                       atol=1e-12, err_msg=f"{key} after step {step}")
    model.eval(), ref.eval()
    x = tn.tensor(digits(4, rng))
    np.testing.assert_allclose(to_numpy(model(x)), ref(torch.tensor(to_numpy(x))).detach(),
                               rtol=1e-9, atol=1e-12)


def _real_mnist():
    from tinynet.data import MNIST
    try:
        return MNIST(root=os.environ.get("TINYNET_DATA_DIR") or None, train=False,
                     download=False)
    except (OSError, RuntimeError, ValueError) as exc:
        pytest.skip(f"real MNIST not available: {exc}")


def test_conv_gradients_through_max_pool_ties_on_real_mnist_equal_torch():
    """PyTorch's examples/mnist front end on 32 real test images in float32: conv, ReLU,
    conv, ReLU, 2x2 max-pool. ReLU zeroes much of the background, so many windows are
    all-tied at 0; a mask x == max would send the gradient to every tied element."""
    images = _real_mnist().data[:32].numpy().astype(np.float32)[:, None] / 255
    rng = np.random.default_rng(1)
    weights = {"c1": rng.uniform(-1 / 3, 1 / 3, (32, 1, 3, 3)).astype(np.float32),
               "c2": rng.uniform(-0.06, 0.06, (64, 32, 3, 3)).astype(np.float32)}

    def front(F, w, x):
        h = F.relu(F.conv2d(F.relu(F.conv2d(x, w["c1"])), w["c2"]))
        return F.max_pool2d(h, 2)

    theirs = {k: torch.tensor(v, requires_grad=True) for k, v in weights.items()}
    ty = front(torch.nn.functional, theirs, torch.tensor(images))
    gy = rng.standard_normal(ty.shape).astype(np.float32)
    ty.backward(torch.tensor(gy))
    ours = {k: tn.tensor(v, requires_grad=True) for k, v in weights.items()}
    y = front(tn.nn.functional, ours, tn.tensor(images))
    y.backward(tn.tensor(gy))
    tied = (ty == 0).float().mean().item()
    assert tied > 0.2, f"only {tied:.0%} of the pooled outputs are all-tied zeros"
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-4, atol=1e-5)
    for k in weights:
        g, tg = ours[k].grad.numpy(), theirs[k].grad.numpy()
        assert np.abs(g - tg).max() <= 1e-3 * np.abs(tg).max(), k

"""The GPU path, proven on the strict backend: a training step reads nothing back to the
host, bad targets still raise a clear error (at the next read, as CUDA asserts do), and a
model on the second device trains there without touching the first."""
import numpy as np
import pytest

import tinynet as tn
import tinynet.nn.functional as F
from tinynet import nn

strict = pytest.importorskip("array_api_strict")


@pytest.fixture
def host_reads(monkeypatch):
    """Count every way a strict array's values reach the host: conversion to NumPy or to a
    Python number (``bool(a)``, ``int(a)``, ``float(a)``, ``a.item``-like reads)."""
    count = {"reads": 0}
    Array = type(strict.asarray(0))

    def counting(name):
        original = getattr(Array, name)

        def read(self, *args, **kwargs):
            if self.device != strict.Device("CPU_DEVICE"):
                count["reads"] += 1
            return original(self, *args, **kwargs)
        monkeypatch.setattr(Array, name, read)

    for name in ("__bool__", "__int__", "__float__", "__index__", "to_device"):
        counting(name)
    return count


def train_step(model, optimizer, x, y, embedding=None, idx=None):
    if embedding is not None:
        x = x + embedding[idx].sum(1)                     # an integer-array gather
    logits = model(x)
    loss = F.cross_entropy(logits, y) + 0.1 * F.binary_cross_entropy(
        logits.sigmoid(), F.one_hot(y, 3).float(), reduction="mean")
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


@pytest.mark.parametrize("device", ["strict", "strict:1"])
@pytest.mark.parametrize("optimizer", ["SGD", "Adam", "RMSprop"])
def test_a_training_step_reads_nothing_back(host_reads, device, optimizer):
    tn.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.1), nn.Linear(8, 3))
    model.to(device)
    embedding = tn.randn(10, 4, device=device, requires_grad=True)
    params = list(model.parameters()) + [embedding]
    opt = getattr(tn.optim, optimizer)(params, lr=0.01, **(
        {"momentum": 0.9, "nesterov": True} if optimizer == "SGD" else {}))
    x = tn.randn(16, 4, device=device)
    y = tn.tensor(np.arange(16) % 3, device=device)
    idx = tn.tensor(np.arange(32).reshape(16, 2) % 10, device=device)
    train_step(model, opt, x, y, embedding, idx)              # the first step creates state
    host_reads["reads"] = 0
    for _ in range(3):
        loss = train_step(model, opt, x, y, embedding, idx)
    assert host_reads["reads"] == 0, f"{host_reads['reads']} host reads in 3 training steps"
    assert np.isfinite(loss.item()) and host_reads["reads"] > 0   # an explicit read works


@pytest.mark.parametrize("device", ["strict", "strict:1"])
def test_a_bad_target_raises_at_the_next_read(device):
    logits = tn.zeros(3, 4, device=device, requires_grad=True)
    loss = F.cross_entropy(logits, tn.tensor([0, 9, 1], device=device))   # no read yet
    loss.backward()
    with pytest.raises(IndexError, match="target 9 is out of bounds for 4 classes"):
        loss.item()
    assert np.isfinite(F.cross_entropy(logits, tn.tensor([0, 3, 1], device=device)).item())


def test_a_model_on_the_second_device_stays_there():
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).to("strict:1")
    opt = tn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = tn.randn(8, 3, device="strict:1"), tn.tensor(np.arange(8) % 2, device="strict:1")
    for _ in range(2):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    for p in model.parameters():
        assert p.device == "strict:1" and p.grad.device == "strict:1"
        assert all(s.device == "strict:1" for s in opt.state[p].values()
                   if isinstance(s, tn.Tensor))
    with pytest.raises(RuntimeError, match="strict and strict:1"):
        model(tn.randn(8, 3, device="strict"))

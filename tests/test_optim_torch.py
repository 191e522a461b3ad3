"""Parity with PyTorch: 20 steps of each optimizer from the same float32 weights with the
same gradients, and each scheduler's learning rates over 30 epochs. Skipped without torch.

The largest absolute and relative parameter differences per optimizer are printed at the
end of the module (run with -s to see them).
"""
import numpy as np
import pytest

import tinynet as tn
from tinynet import optim
from tinynet.optim import lr_scheduler

torch = pytest.importorskip("torch")

SHAPES = [(7, 5), (5,), (1,)]
STEPS = 20
MEASURED = {}  # case -> (max abs, max rel difference of the parameters)

OPTIMIZERS = {
    "sgd": ("SGD", dict(lr=0.1)),
    "sgd_momentum": ("SGD", dict(lr=0.1, momentum=0.9)),
    "sgd_dampening_wd": ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=1e-2)),
    "sgd_nesterov_wd": ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    "sgd_maximize": ("SGD", dict(lr=0.1, momentum=0.5, maximize=True, weight_decay=0.1)),
    "adam": ("Adam", dict(lr=1e-2)),
    "adam_amsgrad": ("Adam", dict(lr=1e-2, amsgrad=True)),
    "adam_wd_betas": ("Adam", dict(lr=3e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    "adam_amsgrad_wd_max": ("Adam", dict(lr=1e-2, amsgrad=True, weight_decay=1e-2,
                                         maximize=True)),
    "adamw": ("AdamW", dict(lr=1e-2)),
    "adamw_amsgrad_wd": ("AdamW", dict(lr=1e-2, amsgrad=True, weight_decay=0.5)),
}


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    print("\nlargest parameter differences from torch after 20 steps (abs, rel):")
    for name, (abs_diff, rel_diff) in MEASURED.items():
        print(f"  {name:22s} {abs_diff:.3e}  {rel_diff:.3e}")


def _gradients(step):
    """Fixed float32 gradients for one step, with scales from 1e-3 to 10 (Adam's eps and the
    bias corrections then matter)."""
    rng = np.random.default_rng(100 + step)
    return [(rng.standard_normal(shape) * 10.0 ** rng.uniform(-3, 1, shape)).astype(np.float32)
            for shape in SHAPES]


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_matches_torch(name):
    cls, kwargs = OPTIMIZERS[name]
    start = [np.random.default_rng(i).standard_normal(s).astype(np.float32)
             for i, s in enumerate(SHAPES)]
    ours = [tn.tensor(a, requires_grad=True) for a in start]
    theirs = [torch.tensor(a, requires_grad=True) for a in start]
    # two groups, the second with half the lr, to cover per-group hyperparameters
    groups = lambda ps: [{"params": ps[:2]}, {"params": ps[2:], "lr": kwargs["lr"] / 2}]  # noqa
    opt = getattr(optim, cls)(groups(ours), **kwargs)
    torch_opt = getattr(torch.optim, cls)(groups(theirs), **kwargs)
    for step in range(STEPS):
        for p, q, g in zip(ours, theirs, _gradients(step)):
            p.grad = tn.tensor(g)
            q.grad = torch.tensor(g)
        opt.step()
        torch_opt.step()
    abs_diff = rel_diff = 0.0
    for p, q in zip(ours, theirs):
        assert p.dtype == np.float32
        a, b = p.numpy().astype(np.float64), q.detach().numpy().astype(np.float64)
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        abs_diff = max(abs_diff, float(np.abs(a - b).max()))
        rel_diff = max(rel_diff, float((np.abs(a - b) / np.maximum(np.abs(b), 1e-30)).max()))
    MEASURED[name] = (abs_diff, rel_diff)
    # the state matches too, under PyTorch's names
    for index, state in opt.state_dict()["state"].items():
        torch_state = torch_opt.state_dict()["state"][index]
        assert set(state) == {k for k, v in torch_state.items() if v is not None}
        for key, value in state.items():
            expected = torch_state[key]
            expected = expected.numpy() if torch.is_tensor(expected) else expected
            np.testing.assert_allclose(np.asarray(value.numpy() if key != "step" else value),
                                       expected, rtol=1e-4, atol=1e-6)


SCHEDULES = {
    "step": ("StepLR", dict(step_size=4, gamma=0.3)),
    "multistep": ("MultiStepLR", dict(milestones=[3, 8, 8, 20], gamma=0.5)),
    "cosine": ("CosineAnnealingLR", dict(T_max=30, eta_min=1e-3)),
    "cosine_short": ("CosineAnnealingLR", dict(T_max=7)),
    "linear": ("LinearLR", dict()),
    "linear_decay": ("LinearLR", dict(start_factor=1.0, end_factor=0.1, total_iters=12)),
}


def _schedule(module, optimizer, spec):
    if spec == "sequential":
        warmup = module.LinearLR(optimizer, start_factor=0.1, total_iters=5)
        decay = module.StepLR(optimizer, step_size=3, gamma=0.5)
        cosine = module.CosineAnnealingLR(optimizer, T_max=12, eta_min=1e-4)
        return module.SequentialLR(optimizer, [warmup, decay, cosine], milestones=[5, 11])
    cls, kwargs = SCHEDULES[spec]
    return getattr(module, cls)(optimizer, **kwargs)


def _lr_sequence(optimizer, scheduler, steps=30):
    lrs = [[g["lr"] for g in optimizer.param_groups]]
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
        lrs.append(list(scheduler.get_last_lr()))
        assert lrs[-1] == [g["lr"] for g in optimizer.param_groups]
    return np.array(lrs)


@pytest.mark.parametrize("spec", list(SCHEDULES) + ["sequential"])
def test_scheduler_matches_torch(spec):
    p = tn.tensor(np.ones(2, np.float32), requires_grad=True)
    q = torch.ones(2, requires_grad=True)
    opt = optim.SGD([{"params": [p]}, {"params": [], "lr": 0.02}], lr=0.1, momentum=0.9)
    torch_opt = torch.optim.SGD([{"params": [q]}, {"params": [], "lr": 0.02}], lr=0.1,
                                momentum=0.9)
    ours = _lr_sequence(opt, _schedule(lr_scheduler, opt, spec))
    theirs = _lr_sequence(torch_opt, _schedule(torch.optim.lr_scheduler, torch_opt, spec))
    # Ours are closed forms, torch's are products step by step: equal up to rounding.
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)

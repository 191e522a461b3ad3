"""Optimizers and schedulers: updates checked against values computed by hand, hyperparameter
errors, parameter groups, state dicts and resumed training, on every backend."""
import json
import math

import numpy as np
import pytest

import tinynet as tn
from tinynet import optim
from tinynet.optim import lr_scheduler

from conftest import to_numpy

# Three steps from p = 1 with the gradients 1, 2, 3 given (not computed from p), lr = 0.1.
# With weight decay lambda the gradient used is g + lambda * p.
SGD_CASES = {
    # p <- p - 0.1 g
    "plain": (dict(), [0.9, 0.7, 0.4]),
    # b = 1, 0.9*1 + 2 = 2.9, 0.9*2.9 + 3 = 5.61;  p -= 0.1 b
    "momentum": (dict(momentum=0.9), [0.9, 0.61, 0.049]),
    # b = 1 (no dampening on the first step), 0.9 + 0.5*2 = 1.9, 1.71 + 0.5*3 = 3.21
    "dampening": (dict(momentum=0.9, dampening=0.5), [0.9, 0.71, 0.389]),
    # b as for momentum; step g + 0.9 b = 1.9, 2 + 2.61 = 4.61, 3 + 5.049 = 8.049
    "nesterov": (dict(momentum=0.9, nesterov=True), [0.81, 0.349, -0.4559]),
    # g' = 1 + 0.5*1 = 1.5, 2 + 0.5*0.85 = 2.425, 3 + 0.5*0.6075 = 3.30375
    "weight_decay": (dict(weight_decay=0.5), [0.85, 0.6075, 0.277125]),
    # p <- p + 0.1 g
    "maximize": (dict(maximize=True), [1.1, 1.3, 1.6]),
    # g' = -1 + 0.5 = -0.5, -2 + 0.525 = -1.475, -3 + 0.59875 = -2.40125
    "maximize_weight_decay": (dict(maximize=True, weight_decay=0.5),
                              [1.05, 1.1975, 1.437625]),
    # g' = 1.5, 2.425, 3.30375 (as for weight_decay); b = 1.5, 1.35 + 2.425 = 3.775
    # (p = 0.85 - 0.3775 = 0.4725), 3.3975 + 3 + 0.23625 = 6.63375
    "momentum_weight_decay": (dict(momentum=0.9, weight_decay=0.5),
                              [0.85, 0.4725, -0.190875]),
}

# Adam with beta1 = 0.5, beta2 = 0.75, eps = 0, lr = 0.1, gradients 1, 2, -1 from p = 1:
#   t=1: m = 0.5,   v = 0.25,     m^ = 1,   v^ = 1      -> step 0.1
#   t=2: m = 1.25,  v = 1.1875,   m^ = 5/3, v^ = 19/7   -> step 0.1 * (5/3) / sqrt(19/7)
#   t=3: m = 0.125, v = 1.140625, m^ = 1/7, v^ = 73/37  -> step 0.1 * (1/7) / sqrt(73/37)
#   amsgrad at t=3: v_max = 1.1875, v^ = 76/37          -> step 0.1 * (1/7) / sqrt(76/37)
ADAM = dict(lr=0.1, betas=(0.5, 0.75), eps=0.0)
ADAM_GRADS = [1.0, 2.0, -1.0]
STEP2 = 0.1 * (5 / 3) / math.sqrt(19 / 7)
ADAM_CASES = {
    "adam": (optim.Adam, dict(), [0.9, 0.9 - STEP2, 0.9 - STEP2 - 0.1 / 7 / math.sqrt(73 / 37)]),
    "amsgrad": (optim.Adam, dict(amsgrad=True),
                [0.9, 0.9 - STEP2, 0.9 - STEP2 - 0.1 / 7 / math.sqrt(76 / 37)]),
    "maximize": (optim.Adam, dict(maximize=True),
                 [1.1, 1.1 + STEP2, 1.1 + STEP2 + 0.1 / 7 / math.sqrt(73 / 37)]),
}


def _param(values, dtype=np.float32):
    return tn.tensor(np.array(values, dtype=dtype), requires_grad=True)


def _run(optimizer, param, grads):
    """Set each gradient, step, and record the parameter after each step."""
    trajectory = []
    for g in grads:
        param.grad = tn.tensor(np.full(param.shape, g, dtype=param.dtype))
        optimizer.step()
        trajectory.append(to_numpy(param).copy())
    return trajectory


@pytest.mark.parametrize("case", SGD_CASES)
def test_sgd_three_steps_by_hand(backend, case):
    kwargs, expected = SGD_CASES[case]
    p = _param([1.0])
    got = _run(optim.SGD([p], lr=0.1, **kwargs), p, [1.0, 2.0, 3.0])
    np.testing.assert_allclose(np.concatenate(got), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", ADAM_CASES)
def test_adam_three_steps_by_hand(backend, case):
    cls, kwargs, expected = ADAM_CASES[case]
    p = _param([1.0])
    got = _run(cls([p], **ADAM, **kwargs), p, ADAM_GRADS)
    np.testing.assert_allclose(np.concatenate(got), expected, rtol=1e-5, atol=1e-6)


def test_adam_weight_decay_adds_to_the_gradient(backend):
    # From p = 2 with lambda = 0.5 the gradients -0.5, -0.45, -0.4 become g + lambda p = 0.5
    # every step, and Adam (eps = 0) steps by exactly lr against a constant gradient.
    p = _param([2.0])
    got = _run(optim.Adam([p], weight_decay=0.5, **ADAM), p, [-0.5, -0.45, -0.4])
    np.testing.assert_allclose(np.concatenate(got), [1.9, 1.8, 1.7], rtol=1e-5)


def test_adamw_decays_the_weights_apart_from_the_gradient(backend):
    # p <- p (1 - 0.1 * 0.5) - 0.1 with a constant gradient: 0.85, 0.7075, 0.572125
    p = _param([1.0])
    got = _run(optim.AdamW([p], weight_decay=0.5, **ADAM), p, [1.0, 1.0, 1.0])
    np.testing.assert_allclose(np.concatenate(got), [0.85, 0.7075, 0.572125], rtol=1e-5)


def test_adam_default_eps_and_defaults():
    p = _param([1.0])
    opt = optim.Adam([p])
    assert opt.defaults == dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                                amsgrad=False, maximize=False)
    assert optim.AdamW([_param([1.0])]).defaults["weight_decay"] == 1e-2
    assert optim.SGD([p]).defaults["lr"] == 1e-3
    # at t = 1 the corrected moments are m^ = g, v^ = g^2: the step is lr g / (|g| + eps)
    _run(opt, p, [4.0])
    np.testing.assert_allclose(to_numpy(p), [1.0 - 1e-3], rtol=1e-6)


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, maximize=True),
    lambda ps: optim.Adam(ps, weight_decay=0.1, amsgrad=True),
    lambda ps: optim.AdamW(ps, maximize=True),
])
def test_updates_in_place_keep_float32_and_leave_grad(backend, make):
    p = _param(np.linspace(-1, 1, 6).reshape(2, 3))
    array = p.array
    opt = make([p])
    for _ in range(2):
        p.grad = tn.tensor(np.full((2, 3), 0.5, dtype=np.float32))
        opt.step()
        assert p.array is array  # the same array, updated in place
        assert p.dtype == np.float32
        np.testing.assert_array_equal(to_numpy(p.grad), np.full((2, 3), 0.5))
    for value in opt.state[p].values():
        if isinstance(value, tn.Tensor):
            assert value.dtype == np.float32 and value.device == p.device


def test_float64_parameters_stay_float64(backend):
    p = _param([1.0, 2.0], dtype=np.float64)
    _run(optim.Adam([p], amsgrad=True), p, [1.0, 1.0])
    assert p.dtype == np.float64


def test_parameters_without_grad_are_skipped(backend):
    p, q = _param([1.0]), _param([1.0])
    opt = optim.Adam([p, q], lr=0.1)
    p.grad = tn.tensor(np.ones(1, dtype=np.float32))
    opt.step()
    assert to_numpy(q)[0] == 1.0 and q not in opt.state
    assert to_numpy(p)[0] < 1.0


def test_zero_grad_both_ways(backend):
    p, q = _param([1.0, 2.0]), _param([3.0])
    opt = optim.SGD([p, q], lr=0.1)
    p.grad = tn.tensor(np.array([5.0, 6.0], dtype=np.float32))
    grad_array = p.grad.array
    opt.zero_grad(set_to_none=False)
    assert p.grad.array is grad_array  # zeroed in place
    np.testing.assert_array_equal(to_numpy(p.grad), [0.0, 0.0])
    assert q.grad is None
    opt.zero_grad()
    assert p.grad is None


def test_param_groups_with_their_own_lr(backend):
    w, b = _param([1.0]), _param([1.0])
    opt = optim.SGD([{"params": [w]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["params"] == [b]
    w.grad = tn.tensor(np.ones(1, dtype=np.float32))
    b.grad = tn.tensor(np.ones(1, dtype=np.float32))
    opt.step()
    np.testing.assert_allclose([to_numpy(w)[0], to_numpy(b)[0]], [0.9, 0.5], rtol=1e-6)
    c = _param([1.0])
    opt.add_param_group({"params": [c], "lr": 0.01})
    assert opt.param_groups[2]["momentum"] == 0.9


@pytest.mark.parametrize("make, message", [
    (lambda p: optim.SGD(p, lr=-0.1), "lr=-0.1"),
    (lambda p: optim.SGD(p, momentum=-0.5), "momentum=-0.5"),
    (lambda p: optim.SGD(p, weight_decay=-1.0), "weight_decay=-1.0"),
    (lambda p: optim.SGD(p, nesterov=True), "momentum=0"),
    (lambda p: optim.SGD(p, momentum=0.9, dampening=0.1, nesterov=True), "dampening=0.1"),
    (lambda p: optim.Adam(p, lr=-1.0), "lr=-1.0"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), "index 0: 1.0"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), "index 1: -0.1"),
    (lambda p: optim.AdamW(p, eps=-1e-8), "eps=-1e-08"),
    (lambda p: optim.AdamW(p, weight_decay=-0.01), "weight_decay=-0.01"),
    (lambda p: optim.SGD([{"params": p, "lr": -2.0}]), "lr=-2.0"),
    (lambda p: optim.SGD([]), "empty parameter list"),
    (lambda p: optim.SGD(p + p), "same parameter twice"),
    (lambda p: optim.SGD([{"params": p}, {"params": p}]), "more than one parameter group"),
])
def test_invalid_hyperparameters_raise_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make([_param([1.0])])


def test_invalid_params_raise_type_error():
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(_param([1.0]))
    with pytest.raises(TypeError, match="ordered"):
        optim.SGD({_param([1.0])})
    with pytest.raises(TypeError, match="int"):
        optim.SGD([1])
    with pytest.raises(ValueError, match="not a leaf"):
        optim.SGD([_param([1.0]) * 2])


OPTIMIZERS = {
    "sgd_nesterov": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    "adam_amsgrad": lambda ps: optim.Adam(ps, lr=0.1, amsgrad=True, weight_decay=0.1),
    "adamw": lambda ps: optim.AdamW(ps, lr=0.1),
}


def _grads(step):
    rng = np.random.default_rng(step)
    return [rng.standard_normal(3).astype(np.float32), rng.standard_normal(2).astype(np.float32)]


def _train(opt, params, steps):
    for step in steps:
        for p, g in zip(params, _grads(step)):
            p.grad = tn.tensor(g)
        opt.step()


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_resumed_training_equals_uninterrupted(backend, name):
    make = OPTIMIZERS[name]
    straight = [_param([1.0, -2.0, 3.0]), _param([0.5, 0.25])]
    _train(make([{"params": straight[:1]}, {"params": straight[1:], "lr": 0.01}]),
           straight, range(3))
    resumed = [_param([1.0, -2.0, 3.0]), _param([0.5, 0.25])]
    groups = lambda: [{"params": resumed[:1]}, {"params": resumed[1:], "lr": 0.01}]  # noqa: E731
    first = make(groups())
    _train(first, resumed, range(2))
    state = first.state_dict()
    assert sorted(state["state"]) == [0, 1]
    assert [g["params"] for g in state["param_groups"]] == [[0], [1]]
    assert state["param_groups"][1]["lr"] == 0.01
    json.dumps(state["param_groups"])  # hyperparameters are plain values
    second = make(groups())
    second.param_groups[1]["lr"] = 123.0  # overwritten by the state dict's
    second.load_state_dict(state)
    assert second.param_groups[1]["lr"] == 0.01 and second.param_groups[1]["params"] == resumed[1:]
    _train(second, resumed, [2])
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b))


def test_load_state_dict_copies_to_the_param_backend_and_dtype(backend):
    # A checkpoint as a serializer may return it: float64 NumPy arrays and string keys.
    p = _param([1.0, 2.0])
    saved = {"state": {"0": {"step": np.array(2.0), "exp_avg": np.array([0.1, 0.2]),
                             "exp_avg_sq": np.array([0.01, 0.04])}},
             "param_groups": [{"lr": 0.1, "betas": [0.9, 0.999], "eps": 1e-8,
                               "weight_decay": 0.0, "amsgrad": False, "maximize": False,
                               "params": [0]}]}
    opt = optim.Adam([p])
    opt.load_state_dict(saved)
    state = opt.state[p]
    assert state["step"] == 2
    assert state["exp_avg"].dtype == np.float32 and state["exp_avg"].device == p.device
    np.testing.assert_allclose(to_numpy(state["exp_avg_sq"]), [0.01, 0.04], rtol=1e-6)
    p.grad = tn.tensor(np.ones(2, dtype=np.float32))
    opt.step()
    assert state["step"] == 3 and p.dtype == np.float32


def test_load_state_dict_rejects_other_layouts():
    a, b = _param([1.0]), _param([2.0])
    state = optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="1 parameter groups, but the optimizer has 2"):
        optim.SGD([{"params": [a]}, {"params": [b]}]).load_state_dict(state)
    with pytest.raises(ValueError, match="group 0 has 2 parameters .* but 1"):
        optim.SGD([a]).load_state_dict(state)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        optim.SGD([a]).load_state_dict({"lr": 0.1})


# ---- schedulers -------------------------------------------------------------------------
# (1 + cos(pi/4)) / 2 and (1 + cos(3pi/4)) / 2, the cosine schedule's values at t = 1 and 3
C1, C3 = (2 + math.sqrt(2)) / 4, (2 - math.sqrt(2)) / 4
SCHEDULES = {
    "step": (lambda o: lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
             [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125, 0.125]),
    "multistep": (lambda o: lr_scheduler.MultiStepLR(o, milestones=[6, 2, 6], gamma=0.1),
                  [1, 1, 0.1, 0.1, 0.1, 0.1, 0.001, 0.001, 0.001, 0.001, 0.001]),
    "cosine": (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=4),
               [1, C1, 0.5, C3, 0, C3, 0.5, C1, 1, C1, 0.5]),
    "cosine_eta_min": (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=2, eta_min=0.5),
                       [1, 0.75, 0.5, 0.75, 1, 0.75, 0.5, 0.75, 1, 0.75, 0.5]),
    "linear": (lambda o: lr_scheduler.LinearLR(o, start_factor=0.25, total_iters=3),
               [0.25, 0.5, 0.75, 1, 1, 1, 1, 1, 1, 1, 1]),
    "linear_default": (lambda o: lr_scheduler.LinearLR(o),
                       [1 / 3, 7 / 15, 3 / 5, 11 / 15, 13 / 15, 1, 1, 1, 1, 1, 1]),
    "sequential": (lambda o: lr_scheduler.SequentialLR(o, [
        lr_scheduler.LinearLR(o, start_factor=0.25, total_iters=3),
        lr_scheduler.CosineAnnealingLR(o, T_max=4)], milestones=[3]),
        [0.25, 0.5, 0.75, 1, C1, 0.5, C3, 0, C3, 0.5, C1]),
}


def _lrs(scheduler, optimizer, steps):
    """The lr of epoch 0 (set on construction), then after each step."""
    lrs = [optimizer.param_groups[0]["lr"]]
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
        assert scheduler.get_last_lr() == [lrs[-1]]
    return lrs


@pytest.mark.parametrize("name", SCHEDULES)
def test_scheduler_values_by_hand(name):
    make, expected = SCHEDULES[name]
    opt = optim.SGD([_param([1.0])], lr=1.0)
    scheduler = make(opt)
    np.testing.assert_allclose(_lrs(scheduler, opt, 10), expected, rtol=1e-12, atol=1e-15)
    assert scheduler.last_epoch == 10 and opt.param_groups[0]["initial_lr"] == 1.0


@pytest.mark.parametrize("name", SCHEDULES)
def test_scheduler_state_dict_round_trip(name):
    make = SCHEDULES[name][0]
    opt = optim.SGD([_param([1.0])], lr=1.0, momentum=0.9)
    straight = _lrs(make(opt), opt, 10)
    opt = optim.SGD([_param([1.0])], lr=1.0, momentum=0.9)
    scheduler = make(opt)
    first = _lrs(scheduler, opt, 4)
    saved = json.loads(json.dumps(scheduler.state_dict()))  # plain numbers only
    saved_opt = opt.state_dict()
    opt = optim.SGD([_param([1.0])], lr=1.0, momentum=0.9)
    scheduler = make(opt)
    opt.load_state_dict(saved_opt)
    scheduler.load_state_dict(saved)
    assert _lrs(scheduler, opt, 6) == first[-1:] + straight[5:]
    assert first == straight[:5]


def test_scheduler_errors():
    opt = optim.SGD([_param([1.0])], lr=1.0)
    with pytest.raises(ValueError, match="start_factor must be in"):
        lr_scheduler.LinearLR(opt, start_factor=0.0)
    with pytest.raises(ValueError, match="end_factor must be in"):
        lr_scheduler.LinearLR(opt, end_factor=1.5)
    with pytest.raises(ValueError, match="step_size must be a positive integer, got 0"):
        lr_scheduler.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="2 schedulers and 0 milestones"):
        lr_scheduler.SequentialLR(opt, [lr_scheduler.StepLR(opt, 2),
                                        lr_scheduler.StepLR(opt, 3)], milestones=[])
    other = optim.SGD([_param([1.0])], lr=1.0)
    with pytest.raises(ValueError, match="another optimizer"):
        lr_scheduler.SequentialLR(opt, [lr_scheduler.StepLR(other, 2)], milestones=[])
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(optim.SGD([_param([1.0])], lr=1.0), 2, last_epoch=3)


@pytest.mark.parametrize("name,options", [
    ("sgd", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    ("sgd", dict(lr=0.1, momentum=0.9, dampening=0.2)),
    ("adam", dict(lr=1e-2, weight_decay=1e-2, amsgrad=True)),
    ("adamw", dict(lr=1e-2)),
])
def test_large_parameters_update_exactly_as_small_ones(name, options):
    """The NumPy backend runs updates piece by piece on large arrays (Backend.foreach):
    every element must come out bit for bit as if the array had been updated whole."""
    rng = np.random.default_rng(0)
    values = rng.standard_normal((300, 700)).astype(np.float32)  # 210,000 > 2 pieces
    grads = [rng.standard_normal((300, 700)).astype(np.float32) for _ in range(3)]
    make = {"sgd": optim.SGD, "adam": optim.Adam, "adamw": optim.AdamW}[name]
    big = tn.tensor(values, requires_grad=True)
    rows = [tn.tensor(values[i:i + 1], requires_grad=True) for i in range(300)]  # small
    opt_big, opt_rows = make([big], **options), make(rows, **options)
    for g in grads:
        big.grad = tn.tensor(g)
        for i, row in enumerate(rows):
            row.grad = tn.tensor(g[i:i + 1])
        opt_big.step()
        opt_rows.step()
    assert big.dtype == tn.float32
    np.testing.assert_array_equal(big.numpy(), np.concatenate([r.numpy() for r in rows]))


def test_state_dict_without_a_newer_hyperparameter_loads_with_its_default():
    """A checkpoint lacking a hyperparameter (saved by an older version) gets the default."""
    p = tn.tensor([1.0], requires_grad=True)
    saved = optim.SGD([p], lr=0.1, momentum=0.9).state_dict()
    del saved["param_groups"][0]["maximize"]
    opt = optim.SGD([p], lr=0.5)
    opt.load_state_dict(saved)
    assert opt.param_groups[0]["maximize"] is False and opt.param_groups[0]["lr"] == 0.1
    p.grad = tn.tensor([1.0])
    opt.step()
    np.testing.assert_allclose(p.numpy(), [0.9])

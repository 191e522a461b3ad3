"""trace_backward: one row per node in the order backward visits them, hook removed after."""
import math

import pytest

import tinynet as tn
from conftest import small_graph
from tinynet import autograd
from tinynet.trace import GradSummary, trace_backward



def test_rows_follow_backward_with_shapes_norms_and_values(backend):
    a, b, c, loss = small_graph()
    with trace_backward() as trace:
        loss.backward()
    assert [(r.step, r.op, r.output_shape) for r in trace.rows] == [
        (1, "Sum", ()), (2, "Add", (2, 3)), (3, "Mul", (2, 3))]
    total, add, mul = trace.rows
    # Sum: receives dL/dloss = 1, passes ones(2, 3): norm sqrt(6)
    assert total.grad == GradSummary((), 1.0, 1.0)
    assert total.input_grads[0].shape == (2, 3)
    assert total.input_grads[0].norm == pytest.approx(math.sqrt(6))
    assert total.input_grads[0].values == [[1.0] * 3] * 2
    # Add: c receives the ones summed over the broadcast axis, [2, 2, 2]: norm sqrt(12)
    assert add.grad.norm == pytest.approx(math.sqrt(6))
    assert [g.shape for g in add.input_grads] == [(2, 3), (3,)]
    assert add.input_grads[1].norm == pytest.approx(math.sqrt(12))
    assert add.input_grads[1].values == [2.0, 2.0, 2.0]
    # Mul: a receives b (norm sqrt(3 * 0.25 + 3 * 1)); the constant b receives nothing
    assert mul.input_grads[0] == GradSummary((2, 3), pytest.approx(math.sqrt(3.75)),
                                             [[0.5] * 3, [1.0] * 3])
    assert mul.input_grads[1] is None
    assert all(isinstance(r.grad.norm, float) for r in trace.rows)


def test_the_table_shows_every_step_with_labelled_inputs():
    a, b, c, loss = small_graph()
    with trace_backward({"a": a, "c": c}) as trace:
        loss.backward()
    lines = str(trace).splitlines()
    assert lines[0].split()[:4] == ["step", "op", "output", "dL/d(output)"]
    assert [line.split()[1] for line in lines[1:]] == ["Sum", "Add", "Mul"]
    assert lines[1].endswith("Add: [[1, 1, 1], [1, 1, 1]]")
    assert lines[2].endswith("Mul: [[1, 1, 1], [1, 1, 1]], c: [2, 2, 2]")
    assert lines[3].endswith("a: [[0.5, 0.5, 0.5], [1, 1, 1]], const: -")
    assert len(trace) == 3


def test_signed_values_for_scalars_and_norms_for_large_gradients():
    """The gradient of -log(sigmoid(z)) w.r.t. sigmoid's output is -1/p: its sign shows."""
    w = tn.tensor([0.3, -0.2, 0.5], requires_grad=True)
    x = tn.tensor([1.0, 2.0, -1.0])
    x.name = "x"
    p = (w * x).sum().sigmoid()
    loss = -p.log()
    with trace_backward({"w": w}) as trace:
        loss.backward()
    log_row = next(r for r in trace.rows if r.op == "Log")
    assert log_row.input_names == ("Sigmoid",)
    assert log_row.input_grads[0].values == pytest.approx(-1 / p.item())
    assert f"Sigmoid: {-1 / p.item():.4g}" in str(trace)
    assert str(trace).splitlines()[-1].endswith(
        "w: " + "[" + ", ".join(f"{v:.4g}" for v in w.grad.numpy()) + "], x: -")
    assert w.grad.numpy()[0] < 0 and "-" in str(trace.rows[-1].input_grads[0])
    big = tn.randn(3, 3, requires_grad=True)
    with trace_backward() as trace:
        (big * 2).sum().backward()
    assert trace.rows[-1].input_names == ("leaf", "2")
    assert trace.rows[-1].input_grads[0].values is None  # 9 entries: over MAX_SHOWN
    assert str(trace.rows[-1].input_grads[0]) == "(3, 3) norm 6"


def test_hook_is_removed_after_the_block_even_on_errors():
    before = list(autograd.backward_hooks)
    loss = small_graph()[3]
    with trace_backward() as trace:
        assert len(autograd.backward_hooks) == len(before) + 1
        loss.backward()
    assert autograd.backward_hooks == before
    with pytest.raises(RuntimeError, match="second time"):
        with trace_backward():
            loss.backward()  # the graph was freed by the first backward
    assert autograd.backward_hooks == before
    with pytest.raises(KeyError):
        with trace_backward():
            raise KeyError("not about backward")
    assert autograd.backward_hooks == before
    small_graph()[3].backward()  # outside the block: nothing more is recorded
    assert len(trace) == 3


def test_nested_traces_both_record_and_fused_losses_are_one_row():
    logits = tn.randn(4, 3, requires_grad=True)
    loss = tn.nn.functional.cross_entropy(logits, tn.tensor([0, 1, 2, 0]))
    with trace_backward() as outer, trace_backward() as inner:
        loss.backward()
    assert [r.op for r in outer.rows] == [r.op for r in inner.rows] == ["SoftmaxCrossEntropy"]
    row = outer.rows[0]
    assert row.input_grads[0].shape == (4, 3) and row.input_grads[1] is None
    assert row.input_grads[0].norm == pytest.approx(
        math.sqrt(float((logits.grad.numpy() ** 2).sum())), rel=1e-6)

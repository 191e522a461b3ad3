"""trace_backward: one row per node in the order backward visits them, hook removed after."""
import math

import pytest

import tinynet as tn
from conftest import small_graph
from tinynet import autograd
from tinynet.trace import GradSummary, trace_backward



def test_rows_follow_backward_with_shapes_and_norms(backend):
    a, b, c, loss = small_graph()
    with trace_backward() as trace:
        loss.backward()
    assert [(r.step, r.op, r.output_shape) for r in trace.rows] == [
        (1, "Sum", ()), (2, "Add", (2, 3)), (3, "Mul", (2, 3))]
    total, add, mul = trace.rows
    # Sum: receives dL/dloss = 1, passes ones(2, 3): norm sqrt(6)
    assert total.grad == GradSummary((), 1.0)
    assert total.input_grads[0].shape == (2, 3)
    assert total.input_grads[0].norm == pytest.approx(math.sqrt(6))
    # Add: c receives the ones summed over the broadcast axis, [2, 2, 2]: norm sqrt(12)
    assert add.grad.norm == pytest.approx(math.sqrt(6))
    assert [g.shape for g in add.input_grads] == [(2, 3), (3,)]
    assert add.input_grads[1].norm == pytest.approx(math.sqrt(12))
    # Mul: a receives b (norm sqrt(3 * 0.25 + 3 * 1)); the constant b receives nothing
    assert mul.input_grads[0] == GradSummary((2, 3), pytest.approx(math.sqrt(3.75)))
    assert mul.input_grads[1] is None
    assert all(isinstance(r.grad.norm, float) for r in trace.rows)


def test_the_table_shows_every_step():
    loss = small_graph()[3]
    with trace_backward() as trace:
        loss.backward()
    lines = str(trace).splitlines()
    assert lines[0].split()[:3] == ["step", "op", "output"]
    assert [line.split()[1] for line in lines[1:]] == ["Sum", "Add", "Mul"]
    assert "(3,) 3.464" in lines[2] and lines[3].rstrip().endswith("-")
    assert len(trace) == 3


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

"""Watch backward run: one row per graph node, in the order the engine visits them.

    with trace_backward() as trace:
        loss.backward()
    print(trace)

For each node the row holds the op, its output's shape, the gradient dL/d(output) that
reaches it (shape and L2 norm) and, for each input, the gradient passed on (shape and norm;
None for an input that needs no gradient, such as labels). The engine calls the hooks in
``autograd.backward_hooks`` after each node's backward; when no trace is active that list
is empty and costs one falsy check per node.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Iterator, NamedTuple

from . import autograd
from .autograd import unbroadcast
from .backend import backend_of


class GradSummary(NamedTuple):
    """The shape and L2 norm ‖g‖ = sqrt(Σ g²) of one gradient array."""
    shape: tuple
    norm: float

    def __str__(self) -> str:
        return f"{self.shape} {self.norm:.4g}"


@dataclass
class TraceRow:
    """One node's backward step."""
    step: int                       # 1 for the first node backward visits (the loss's node)
    op: str                         # the node's name: "Mul", "Sigmoid", ...
    output_shape: tuple             # the shape of the tensor the node produced
    grad: GradSummary               # dL/d(output), as the node received it
    input_grads: tuple              # per input: GradSummary of dL/d(input), or None


def summarize(g: Any) -> GradSummary:
    """Shape and L2 norm of a backend array, the norm computed by its own backend."""
    backend = backend_of(g)
    norm = backend.xp.sqrt(backend.xp.sum(g * g))
    return GradSummary(tuple(g.shape), float(backend.to_numpy(norm)))


class BackwardTrace:
    """The rows recorded by ``trace_backward``; ``str()`` gives them as a table."""

    def __init__(self) -> None:
        self.rows: list[TraceRow] = []

    def hook(self, node: Any, out: Any, gy: Any, input_grads: tuple) -> None:
        """Called by ``run_backward`` after ``node.backward(gy)`` returned ``input_grads``.

        The gradients are recorded as their inputs receive them: broadcasting undone (the
        engine does the same sum right after this call), None where no gradient flows.
        """
        passed_on = []
        for x, gx in zip(node.inputs, input_grads):
            if gx is None or not x.requires_grad:
                passed_on.append(None)
                continue
            if tuple(gx.shape) != x.shape:
                gx = unbroadcast(gx, x.shape)
            passed_on.append(summarize(gx))
        self.rows.append(TraceRow(len(self.rows) + 1, node.name, out.shape, summarize(gy),
                                  tuple(passed_on)))

    def __len__(self) -> int:
        return len(self.rows)

    def __str__(self) -> str:
        header = ("step", "op", "output", "grad in (shape norm)", "grads out (shape norm)")
        table = [header] + [
            (str(r.step), r.op, str(r.output_shape), str(r.grad),
             ", ".join("-" if g is None else str(g) for g in r.input_grads))
            for r in self.rows]
        widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
        lines = []
        for row in table:
            cells = [row[0].rjust(widths[0])] + [c.ljust(w) for c, w in zip(row[1:-1], widths[1:])]
            lines.append("  ".join(cells + [row[-1]]).rstrip())
        return "\n".join(lines)

    __repr__ = __str__


@contextlib.contextmanager
def trace_backward() -> Iterator[BackwardTrace]:
    """Record every backward step run inside the ``with`` block.

        with trace_backward() as trace:
            loss.backward()
        trace.rows[0].op        # the node that produced loss

    The hook is added on entry and removed on exit, also when backward raises.
    """
    trace = BackwardTrace()
    hook = trace.hook  # one bound method object, so remove() finds exactly this one
    autograd.backward_hooks.append(hook)
    try:
        yield trace
    finally:
        autograd.backward_hooks.remove(hook)

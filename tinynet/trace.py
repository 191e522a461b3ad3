"""Watch backward run: one row per graph node, in the order the engine visits them.

    with trace_backward({"w": w, "b": b}) as trace:
        loss.backward()
    print(trace)

For each node the row holds the op, its output's shape, the gradient dL/d(output) that
reaches it and, for each input, who that input is (a name, a constant's value, or the op
that made it) and the gradient passed on to it (None for an input that needs no gradient,
such as labels). A gradient with at most ``MAX_SHOWN`` entries is shown by its signed
values, so ``-2.649`` reads as ``-2.649``; a larger one by its shape and L2 norm.

The engine calls the hooks in ``autograd.backward_hooks`` after each node's backward; when
no trace is active that list is empty and costs one falsy check per node.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Iterator, NamedTuple

from . import autograd
from .autograd import unbroadcast
from .backend import backend_of

MAX_SHOWN = 8  # gradients with this many entries or fewer are shown value by value


class GradSummary(NamedTuple):
    """One gradient array: its shape, its L2 norm ‖g‖ = sqrt(Σ g²) and, when it has at
    most ``MAX_SHOWN`` entries, its values (nested lists of floats; a float for a scalar)."""
    shape: tuple
    norm: float
    values: Any = None

    def __str__(self) -> str:
        if self.values is None:
            return f"{self.shape} norm {self.norm:.4g}"
        return format_values(self.values)


def format_values(values: Any) -> str:
    """``-2.649`` for a scalar, ``[0.5, -1]`` for a vector, ``[[1, 2], [3, 4]]`` for a matrix."""
    if isinstance(values, list):
        return "[" + ", ".join(format_values(v) for v in values) + "]"
    return f"{values:.4g}"


@dataclass
class TraceRow:
    """One node's backward step."""
    step: int                       # 1 for the first node backward visits (the loss's node)
    op: str                         # the node's name: "Mul", "Sigmoid", ...
    output_shape: tuple             # the shape of the tensor the node produced
    grad: GradSummary               # dL/d(output), as the node received it
    input_grads: tuple              # per input: GradSummary of dL/d(input), or None
    input_names: tuple = ()         # per input: "w", "0.5", "Sigmoid", "leaf", "const"


def summarize(g: Any) -> GradSummary:
    """Shape, L2 norm and (for small arrays) values of a backend array, computed by its
    own backend and moved to the host once."""
    backend = backend_of(g)
    norm = float(backend.to_numpy(backend.xp.sqrt(backend.xp.sum(g * g))))
    size = 1
    for n in g.shape:
        size *= n
    values = backend.to_numpy(g).tolist() if size <= MAX_SHOWN else None
    return GradSummary(tuple(g.shape), norm, values)


def input_name(x: Any, names: dict) -> str:
    """Who an input is: its name in ``params`` or its ``.name``; for an unnamed one-element
    constant, its value; for a computed tensor, the op that made it; else "leaf" (it
    requires grad) or "const"."""
    name = names.get(id(x), x.name)
    if name is not None:
        return name
    if x._node is not None:
        return x._node.name
    if not x.requires_grad and x.array.size == 1:
        return f"{x.item():.4g}"
    return "leaf" if x.requires_grad else "const"


class BackwardTrace:
    """The rows recorded by ``trace_backward``; ``str()`` gives them as a table."""

    def __init__(self, params: dict | None = None) -> None:
        self.rows: list[TraceRow] = []
        self.names = {} if params is None else {id(t): name for name, t in params.items()}

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
        labels = tuple(input_name(x, self.names) for x in node.inputs)
        self.rows.append(TraceRow(len(self.rows) + 1, node.name, out.shape, summarize(gy),
                                  tuple(passed_on), labels))

    def __len__(self) -> int:
        return len(self.rows)

    def __str__(self) -> str:
        header = ("step", "op", "output", "dL/d(output)", "dL/d(input) passed to each input")
        table = [header] + [
            (str(r.step), r.op, str(r.output_shape), str(r.grad),
             ", ".join(f"{name}: {'-' if g is None else g}"
                       for name, g in zip(r.input_names, r.input_grads)))
            for r in self.rows]
        widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
        lines = []
        for row in table:
            cells = [row[0].rjust(widths[0])] + [c.ljust(w) for c, w in zip(row[1:-1], widths[1:])]
            lines.append("  ".join(cells + [row[-1]]).rstrip())
        return "\n".join(lines)

    __repr__ = __str__


@contextlib.contextmanager
def trace_backward(params: dict | None = None) -> Iterator[BackwardTrace]:
    """Record every backward step run inside the ``with`` block.

        with trace_backward({"w": w}) as trace:   # params: names for the inputs (optional)
            loss.backward()
        trace.rows[0].op        # the node that produced loss

    ``params`` maps names to tensors (``dict(model.named_parameters())`` works); inputs
    not in it are labelled by their ``.name``, their value, or the op that made them.
    The hook is added on entry and removed on exit, also when backward raises.
    """
    trace = BackwardTrace(params)
    hook = trace.hook  # one bound method object, so remove() finds exactly this one
    autograd.backward_hooks.append(hook)
    try:
        yield trace
    finally:
        autograd.backward_hooks.remove(hook)

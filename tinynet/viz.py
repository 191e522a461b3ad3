"""Pictures of the graph behind a tensor: Graphviz DOT text, an indented text tree, SVG/PNG.

The graph is the one autograd records (see autograd.py): every non-leaf tensor ``t`` has a
node ``t._node`` (a ``Function``: Add, Mul, Sigmoid, ...) whose ``inputs`` are the tensors it
was computed from. Leaves (parameters, data, constants) have no node.

    loss = (a * b + c).sum()
    print(format_graph(loss))          # in the terminal
    render(loss, "graph.svg")          # with Graphviz's dot program

``backward()`` frees the graph (``node.inputs`` becomes None), so draw it before backward,
or after ``backward(retain_graph=True)`` to see the gradients' shapes as well.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from .serialization import file_mode
from .tensor import Tensor

DOT_INSTALL_HINT = ("Graphviz's dot program was not found; install it with "
                    "`apt install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS) "
                    "or `conda install graphviz`")


# ---- walking the graph -------------------------------------------------------------------
def _inputs(t: Tensor) -> tuple:
    """The tensors ``t`` was computed from (none for a leaf); an error if backward freed them."""
    if t._node is None:
        return ()
    if t._node.inputs is None:
        raise RuntimeError(
            f"the graph behind this tensor was freed by backward() (at {t._node.name}): draw "
            "it before calling backward, or call backward(retain_graph=True) to keep it")
    return t._node.inputs


def _walk(root: Tensor) -> list:
    """Every tensor reachable from ``root``, each once, root first, then breadth first.

    The order only depends on the graph, so the ids n0, n1, ... (and the DOT text) are
    stable from run to run. An explicit queue: no recursion limit on long chains.
    """
    order, seen = [root], {id(root)}
    i = 0
    while i < len(order):
        for x in _inputs(order[i]):
            if id(x) not in seen:
                seen.add(id(x))
                order.append(x)
        i += 1
    return order


def _describe(t: Tensor) -> str:
    return f"{t.shape} {t.dtype}"


def _leaf_name(t: Tensor, names: dict) -> str | None:
    """The leaf's name in ``params`` (matched by identity), else its own ``name``; for an
    unnamed one-element constant (the 1 in ``1 - p``), its value."""
    name = names.get(id(t), t.name)
    if name is None and not t.requires_grad and t.array.size == 1:
        name = f"{t.item():.4g}"
    return name


def _names(params: dict | None) -> dict:
    return {} if params is None else {id(t): name for name, t in params.items()}


def _grad_note(t: Tensor) -> str | None:
    return None if t.grad is None else f"grad {t.grad.shape}"


# ---- DOT ---------------------------------------------------------------------------------
def _quote(lines: list) -> str:
    """A DOT string literal: quotes and backslashes escaped, one line per entry."""
    escaped = [line.replace("\\", "\\\\").replace('"', '\\"') for line in lines]
    return '"' + "\\n".join(escaped) + '"'


def to_dot(tensor: Tensor, params: dict | None = None, show_grad: bool = True) -> str:
    """Graphviz DOT text for the graph that produced ``tensor``.

    Ops are boxes (the op's name, its output's shape and dtype); leaves are ellipses,
    labelled with their name in ``params`` (e.g. ``dict(model.named_parameters())``) or
    their ``.name``, else their shape and dtype. Leaves that require grad are filled;
    constants are dashed. Edges follow the data: input -> op -> the op that uses it.
    With ``show_grad``, a leaf that has a ``.grad`` also shows the gradient's shape.
    """
    order = _walk(tensor)
    ids = {id(t): f"n{i}" for i, t in enumerate(order)}
    names = _names(params)
    lines = ["digraph tinynet {", '  node [fontname="Helvetica", fontsize=11];']
    for t in order:
        if t._node is not None:
            label, style = [t._node.name, _describe(t)], "shape=box"
        else:
            name = _leaf_name(t, names)
            label = [_describe(t)] if name is None else [name, _describe(t)]
            if show_grad and _grad_note(t):
                label.append(_grad_note(t))
            style = ('shape=ellipse, style=filled, fillcolor="#cfe2f3"' if t.requires_grad
                     else "shape=ellipse, style=dashed")
        lines.append(f"  {ids[id(t)]} [label={_quote(label)}, {style}];")
    for t in order:
        for x in _inputs(t):
            lines.append(f"  {ids[id(x)]} -> {ids[id(t)]};")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---- text tree -----------------------------------------------------------------------------
def format_graph(tensor: Tensor, params: dict | None = None) -> str:
    """The graph as an indented tree: the result at the top, each node's inputs below it.

        Sum () float32
          Add (2, 3) float32
            Mul (2, 3) float32
              a (2, 3) float32  grad (2, 3)
              ...

    A tensor reached a second time is printed once more with "(see above)" instead of its
    inputs. After ``backward(retain_graph=True)`` leaves show their gradient's shape.
    """
    names = _names(params)
    printed, lines = set(), []
    stack = [(tensor, 0)]  # depth-first, by hand; inputs pushed in reverse to print in order
    while stack:
        t, depth = stack.pop()
        if t._node is not None:
            text = f"{t._node.name} {_describe(t)}"
        else:
            name = _leaf_name(t, names)
            text = _describe(t) if name is None else f"{name} {_describe(t)}"
            if not t.requires_grad:
                text += "  (constant)"
            if _grad_note(t):
                text += f"  {_grad_note(t)}"
        if id(t) in printed:
            lines.append("  " * depth + text + "  (see above)")
            continue
        printed.add(id(t))
        lines.append("  " * depth + text)
        for x in reversed(_inputs(t)):
            stack.append((x, depth + 1))
    return "\n".join(lines)


# ---- rendering -------------------------------------------------------------------------------
def render(tensor: Tensor, path: Any, params: dict | None = None) -> str:
    """Write the graph as SVG or PNG (chosen by the suffix of ``path``) with Graphviz's dot.

    The file appears whole or not at all: dot writes a temporary file beside it, which is
    then renamed. Returns the path as a string.
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("svg", "png"):
        raise ValueError(f"render: the path must end in .svg or .png, got {str(path)!r}")
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError(DOT_INSTALL_HINT)
    text = to_dot(tensor, params)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".{fmt}")
    os.close(fd)
    try:
        done = subprocess.run([dot, f"-T{fmt}", "-o", tmp], input=text, text=True,
                              capture_output=True)
        if done.returncode != 0:
            raise RuntimeError(f"dot failed with exit status {done.returncode}: "
                               f"{done.stderr.strip()}")
        os.chmod(tmp, file_mode(str(path)))  # mkstemp makes files private (0600)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return str(path)

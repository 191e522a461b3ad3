"""Write stamps: what lets backward notice values changed in place after the forward pass.

A clock counts in-place writes (``t.add_``, ``t[i] = v``, an optimizer step); each write
stamps the tensor written with the clock's new value (``mark_modified``). A graph node
records the clock when it is made (``Function.born``), so in backward, an input (or
output) whose stamp is newer than its node was changed after that node saved it, and
``check_unmodified`` raises instead of computing a gradient from the new values.
Tensors that share storage (``detach()``, ``.data``) share one stamp.
"""
from __future__ import annotations

from typing import Any

_writes = [0]  # the clock: how many in-place writes have happened


def mark_modified(t: Any) -> None:
    """Record that ``t``'s values were just changed in place (``t.add_``, ``t[i] = v``, an
    optimizer step): stamp it, and every tensor sharing its stamp, with the write clock."""
    _writes[0] += 1
    if t._stamp is None:
        t._stamp = [_writes[0]]
    else:
        t._stamp[0] = _writes[0]


def shared_stamp(t: Any) -> list:
    """The write stamp of ``t``, made shareable: ``detach()`` and ``.data`` share storage
    with ``t``, so they share its stamp, and a write through either is seen by both."""
    if t._stamp is None:
        t._stamp = [0]
    return t._stamp


def check_unmodified(node: Any, output: Any) -> None:
    """Raise if an array the node's backward reads was changed in place after forward."""
    cls = type(node)
    suspects = list(enumerate(node.inputs)) if cls.saves_inputs else []
    if cls.saves_output:
        suspects.append(("output", output))
    for which, x in suspects:
        if x._stamp is not None and x._stamp[0] > node.born:
            what = f"input {which}" if which != "output" else "the output"
            label = f" {x.name!r}" if x.name else ""
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by "
                f"an inplace operation: {what} of {node.name}, the tensor{label} of shape "
                f"{x.shape} and dtype {x.dtype}, was changed in place after the forward "
                "pass, so its gradient would be computed from the new values. Change it "
                "after backward(), or use an out-of-place op (x = x + 1, not x += 1)")

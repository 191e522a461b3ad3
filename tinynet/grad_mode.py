"""Grad mode: whether ops record the graph. ``no_grad`` turns recording off for a block
(evaluation, parameter updates), ``enable_grad`` back on, ``set_grad_enabled`` either.
``Function.apply`` (autograd.py) reads the flag."""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

_grad_enabled = [True]


def is_grad_enabled() -> bool:
    return _grad_enabled[0]


@contextlib.contextmanager
def _grad_mode(enabled: bool) -> Iterator[None]:
    previous = _grad_enabled[0]
    _grad_enabled[0] = enabled
    try:
        yield
    finally:
        _grad_enabled[0] = previous


def no_grad() -> contextlib.AbstractContextManager:
    """Context manager (or decorator) in which ops record no graph and save nothing."""
    return _grad_mode(False)


def enable_grad() -> contextlib.AbstractContextManager:
    """Context manager that turns graph recording back on inside ``no_grad``."""
    return _grad_mode(True)


class set_grad_enabled:
    """``set_grad_enabled(False)`` turns recording off now (as a call) or for a block (as
    a context manager), as PyTorch's does."""

    def __init__(self, mode: bool):
        self.previous = _grad_enabled[0]
        _grad_enabled[0] = bool(mode)

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        _grad_enabled[0] = self.previous

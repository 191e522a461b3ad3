"""Metric values as plain Python floats, whatever they were handed in as."""
from __future__ import annotations

from typing import Any

from ..tensor import Tensor


def as_float(name: str, value: Any) -> float:
    """A one-element Tensor (read from its device), a NumPy scalar or a number -> float."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"metric {name!r} must be one number, got a Tensor of shape "
                             f"{value.shape}")
        return float(value.item())
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"metric {name!r} must be a number or a one-element Tensor, got "
                        f"{type(value).__name__}") from None

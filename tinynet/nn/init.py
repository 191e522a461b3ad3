"""Weight initialisation, in place, with PyTorch's names and formulas.

Each function fills ``tensor.array`` in place (the array object stays the same, so an
optimizer that already holds it still sees the parameter), draws from the active seed of
the tensor's backend (``tn.manual_seed``), and returns the tensor.

    fan_in  = size of axis 1 × receptive field   (in_features for a Linear weight (out, in))
    fan_out = size of axis 0 × receptive field
    kaiming_uniform_: U(-b, b), b = gain · sqrt(3 / fan)          gain = calculate_gain(...)
    kaiming_normal_:  N(0, std²), std = gain / sqrt(fan)
    xavier_uniform_:  U(-b, b), b = gain · sqrt(6 / (fan_in + fan_out))
    xavier_normal_:   N(0, std²), std = gain · sqrt(2 / (fan_in + fan_out))
"""
from __future__ import annotations

import math
import warnings

from ..backend import backend_of
from ..tensor import Tensor


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor that keeps activations' variance steady through ``nonlinearity``."""
    if nonlinearity in ("linear", "identity", "sigmoid", "conv1d", "conv2d", "conv3d"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}")


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill with draws from U(a, b)."""
    backend = backend_of(tensor.array)
    tensor.array[...] = backend.rand(tensor.shape, tensor.dtype) * (b - a) + a
    return tensor


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with draws from N(mean, std²)."""
    backend = backend_of(tensor.array)
    tensor.array[...] = backend.randn(tensor.shape, tensor.dtype) * std + mean
    return tensor


def constant_(tensor: Tensor, val: float) -> Tensor:
    tensor.array[...] = val
    return tensor


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out need a tensor with at least 2 dimensions, "
                         f"got shape {tensor.shape}")
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _empty(tensor: Tensor) -> bool:
    """A tensor without elements has nothing to fill (and fans of 0): say so, skip it."""
    if tensor.numel() == 0:
        warnings.warn(f"initializing a zero-element tensor of shape {tensor.shape} does "
                      "nothing", UserWarning, stacklevel=3)
        return True
    return False


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu") -> Tensor:
    """He initialisation, uniform: U(-b, b) with b = gain · sqrt(3 / fan)."""
    if _empty(tensor):
        return tensor
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(tensor, mode))
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu") -> Tensor:
    """He initialisation, normal: N(0, std²) with std = gain / sqrt(fan)."""
    if _empty(tensor):
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot initialisation, uniform: U(-b, b) with b = gain · sqrt(6 / (fan_in + fan_out))."""
    if _empty(tensor):
        return tensor
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot initialisation, normal: N(0, std²) with std = gain · sqrt(2 / (fan_in + fan_out))."""
    if _empty(tensor):
        return tensor
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))

"""Convolution and pooling layers: Conv2d, MaxPool2d, AvgPool2d (NCHW, as in PyTorch)."""
from __future__ import annotations

import math
from typing import Any

from ..backend import backend_for_device
from ..tensor import Tensor
from . import functional as F
from . import init
from .functional.conv import IntPair, pair
from .module import Module, Parameter


class Conv2d(Module):
    """y = conv2d(x, weight) + bias: (N, in_channels, H, W) -> (N, out_channels, OH, OW),
    OH = (H + 2·padding - kh) // stride + 1. ``kernel_size``, ``stride`` and ``padding`` are
    ints or (height, width) pairs.

    weight has shape (out_channels, in_channels, kh, kw); weight and bias start as U(-k, k)
    with k = 1/sqrt(in_channels·kh·kw), PyTorch's default (kaiming_uniform_ with a = sqrt(5)).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntPair,
                 stride: IntPair = 1, padding: IntPair = 0, bias: bool = True,
                 device: str | None = None, dtype: Any = None):
        super().__init__()
        if in_channels <= 0 or out_channels <= 0:
            raise ValueError(f"Conv2d: in_channels and out_channels must be positive, got "
                             f"{in_channels} and {out_channels}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = pair("Conv2d", "kernel_size", kernel_size, 1)
        self.stride = pair("Conv2d", "stride", stride, 1)
        self.padding = pair("Conv2d", "padding", padding, 0)
        backend = backend_for_device(device)  # None: the active backend
        dtype = dtype or "float32"
        self.weight = Parameter(backend.zeros((out_channels, in_channels) + self.kernel_size,
                                              dtype))
        self.bias = Parameter(backend.zeros((out_channels,), dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # bound = 1/sqrt(fan_in)
        if self.bias is not None:
            fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
            init.uniform_(self.bias, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        return text + (", bias=False" if self.bias is None else "")


class MaxPool2d(Module):
    """The maximum of each kernel_size window, moving by ``stride`` (default: kernel_size),
    over inputs padded with -inf. Gradients go to the first maximum of each window."""

    def __init__(self, kernel_size: IntPair, stride: IntPair | None = None,
                 padding: IntPair = 0):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def forward(self, x: Tensor) -> Tensor:
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(MaxPool2d):
    """The mean of each kernel_size window, moving by ``stride`` (default: kernel_size),
    zero padding included in the count."""

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)

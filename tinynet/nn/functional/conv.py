"""Convolution, pooling and batch normalization as functions: conv2d, max_pool2d,
avg_pool2d and batch_norm, with PyTorch's signatures.

Each checks its arguments, raising in the call with the shapes and values involved, then
applies one op of ``tinynet.ops`` (conv.py, pool.py, normalization.py). Images are NCHW;
a 3-D (C, H, W) input is one unbatched image, as in PyTorch.
"""
from __future__ import annotations

import operator
from typing import Any, Callable

from ... import ops
from ...tensor import Tensor
from .checks import float_input

IntPair = int | tuple[int, int]


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntPair = 1,
           padding: IntPair = 0) -> Tensor:
    """y[n, o] = bias[o] + Σ_c weight[o, c] ⋆ x[n, c] (a cross-correlation, as in PyTorch),
    with input (N, C, H, W), weight (O, C, kh, kw), bias (O,); output (N, O, OH, OW),
    OH = (H + 2·padding - kh) // stride + 1."""
    float_input("conv2d", input)
    stride, padding = pair("conv2d", "stride", stride, 1), pair("conv2d", "padding", padding, 0)
    if not isinstance(weight, Tensor) or weight.ndim != 4:
        raise ValueError(f"conv2d: weight must be a 4-D tensor (out_channels, in_channels, kh, "
                         f"kw), got {getattr(weight, 'shape', type(weight).__name__)}")
    if input.dtype != weight.dtype:
        raise TypeError(f"conv2d: input dtype {input.dtype} differs from the weight's dtype "
                        f"{weight.dtype}; convert one with .to(dtype)")
    x = images("conv2d", input)
    if x.shape[1] != weight.shape[1]:
        raise ValueError(f"conv2d: weight of shape {weight.shape} expects input with "
                         f"{weight.shape[1]} channels, got input of shape {input.shape} with "
                         f"{x.shape[1]} channels")
    check_fits("conv2d", x, weight.shape[2:], padding)
    if bias is None:
        return unbatched(input, ops.Conv2d.apply(x, weight, stride=stride, padding=padding))
    if bias.shape != (weight.shape[0],):
        raise ValueError(f"conv2d: bias of shape {bias.shape} does not match a weight of "
                         f"shape {weight.shape} (expected ({weight.shape[0]},))")
    return unbatched(input, ops.Conv2d.apply(x, weight, bias, stride=stride, padding=padding))


def max_pool2d(input: Tensor, kernel_size: IntPair, stride: IntPair | None = None,
               padding: IntPair = 0) -> Tensor:
    """y = the maximum of each kh × kw window (padding counts as -inf); the stride defaults
    to the kernel size. The gradient goes to the first maximum of each window."""
    return pool("max_pool2d", ops.MaxPool2d, input, kernel_size, stride, padding)


def avg_pool2d(input: Tensor, kernel_size: IntPair, stride: IntPair | None = None,
               padding: IntPair = 0) -> Tensor:
    """y = the mean of each kh × kw window, zero padding included in the count (PyTorch's
    default count_include_pad=True); the stride defaults to the kernel size."""
    return pool("avg_pool2d", ops.AvgPool2d, input, kernel_size, stride, padding)


def pool(name: str, op: Callable, input: Tensor, kernel_size: IntPair,
         stride: IntPair | None, padding: IntPair) -> Tensor:
    float_input(name, input)
    kernel = pair(name, "kernel_size", kernel_size, 1)
    stride = kernel if stride is None else pair(name, "stride", stride, 1)
    padding = pair(name, "padding", padding, 0)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{name}: padding {padding} should be at most half of the kernel "
                         f"size {kernel}")
    x = images(name, input)
    check_fits(name, x, kernel, padding)
    return unbatched(input, op.apply(x, kernel=kernel, stride=stride, padding=padding))


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """y = weight·(x - μ)/sqrt(σ² + eps) + bias per channel (axis 1). In training, μ and σ²
    are the batch's (biased variance) and the running statistics, if given, are updated in
    place with ``momentum`` (unbiased variance); otherwise μ, σ² are the running statistics."""
    float_input("batch_norm", input)
    if input.ndim < 2:
        raise ValueError(f"batch_norm: input must be (N, C) or (N, C, ...), got shape "
                         f"{input.shape}")
    channels = input.shape[1]
    if (running_mean is None) != (running_var is None):
        raise ValueError("batch_norm: give both running_mean and running_var, or neither")
    if running_mean is None and not training:
        raise ValueError("batch_norm: evaluation (training=False) needs running_mean and "
                         "running_var")
    for label, t in (("running_mean", running_mean), ("running_var", running_var),
                     ("weight", weight), ("bias", bias)):
        if t is not None and t.shape != (channels,):
            raise ValueError(f"batch_norm: {label} of shape {t.shape} does not match input "
                             f"of shape {input.shape} ({channels} channels)")
    if training and input.numel() // channels <= 1:
        raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                         f"got input of shape {input.shape}")
    stats = {} if running_mean is None else dict(running_mean=running_mean.array,
                                                 running_var=running_var.array)
    options = dict(training=bool(training), momentum=float(momentum), eps=float(eps), **stats)
    if weight is None and bias is None:
        return ops.BatchNorm.apply(input, **options)
    if weight is None or bias is None:  # one of the two: the other is the identity's
        like = weight if bias is None else bias
        filler = like.detach() * 0.0 + (1.0 if weight is None else 0.0)
        weight, bias = (filler, bias) if weight is None else (weight, filler)
    return ops.BatchNorm.apply(input, weight, bias, **options)


# ---- argument checks --------------------------------------------------------------------
def pair(name: str, label: str, value: Any, smallest: int) -> tuple[int, int]:
    """An int or a pair of ints -> (int, int), each at least ``smallest``."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    try:
        if len(values) != 2 or any(isinstance(v, bool) for v in values):
            raise TypeError
        values = (operator.index(values[0]), operator.index(values[1]))
    except TypeError:
        raise TypeError(f"{name}: {label} must be an int or a pair of ints, got {value!r}") \
            from None
    if min(values) < smallest:
        raise ValueError(f"{name}: {label} must be at least {smallest}, got {value!r}")
    return values


def images(name: str, input: Tensor) -> Tensor:
    """(N, C, H, W) as it is; an unbatched (C, H, W) as a batch of one."""
    if input.ndim == 3:
        return input.reshape(1, *input.shape)
    if input.ndim != 4:
        raise ValueError(f"{name}: expected a 4-D (N, C, H, W) or 3-D (C, H, W) input, got "
                         f"shape {input.shape}")
    return input


def unbatched(input: Tensor, y: Tensor) -> Tensor:
    return y.reshape(y.shape[1:]) if input.ndim == 3 else y


def check_fits(name: str, x: Tensor, kernel: tuple, padding: tuple) -> None:
    size = (x.shape[2] + 2 * padding[0], x.shape[3] + 2 * padding[1])
    if size[0] < kernel[0] or size[1] < kernel[1]:
        raise ValueError(f"{name}: kernel size {tuple(kernel)} is larger than the padded input "
                         f"{size} (input of shape {x.shape}, padding {padding})")

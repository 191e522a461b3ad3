"""ONNX exporters of the layers of convolutional networks, in eval mode (see onnx.py for the
table they join): Conv2d -> Conv, MaxPool2d -> MaxPool, AvgPool2d -> AveragePool,
BatchNorm1d/2d -> BatchNormalization on the running statistics, Unflatten -> Reshape.

ONNX's ``pads`` list the start of every spatial axis, then the end: [top, left, bottom,
right]; tinynet pads both sides alike. Its MaxPool pads with -inf and its AveragePool, with
``count_include_pad=1``, counts the zero padding, as tinynet's (and PyTorch's) layers do.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..nn import conv, layers, normalization
from ..nn.functional.conv import pair
from ..tensor import Tensor
from .onnx_graph import Graph, key


def windows(m: Any) -> dict:
    """The attributes of a window op: kernel_shape, strides, pads."""
    kernel = pair(type(m).__name__, "kernel_size", m.kernel_size, 1)
    stride = pair(type(m).__name__, "stride", m.stride, 1)
    padding = pair(type(m).__name__, "padding", m.padding, 0)
    return {"kernel_shape": list(kernel), "strides": list(stride), "pads": list(padding) * 2}


def conv2d(g: Graph, m: conv.Conv2d, name: str, x_name: str, x: Tensor) -> str:
    """y = conv(x, W) + b: one Conv node (weight (out, in, kh, kw), as ONNX wants it)."""
    inputs = [x_name, g.add_initializer(key(name, "weight"), m.weight)]
    if m.bias is not None:
        inputs.append(g.add_initializer(key(name, "bias"), m.bias))
    return g.add_node("Conv", inputs, key(name, "conv"), **windows(m))


def max_pool2d(g: Graph, m: conv.MaxPool2d, name: str, x_name: str, x: Tensor) -> str:
    return g.add_node("MaxPool", [x_name], key(name, "maxpool"), **windows(m))


def avg_pool2d(g: Graph, m: conv.AvgPool2d, name: str, x_name: str, x: Tensor) -> str:
    return g.add_node("AveragePool", [x_name], key(name, "averagepool"), count_include_pad=1,
                      **windows(m))


def batch_norm(g: Graph, m: normalization._BatchNorm, name: str, x_name: str,
               x: Tensor) -> str:
    """y = (x - running_mean) / sqrt(running_var + eps) · weight + bias, per channel (axis 1):
    BatchNormalization in inference mode. Without affine parameters, weight 1 and bias 0."""
    if m.running_mean is None:
        raise ValueError(f"tn.onnx.export: layer {name or 'model'!r} ({m!r}) has no running "
                         "statistics (track_running_stats=False), so in eval mode it "
                         "normalises with each batch's own; ONNX's BatchNormalization in "
                         "inference needs running statistics")
    dtype = m.running_mean.numpy().dtype
    ones, zeros = np.ones(m.num_features, dtype), np.zeros(m.num_features, dtype)
    scale = m.weight if m.weight is not None else ones
    shift = m.bias if m.bias is not None else zeros
    inputs = [x_name,
              g.add_initializer(key(name, "weight" if m.weight is not None else "ones"), scale),
              g.add_initializer(key(name, "bias" if m.bias is not None else "zeros"), shift),
              g.add_initializer(key(name, "running_mean"), m.running_mean),
              g.add_initializer(key(name, "running_var"), m.running_var)]
    return g.add_node("BatchNormalization", inputs, key(name, "batchnorm"), epsilon=m.eps)


def unflatten(g: Graph, m: layers.Unflatten, name: str, x_name: str, x: Tensor) -> str:
    """A Reshape to the axes before ``dim`` (0: copy the input's, so any batch size works),
    the unflattened sizes, then the axes after ``dim`` (fixed sizes)."""
    dim = m.dim % x.ndim
    if dim == 0:
        raise ValueError(f"tn.onnx.export: layer {name!r} ({m!r}) splits the batch axis 0; "
                         "an exported model keeps axis 0 as its batch axis")
    shape = np.array([0] * dim + list(m.unflattened_size) + list(x.shape[dim + 1:]),
                     dtype=np.int64)
    shape_name = g.add_initializer(key(name, "shape"), shape)
    return g.add_node("Reshape", [x_name, shape_name], key(name, "reshape"))


CNN_EXPORTERS = {
    conv.Conv2d: conv2d,
    conv.MaxPool2d: max_pool2d,
    conv.AvgPool2d: avg_pool2d,
    normalization.BatchNorm1d: batch_norm,
    normalization.BatchNorm2d: batch_norm,
    layers.Unflatten: unflatten,
}

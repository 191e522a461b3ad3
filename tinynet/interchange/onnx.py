"""Export a Sequential network to ONNX, which onnxruntime (and most inference runtimes) run.

    tn.onnx.export(model, example_input, "model.onnx")
    # then, without tinynet:
    #   session = onnxruntime.InferenceSession("model.onnx")
    #   logits = session.run(None, {"input": images})[0]

The model is walked layer by layer, in eval mode (dropout off, as PyTorch exports), and
each layer becomes a few ONNX nodes through the table ``EXPORTERS``: one small function per
layer type (those of convolutional networks in onnx_cnn.py), which receives the layer, the name of its input in the ONNX graph and the
example tensor flowing into it (for its shape), and returns the name of its output.
Parameters become initializers under their state_dict names (``1.weight``), so the ONNX
file, a safetensors file and a PyTorch state dict all use the same names.

Axis 0 is the batch axis: the file accepts any batch size. The opset is ``OPSET`` (17,
run by onnxruntime since 1.13 and exported by PyTorch 2 by default). The model is checked
with ``onnx.checker`` before it is written.
"""
from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np

from ..autograd import no_grad
from ..nn import layers
from ..tensor import Tensor
from ..extras import require
from .files import write_atomically
from .onnx_cnn import CNN_EXPORTERS
from .onnx_graph import Graph, key

OPSET = 17


# ---- one function per layer type: (graph, layer, its name, input name, input) -> output ----
def linear(g: Graph, m: layers.Linear, name: str, x_name: str, x: Tensor) -> str:
    """y = x Wᵀ + b: Gemm for a batch of vectors, else MatMul (and Add) over the last axis."""
    w = g.add_initializer(key(name, "weight"), m.weight)
    b = [g.add_initializer(key(name, "bias"), m.bias)] if m.bias is not None else []
    if x.ndim == 2:
        return g.add_node("Gemm", [x_name, w] + b, key(name, "gemm"), transB=1)
    wt = g.add_node("Transpose", [w], key(name, "weight_t"), perm=[1, 0])
    y = g.add_node("MatMul", [x_name, wt], key(name, "matmul"))
    return g.add_node("Add", [y] + b, key(name, "add")) if b else y


def elementwise(op: str) -> Callable:
    """An activation that is one ONNX op of the same meaning: Relu, Sigmoid, Tanh."""
    def export(g: Graph, m: Any, name: str, x_name: str, x: Tensor) -> str:
        return g.add_node(op, [x_name], key(name, op.lower()))
    return export


def softmax(g: Graph, m: layers.Softmax, name: str, x_name: str, x: Tensor) -> str:
    op = "LogSoftmax" if isinstance(m, layers.LogSoftmax) else "Softmax"
    return g.add_node(op, [x_name], key(name, op.lower()), axis=m.dim)


def identity(g: Graph, m: Any, name: str, x_name: str, x: Tensor) -> str:
    """Dropout in eval mode, Identity: no node at all."""
    return x_name


def flatten(g: Graph, m: layers.Flatten, name: str, x_name: str, x: Tensor) -> str:
    """Flatten(axis=1) for the usual (N, ...) -> (N, features); else a Reshape to the axes
    before start (0 = copy the input's axis at that position, so any batch size works),
    -1 for start..end merged, and the axes after end (never the batch axis: fixed sizes)."""
    start, end = m.start_dim % x.ndim, m.end_dim % x.ndim
    if start == 0 and end > 0:
        raise ValueError(f"tn.onnx.export: layer {name!r} ({m!r}) merges the batch axis 0 "
                         "into others; an exported model keeps axis 0 as its batch axis")
    if start == 1 and end == x.ndim - 1:
        return g.add_node("Flatten", [x_name], key(name, "flatten"), axis=1)
    shape = np.array([0] * start + [-1] + list(x.shape[end + 1:]), dtype=np.int64)
    shape_name = g.add_initializer(key(name, "shape"), shape)
    return g.add_node("Reshape", [x_name, shape_name], key(name, "reshape"))


EXPORTERS: dict[type, Callable] = {
    layers.Linear: linear,
    layers.ReLU: elementwise("Relu"),
    layers.Sigmoid: elementwise("Sigmoid"),
    layers.Tanh: elementwise("Tanh"),
    layers.Softmax: softmax,
    layers.LogSoftmax: softmax,
    layers.Flatten: flatten,
    layers.Dropout: identity,
    layers.Identity: identity,
    **CNN_EXPORTERS,  # Conv2d, MaxPool2d, AvgPool2d, BatchNorm1d/2d (eval), Unflatten
}


def export(model: Any, example_input: Tensor, path: str | os.PathLike,
           input_names: list[str] | None = None, output_names: list[str] | None = None,
           opset_version: int = OPSET) -> Any:
    """Write ``model`` (a ``Sequential`` of the layers in ``EXPORTERS``, nested Sequentials
    allowed) to ``path`` as an ONNX model and return the ``onnx.ModelProto``.

    ``example_input`` is one batch the model accepts; it fixes the dtype and every axis
    but the first. ``input_names`` / ``output_names`` (PyTorch's keywords; one name each)
    default to ``["input"]`` and ``["output"]``. Raises TypeError naming a layer the table
    does not know, ImportError naming the extra when onnx is missing.
    """
    onnx = require("onnx", "onnx", "tn.onnx.export")
    (input_name,) = input_names or ["input"]
    (output_name,) = output_names or ["output"]
    if not isinstance(example_input, Tensor):
        raise TypeError(f"tn.onnx.export: example_input must be a Tensor, got "
                        f"{type(example_input).__name__}")
    g, x, x_name = Graph(onnx), example_input, input_name
    was_training = model.training
    model.eval()  # export the inference graph: dropout off
    try:
        with no_grad():
            for name, layer in _layers(model):
                exporter = EXPORTERS.get(type(layer))
                if exporter is None:
                    known = ", ".join(sorted(t.__name__ for t in EXPORTERS))
                    raise TypeError(f"tn.onnx.export: layer {name or 'model'!r} is a "
                                    f"{type(layer).__name__}, which has no ONNX exporter; "
                                    f"supported: Sequential of {known}")
                x_name, x = exporter(g, layer, name, x_name, x), layer(x)
    finally:
        model.train(was_training)
    if g.nodes and g.nodes[-1].output[0] == x_name:
        g.nodes[-1].output[0] = x_name = output_name  # the last node's output is the output
    else:  # nothing computed (only Dropout/Identity): the output is a copy of the input
        g.add_node("Identity", [x_name], output_name)
    proto = onnx.helper.make_model(
        onnx.helper.make_graph(g.nodes, "tinynet", [_value_info(onnx, input_name, example_input)],
                               [_value_info(onnx, output_name, x)], g.initializers),
        opset_imports=[onnx.helper.make_opsetid("", opset_version)],
        producer_name="tinynet")
    proto.ir_version = onnx.helper.find_min_ir_version_for(list(proto.opset_import))
    onnx.checker.check_model(proto, full_check=True)  # types and shapes infer cleanly
    write_atomically(path, proto.SerializeToString())
    return proto


def _layers(model: Any, prefix: str = ""):
    """(state_dict name prefix, layer) for every layer, nested Sequentials walked through."""
    if type(model) is not layers.Sequential:
        yield prefix.rstrip("."), model
        return
    for name, child in model.named_children():
        yield from _layers(child, f"{prefix}{name}.")


def _value_info(onnx: Any, name: str, t: Tensor) -> Any:
    """An input or output of the graph: dtype and shape, axis 0 a named (any-size) batch."""
    shape = ["batch"] + list(t.shape[1:]) if t.ndim else []
    dtype = onnx.helper.np_dtype_to_tensor_dtype(t.dtype)
    return onnx.helper.make_tensor_value_info(name, dtype, shape)

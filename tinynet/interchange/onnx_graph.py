"""The ONNX graph being built by ``tn.onnx.export``: its nodes, its initializers, their names."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import backend_of
from ..tensor import Tensor


class Graph:
    """The ONNX nodes and initializers of a model being exported, with the onnx module."""

    def __init__(self, onnx: Any) -> None:
        self.onnx = onnx
        self.nodes: list = []
        self.initializers: list = []

    def add_initializer(self, name: str, value: Any) -> str:
        """A constant of the graph (a parameter, a shape), from a Tensor or an array."""
        array = value.array if isinstance(value, Tensor) else value
        if not isinstance(array, np.ndarray):
            array = backend_of(array).to_numpy(array)  # parameters on a GPU: to the host
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def add_node(self, op: str, inputs: list[str], name: str, **attributes: Any) -> str:
        """One ONNX node named ``name``; its output is called ``name`` too."""
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [name], name=name,
                                                     **attributes))
        return name


def key(layer_name: str, leaf: str) -> str:
    """``0.weight`` for the layer at ``0`` of a Sequential; ``weight`` for a bare layer."""
    return f"{layer_name}.{leaf}" if layer_name else leaf


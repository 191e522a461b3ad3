"""The layers: Linear, the activations, Dropout, Flatten, Unflatten, Identity and Sequential."""
from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any, Iterator

from ..backend import backend_for_device
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module, Parameter


class Linear(Module):
    """y = x @ weight.T + bias on the last axis of x: (..., in_features) -> (..., out_features).

    weight has shape (out_features, in_features); weight and bias start as U(-k, k) with
    k = 1/sqrt(in_features), PyTorch's default (kaiming_uniform_ with a = sqrt(5)).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device: str | None = None, dtype: Any = None):
        super().__init__()
        if in_features < 0 or out_features < 0:
            raise ValueError(f"Linear: in_features and out_features must be >= 0, got "
                             f"{in_features} and {out_features}")
        self.in_features, self.out_features = in_features, out_features
        backend = backend_for_device(device)  # None: the active backend
        dtype = dtype or "float32"
        self.weight = Parameter(backend.zeros((out_features, in_features), dtype))
        self.bias = Parameter(backend.zeros((out_features,), dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # bound = 1/sqrt(in_features)
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class ReLU(Module):
    """y = max(x, 0). ``inplace=True`` allows overwriting the input: done where no graph is
    recorded for it (evaluation under ``no_grad``); in training it returns a new tensor."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x, inplace=self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Sigmoid(Module):
    """y = 1 / (1 + exp(-x))."""

    def forward(self, x: Tensor) -> Tensor:
        return x.sigmoid()


class Tanh(Module):
    """y = tanh(x)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.tanh()


class Softmax(Module):
    """y = softmax(x) along ``dim``."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """y = log_softmax(x) along ``dim``."""

    def forward(self, x: Tensor) -> Tensor:
        return F.log_softmax(x, self.dim)


class Dropout(Module):
    """In training mode, zero each element with probability p and scale the others by
    1/(1-p), so the expected value is unchanged; in eval mode, the identity."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace=False"


class Flatten(Module):
    """Flatten the axes start_dim..end_dim into one: (N, 28, 28) -> (N, 784) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split axis ``dim`` into ``unflattened_size``: ``Unflatten(1, (1, 28, 28))`` turns
    (N, 784) rows into (N, 1, 28, 28) images."""

    def __init__(self, dim: int, unflattened_size: tuple):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x: Tensor) -> Tensor:
        dim = self.dim % x.ndim if -x.ndim <= self.dim < x.ndim else self.dim
        if not 0 <= dim < x.ndim:
            raise IndexError(f"Unflatten: dim {self.dim} is out of range for input of shape "
                             f"{x.shape}")
        return x.reshape(x.shape[:dim] + self.unflattened_size + x.shape[dim + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Identity(Module):
    """y = x."""

    def forward(self, x: Tensor) -> Tensor:
        return x


class Sequential(Module):
    """Modules applied in order: ``Sequential(Linear(784, 10), ReLU())(x)``. Indexable
    (``model[0]``, ``model[-1]``, ``model[1:]``), iterable, with ``len`` and ``append``.
    Also accepts an OrderedDict of name -> module."""

    def __init__(self, *modules: Module):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self._check(module, name)
                self.add_module(name, module)
        else:
            for i, module in enumerate(modules):
                self._check(module, i)
                self.add_module(str(i), module)

    @staticmethod
    def _check(module: Any, i: int | str) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"Sequential: entry {i!r} is a {type(module).__name__}, "
                            "not a tinynet.nn.Module")

    def forward(self, x: Any) -> Any:
        for module in self._modules.values():
            x = module(x)
        return x

    def __getitem__(self, index: int | slice) -> Module:
        modules = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(modules[index]))
        if not -len(modules) <= index < len(modules):
            raise IndexError(f"index {index} is out of range for a Sequential of "
                             f"{len(modules)} modules")
        return modules[index][1]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> Sequential:
        self._check(module, len(self))
        self.add_module(str(len(self)), module)
        return self

"""Module: the bookkeeping every layer and model shares.

A Module registers a Parameter or a sub-Module simply by assigning it to an attribute
(``self.fc = Linear(...)``), so ``parameters()``, ``state_dict()``, ``train()`` and ``to()``
can walk the tree of modules without the layer author listing anything. Buffers (state that
is not learned, such as BatchNorm's running statistics) are registered explicitly with
``register_buffer`` (state.py); afterwards, assigning a Tensor to the name replaces it.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterator

from ..autograd import no_grad
from ..tensor import Tensor
from .parameter import Parameter
from .state import IncompatibleKeys, ModuleState


class Module(ModuleState):
    """Base class of layers and models: subclass it, assign layers and Parameters in
    ``__init__``, and write ``forward``. Calling the module calls ``forward``.

        class MLP(tn.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1, self.fc2 = tn.nn.Linear(784, 128), tn.nn.Linear(128, 10)
            def forward(self, x):
                return self.fc2(self.fc1(x).relu())
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)  # modules start in training mode

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # ---- registration on attribute assignment -----------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        params = self.__dict__.get("_parameters")
        if isinstance(value, (Parameter, Module)) and params is None:
            raise AttributeError(f"cannot assign {type(value).__name__} {name!r} before "
                                 "Module.__init__() was called")
        if isinstance(value, Parameter):
            self._forget(name, keep=params)  # a replaced parameter keeps its place
            self._register(params, name, value)
        elif isinstance(value, Module):
            self._forget(name, keep=self._modules)
            self._register(self._modules, name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter {name!r} "
                                "(tinynet.nn.Parameter or None expected)")
            self._register(params, name, None)
        elif params is not None and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer {name!r} "
                                "(tinynet.Tensor or None expected)")
            self._register(self._buffers, name, value)
        elif params is not None and name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module "
                                f"{name!r} (tinynet.nn.Module or None expected)")
            self._register(self._modules, name, None)
        else:
            object.__setattr__(self, name, value)

    def _register(self, registry: dict, name: str, value: Any) -> None:
        """Enter ``name`` in ``registry`` (_parameters, _buffers or _modules) and mirror it
        in the instance's ``__dict__``: ``self.weight`` is then a plain attribute read, not
        a failed lookup that ends in ``__getattr__`` (about 15x slower, on every forward).
        Every registry write goes through here; a write straight into ``_parameters``
        would leave the mirror stale."""
        registry[name] = value
        self.__dict__[name] = value

    def _forget(self, name: str, keep: dict | None = None) -> None:
        """Drop ``name`` from every registry except ``keep``."""
        self.__dict__.pop(name, None)
        for registry in (self._parameters, self._buffers, self._modules):
            if registry is not keep:
                registry.pop(name, None)
        if keep is not self._buffers:
            self._non_persistent_buffers.discard(name)

    def __getattr__(self, name: str) -> Any:  # called only when normal lookup fails
        for registry in ("_parameters", "_buffers", "_modules"):
            found = self.__dict__.get(registry)
            if found is not None and name in found:
                return found[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        if name in self._parameters or name in self._buffers or name in self._modules:
            self._forget(name)
        else:
            object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if param is None:
            self._forget(name)
            self._register(self._parameters, name, None)
        else:
            setattr(self, name, param)

    def add_module(self, name: str, module: Module | None) -> None:
        if module is None:
            self._forget(name)
            self._register(self._modules, name, None)
        else:
            setattr(self, name, module)

    # ---- walking the tree --------------------------------------------------------------
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every module below it, each once, with its dotted name."""
        seen, stack = set(), [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{n}" if name else n, m)
                        for n, m in module._modules.items() if m is not None]
            stack.extend(reversed(children))  # reversed: pop them in definition order

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, module in self._modules.items():
            if module is not None:
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def named_parameters(self, prefix: str = "", recurse: bool = True
                         ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) pairs, each Parameter once even if shared."""
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    # ---- modes, devices, gradients --------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active) for this module and all below it."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if p.grad is not None and not set_to_none:
                p.grad.array[...] = 0
            else:
                p.grad = None

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def to(self, target: Any) -> Module:
        """Move every parameter and buffer to a device (``"cpu"``, ``"cuda"``) or cast the
        floating point ones to a dtype, in place (integer buffers such as
        ``num_batches_tracked`` keep their dtype); returns the module."""
        for t in list(self.parameters()) + list(self.buffers()):
            with no_grad():
                moved = t.to(target)
            if t.dtype.kind != "f" and moved.dtype != t.dtype:
                continue  # dtype casts apply to floating point tensors only
            t.array = moved.array
            if t.grad is not None:
                t.grad = t.grad.to(target)
        return self

    def cpu(self) -> Module:
        return self.to("cpu")

    def cuda(self) -> Module:
        return self.to("cuda")

    def float(self) -> Module:
        return self.to("float32")

    def double(self) -> Module:
        return self.to("float64")

    def apply(self, fn: Any) -> Module:
        """Call ``fn(module)`` on every module below this one, then on this one."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ---- printing --------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text inside this module's parentheses, e.g. ``in_features=784, ...``."""
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + _indent(repr(module))
                 for name, module in self._modules.items()]
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        body = "\n  ".join(([extra] if extra else []) + lines)
        return f"{type(self).__name__}(\n  {body}\n)"


def _indent(text: str) -> str:
    return text.replace("\n", "\n  ")


__all__ = ["Module", "Parameter", "IncompatibleKeys"]

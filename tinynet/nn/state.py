"""A Module's state: its buffers, and state dicts of parameters and buffers by dotted name,
saved and loaded as in PyTorch.

A buffer is a Tensor that belongs to a module without being learned: BatchNorm's running
statistics. ``to()`` moves buffers with the parameters and ``state_dict`` saves them
(unless registered with ``persistent=False``), but ``parameters()`` never lists them, so
no optimizer touches them. ``ModuleState`` is a base class of ``Module`` (module.py).
"""
from __future__ import annotations

from collections import OrderedDict, namedtuple
from typing import Any, Iterator

from ..autograd import no_grad
from ..backend import backend_of
from ..tensor import Tensor
from .parameter import Parameter

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class ModuleState:
    """What a Module saves and restores: its parameters and buffers, by dotted name."""

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a buffer ``name`` (then ``self.name``): a Tensor of the module's state that is
        not a parameter. ``persistent=False`` keeps it out of ``state_dict``."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot register a buffer before Module.__init__() was called")
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f'buffer name must be a non-empty string without ".", got {name!r}')
        if name not in self._buffers and hasattr(self, name):
            raise KeyError(f"attribute {name!r} already exists on {type(self).__name__}")
        if tensor is not None and (isinstance(tensor, Parameter)
                                   or not isinstance(tensor, Tensor)):
            raise TypeError(f"cannot register {type(tensor).__name__} as buffer {name!r} "
                            "(a tinynet.Tensor or None, not a Parameter, expected)")
        self._forget(name, keep=self._buffers)
        self._register(self._buffers, name, tensor)
        if not persistent:
            self._non_persistent_buffers.add(name)

    def named_buffers(self, prefix: str = "", recurse: bool = True
                      ) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, buffer) pairs, each buffer once even if shared."""
        return self._named_members("_buffers", prefix, recurse)

    def _named_members(self, registry: str, prefix: str, recurse: bool
                       ) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, tensor) pairs of one registry (``_parameters`` or ``_buffers``) of
        this module and, if ``recurse``, of every module below it; each tensor once even if
        shared, None entries left out."""
        seen = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_name, module in modules:
            for name, t in getattr(module, registry).items():
                if t is not None and id(t) not in seen:
                    seen.add(id(t))
                    yield (f"{module_name}.{name}" if module_name else name), t

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def state_dict(self) -> OrderedDict:
        """Name -> Tensor for every parameter and persistent buffer: detached Tensors sharing
        the data, in PyTorch's order (each module's parameters, then its buffers, then its
        children's). A module or parameter reachable along two paths (tied weights) appears
        under both names, as in PyTorch, so state dicts move between the two."""
        return OrderedDict((name, t.detach()) for name, t in self._state_paths())

    def _state_paths(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        for name, p in self._parameters.items():
            if p is not None:
                yield prefix + name, p
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers:
                yield prefix + name, b
        for name, module in self._modules.items():
            if module is not None:
                yield from module._state_paths(prefix + name + ".")

    def load_state_dict(self, state_dict: dict, strict: bool = True) -> IncompatibleKeys:
        """Copy values (Tensors or NumPy arrays) into the parameters and persistent buffers,
        in place, keeping each one's dtype and device. With ``strict``, missing keys,
        unexpected keys and shape mismatches raise one RuntimeError that lists them all;
        without it, the keys that match are loaded and the rest are returned as
        (missing_keys, unexpected_keys).
        """
        own = dict(self._state_paths())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mismatched = [f"size mismatch for {k}: copying a param with shape "
                      f"{tuple(state_dict[k].shape)} from checkpoint, the shape in current "
                      f"model is {own[k].shape}"
                      for k in own if k in state_dict
                      and tuple(state_dict[k].shape) != own[k].shape]
        problems = list(mismatched)
        if strict and unexpected:
            problems.insert(0, "Unexpected key(s) in state_dict: " + ", ".join(
                f'"{k}"' for k in unexpected))
        if strict and missing:
            problems.insert(0, "Missing key(s) in state_dict: " + ", ".join(
                f'"{k}"' for k in missing))
        if problems:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:"
                               "\n\t" + "\n\t".join(problems))
        with no_grad():
            for name, p in own.items():
                if name in state_dict:
                    p.array[...] = _array_like(state_dict[name], p)
        return IncompatibleKeys(missing, unexpected)


def _array_like(value: Any, p: Tensor) -> Any:
    """``value`` (Tensor, backend array, NumPy array) as an array on p's device and dtype."""
    backend = backend_of(p.array)
    if isinstance(value, Tensor):
        value = value.array
    if not backend.owns(value):  # from another device, or host data: via the host
        value = backend.asarray(backend_of(value).to_numpy(value)
                                if _is_backend_array(value) else value)
    return backend.astype(value, p.dtype)


def _is_backend_array(value: Any) -> bool:
    try:
        backend_of(value)
        return True
    except TypeError:
        return False

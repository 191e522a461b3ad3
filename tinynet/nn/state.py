"""State dicts: a Module's parameters by dotted name, saved and loaded as in PyTorch.

``ModuleState`` is a base class of ``Module`` (module.py).
"""
from __future__ import annotations

from collections import OrderedDict, namedtuple
from typing import Any, Iterator

from ..autograd import no_grad
from ..backend import backend_of
from ..tensor import Tensor

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class ModuleState:
    """What a Module saves and restores: its parameters, by dotted name."""

    def state_dict(self) -> OrderedDict:
        """Name -> Tensor for every parameter: detached Tensors sharing the data. A module or
        parameter reachable along two paths (tied weights) appears under both names, as in
        PyTorch, so state dicts move between the two."""
        return OrderedDict((name, p.detach()) for name, p in self._parameter_paths())

    def _parameter_paths(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        for name, p in self._parameters.items():
            if p is not None:
                yield prefix + name, p
        for name, module in self._modules.items():
            if module is not None:
                yield from module._parameter_paths(prefix + name + ".")

    def load_state_dict(self, state_dict: dict, strict: bool = True) -> IncompatibleKeys:
        """Copy values (Tensors or NumPy arrays) into the parameters, in place, keeping each
        parameter's dtype and device. With ``strict``, missing keys, unexpected keys and
        shape mismatches raise one RuntimeError that lists them all; without it, the keys
        that match are loaded and the rest are returned as (missing_keys, unexpected_keys).
        """
        own = dict(self._parameter_paths())
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

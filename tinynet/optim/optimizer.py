"""The optimizer base class: parameter groups, per-parameter state, and state dicts.

An optimizer holds ``param_groups``, a list of dicts laid out as in PyTorch::

    [{"params": [w, b], "lr": 0.1, "momentum": 0.9, ...}, {"params": [...], "lr": 0.01, ...}]

and ``state``, a dict from parameter to that parameter's own dict (a momentum buffer, Adam's
moments and step count). Subclasses write ``_update(param, group)``, which returns the
elementwise kernel that updates ``param.array`` in place from ``param.grad.array``, with the
arrays it works on; ``step`` hands them all to the backend (``Backend.foreach``), which on
the CPU runs each kernel on cache-sized pieces.
"""
from __future__ import annotations

import copy
from collections import defaultdict
from itertools import chain
from typing import Any, Callable, Iterable

from ..autograd import enable_grad, mark_modified
from ..backend import backend_of
from ..creation import tensor
from ..tensor import Tensor

_UNORDERED = ("parameters must be an ordered collection (list, tuple), not a set: the order "
              "of a set changes between runs, and state dicts rely on the order")


class Optimizer:
    """Base class of the optimizers.

    Args:
        params: an iterable of Tensors, or of dicts (parameter groups), each with a
            ``"params"`` entry and optional hyperparameters that override ``defaults``.
        defaults: the hyperparameters every group gets unless it sets its own.
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], defaults: dict):
        if isinstance(params, Tensor):
            raise TypeError("params should be an iterable of Tensors or dicts, but got a "
                            f"single Tensor of shape {params.shape}: wrap it in a list")
        if isinstance(params, (set, frozenset)):
            raise TypeError(_UNORDERED)
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict] = defaultdict(dict)
        self.param_groups: list[dict] = []
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {key}: {value}" for key, value in sorted(group.items())
                      if key != "params"]
        return "\n".join(lines + [")"])

    # ---- groups --------------------------------------------------------------------------
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyperparameters (defaults fill the rest)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"a parameter group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(_UNORDERED)
        group["params"] = params = list(params)
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizers optimize Tensors, but parameter {i} of the group "
                                f"is a {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"parameter {i} (shape {p.shape}) is not a leaf tensor: "
                                 "only leaves (tensors created by the user) can be optimized")
        if len({id(p) for p in params}) != len(params):
            raise ValueError("a parameter group contains the same parameter twice")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group: dict) -> None:
        """Raise ValueError for invalid hyperparameters in ``group`` (subclasses)."""

    # ---- the update ----------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: set ``.grad`` to None, or fill it with zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.array[...] = 0  # in place: other code may hold this array

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; parameters whose ``.grad`` is None are
        skipped. ``closure`` (optional) recomputes and returns the loss before the update."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        jobs: dict[Any, list] = {}  # backend -> its (kernel, arrays) jobs
        updated = []
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    backend = backend_of(p.array)
                    backend.make_current()  # state is created where the parameter lives
                    jobs.setdefault(backend, []).append(self._update(p, group))
                    updated.append(p)
        for backend, backend_jobs in jobs.items():
            backend.foreach(backend_jobs)
        for p in updated:  # a graph recorded before the step must not backward through p
            mark_modified(p)
        return loss

    def _update(self, param: Tensor, group: dict) -> tuple:
        """Prepare one parameter's update: create its state if needed and return the job
        ``(kernel, arrays)``, where ``kernel(*arrays)`` updates ``param.array`` in place.
        The kernel must be elementwise: the backend may run it on pieces of the arrays."""
        raise NotImplementedError

    # ---- checkpoints ---------------------------------------------------------------------
    def state_dict(self) -> dict:
        """The optimizer's state, with parameters replaced by their positions (0, 1, ...)
        counted across groups, exactly as PyTorch lays it out::

            {"state": {0: {"momentum_buffer": Tensor}, ...},
             "param_groups": [{"lr": 0.1, ..., "params": [0, 1]}, ...]}

        The state tensors are shared with the optimizer, as in PyTorch: save (or copy) them
        before the next ``step``.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed = {key: value for key, value in group.items() if key != "params"}
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a state from ``state_dict()``: hyperparameters come from the dict, and
        state tensors are copied to each parameter's device and floating dtype."""
        if "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError("an optimizer state dict has the keys 'state' and 'param_groups', "
                             f"got {sorted(map(str, state_dict))}")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"the loaded state dict has {len(saved_groups)} parameter groups, "
                             f"but the optimizer has {len(self.param_groups)}")
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"parameter group {i} has {len(saved['params'])} parameters "
                                 f"in the loaded state dict, but {len(group['params'])} in "
                                 "the optimizer")
        saved_index = chain.from_iterable(g["params"] for g in saved_groups)
        params = chain.from_iterable(g["params"] for g in self.param_groups)
        param_of = {int(i): p for i, p in zip(saved_index, params)}
        self.state = defaultdict(dict)
        for key, saved_state in state_dict["state"].items():
            if int(key) not in param_of:
                raise ValueError(f"the loaded state dict has state for parameter {key}, "
                                 "which no parameter group lists")
            p = param_of[int(key)]
            self.state[p] = {name: _restore(name, value, p)
                             for name, value in saved_state.items()}
        # Saved hyperparameters win; ones the saved dict lacks (a checkpoint from an older
        # version) keep this optimizer's defaults, as PyTorch does.
        self.param_groups = [
            {**self.defaults, **copy.deepcopy({k: v for k, v in saved.items() if k != "params"}),
             "params": group["params"]}
            for group, saved in zip(self.param_groups, saved_groups)]


def _restore(name: str, value: Any, param: Tensor) -> Any:
    """A saved state entry, made ready for ``param``: arrays become Tensors copied to the
    parameter's device (floating ones cast to its dtype); the step count a plain number."""
    if value is None or isinstance(value, (int, float)):
        return value
    if not isinstance(value, Tensor):
        value = tensor(value)  # a NumPy or backend array, as a serializer may return it
    if name == "step" and value.ndim == 0:
        return value.item()
    dtype = param.dtype if value.dtype.kind == "f" else None
    return tensor(value, dtype=dtype, device=param.device)

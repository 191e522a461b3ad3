"""State dicts as safetensors files, the format PyTorch and Hugging Face load without pickle.

    tn.save(model.state_dict(), "model.safetensors")      # tn.save picks this by the suffix
    # in PyTorch, for the same architecture:
    #   torch_model.load_state_dict(safetensors.torch.load_file("model.safetensors"))
    state = tn.load("model.safetensors")                   # also files PyTorch wrote

A safetensors file is an 8-byte header length, a JSON header (name -> dtype, shape, byte
range; plus string metadata) and the raw little-endian bytes of every tensor. It holds a
flat dict of named arrays and nothing else: optimizer state and epoch counters belong in a
tinynet checkpoint (``.npz``; any other suffix). tinynet's parameter names and layouts are
PyTorch's (``0.weight`` of shape (out, in) for a Linear inside a Sequential), so the files
move between the two unchanged.

The order of the keys is kept in the metadata entry ``tinynet.keys`` (safetensors itself
sorts them); files from elsewhere load in the sorted order, which ``load_state_dict`` does
not mind: it matches by name.
"""
from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from ..backend import Backend, backend_for_device, backend_of
from ..tensor import Tensor
from ..extras import require
from .files import write_atomically

SUFFIX = ".safetensors"
ORDER_KEY = "tinynet.keys"
NUMPY_DTYPES = ("F64", "F32", "F16", "I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8",
                "BOOL")


def save(state_dict: Any, path: str | os.PathLike, metadata: dict | None = None) -> None:
    """Write a flat dict of name -> Tensor (or array) to ``path`` as safetensors, atomically.

    ``metadata`` (str -> str) is stored in the header. Raises TypeError, before any file is
    touched, for anything that is not a flat dict of tensors with str keys.
    """
    numpy = require("safetensors.numpy", "safetensors", "saving a .safetensors file")
    if not isinstance(state_dict, dict):
        raise TypeError(f"tn.save: a {SUFFIX} file holds a flat dict of tensors (a state "
                        f"dict), got {type(state_dict).__name__}; save training state "
                        "(optimizer, epoch, nested dicts) to a .npz checkpoint instead")
    arrays = {}
    for key, value in state_dict.items():
        if not isinstance(key, str):
            raise TypeError(f"tn.save: {SUFFIX} keys must be str, got {key!r}")
        arrays[key] = _host(value, key)
    header = {ORDER_KEY: json.dumps(list(arrays))}
    header.update(metadata or {})
    write_atomically(path, numpy.save(arrays, metadata=header))


def load(path: str | os.PathLike, map_location: str | Backend | None = None) -> dict:
    """Read a safetensors file into a dict of name -> Tensor on ``map_location`` (default:
    the active backend), in the order it was saved by tinynet, else sorted by name."""
    safetensors = require("safetensors", "safetensors", "loading a .safetensors file")
    path = os.fspath(path)
    backend = backend_for_device(map_location)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such file: {path!r}")
    try:
        with safetensors.safe_open(path, framework="np") as file:
            names = _saved_order(file.metadata() or {}, list(file.keys()))
            dtypes = {name: file.get_slice(name).get_dtype() for name in names}
            unreadable = [f"{name!r} ({dtype})" for name, dtype in dtypes.items()
                          if dtype not in NUMPY_DTYPES]
            if not unreadable:
                arrays = {name: np.array(file.get_tensor(name)) for name in names}
    except Exception as exc:  # safetensors raises its own SafetensorError: one message
        raise ValueError(f"{path!r} is not a valid safetensors file: "
                         f"{type(exc).__name__}: {exc}") from exc
    if unreadable:
        raise ValueError(f"{path!r}: NumPy has no dtype for the tensors "
                         f"{', '.join(unreadable)}; convert them in PyTorch before saving "
                         "(tensor.float())")
    return {name: Tensor(backend.asarray(array)) for name, array in arrays.items()}


def _saved_order(metadata: dict, names: list[str]) -> list[str]:
    """The key order tinynet recorded in the metadata, else the file's (sorted) order."""
    try:
        order = json.loads(metadata.get(ORDER_KEY, "null"))
    except ValueError:
        return names
    return order if isinstance(order, list) and sorted(order) == sorted(names) else names


def _host(value: Any, key: str) -> np.ndarray:
    """A C-contiguous NumPy copy of a Tensor, backend array or NumPy array."""
    if isinstance(value, Tensor):
        value = value.array
    if not isinstance(value, np.ndarray):
        try:
            value = backend_of(value).to_numpy(value)  # the host transfer of GPU data
        except TypeError:
            raise TypeError(f"tn.save: {SUFFIX} holds tensors only; {key!r} is a "
                            f"{type(value).__name__}") from None
    return np.array(value, order="C")  # (np.ascontiguousarray would make a 0-d array 1-d)

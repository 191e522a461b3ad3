"""The one seam between tinynet and an array library.

Every array that a Tensor holds belongs to exactly one Backend. The engine, the ops, the
layers and the optimizers never import NumPy or CuPy for math on tensor data: they ask
``array_module(array)`` (the backend's ``xp``) for the array namespace, and the Backend for
the few things that differ between libraries (moving data to and from the host,
scatter-add, indexing, random numbers).

Three backends exist, one file each:

- ``numpy``  (device ``"cpu"``): the default.
- ``cupy``   (device ``"cuda"`` / ``"cuda:N"``): the GPU, an optional install.
- ``strict`` (devices ``"strict"`` and ``"strict:1"``): array-api-strict arrays on its
  two non-CPU devices, a stand-in for one or two GPUs in tests.

This file is the registry: one Backend object per device, created on first use.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from .base import Backend
from .cupy_backend import CupyBackend
from .host import host_array, host_dtype
from .numpy_backend import NumpyBackend
from .numpy_namespace import namespace as numpy_namespace
from .strict_backend import StrictBackend

__all__ = ["HOST_ARRAY", "Backend", "NumpyBackend", "CupyBackend", "StrictBackend", "array_module",
           "backend_for_device", "backend_of", "get_backend", "set_backend", "manual_seed",
           "get_rng_state", "set_rng_state", "host_array", "host_dtype"]

HOST_ARRAY = np.ndarray  # the array type that lives on the host: no device to select
_backends: dict[str, Backend] = {}
_host: list[Backend] = []  # the NumPy backend once made: backend_of's hot path
_active: list[Backend] = []
_seed: int | None = None


def backend_for_device(device: str | Backend | None = None) -> Backend:
    """The Backend for a device string: ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"strict"``.

    ``None`` gives the active backend. The names ``"numpy"`` and ``"cupy"`` are accepted too.
    """
    if device is None:
        return get_backend()
    if isinstance(device, Backend):
        return device
    key = str(device).lower()
    key = {"numpy": "cpu", "cupy": "cuda:0", "cuda": "cuda:0", "gpu": "cuda:0",
           "strict:0": "strict"}.get(key, key)
    if key not in _backends:
        if key == "cpu":
            _backends[key] = NumpyBackend()
            _host.append(_backends[key])
        elif key == "strict" or key == "strict:1":
            _backends[key] = StrictBackend(0 if key == "strict" else 1)
        elif key.startswith("cuda:") and key[5:].isdigit():
            _backends[key] = CupyBackend(int(key[5:]))
        else:
            raise ValueError(f"unknown device {device!r}: expected 'cpu', 'cuda', 'cuda:N', "
                             "'strict' or 'strict:1' (backends 'numpy', 'cupy')")
        if _seed is not None:
            _backends[key].manual_seed(_seed)
    return _backends[key]


def set_backend(name: str) -> Backend:
    """Make ``name`` (``"numpy"``, ``"cupy"``, ``"strict"`` or a device string) the backend
    that new tensors are created on. Returns it."""
    backend = backend_for_device(name)
    _active[:] = [backend]
    return backend


def get_backend() -> Backend:
    """The active backend: set by ``set_backend``, else ``$TINYNET_BACKEND``, else NumPy."""
    if not _active:
        _active.append(backend_for_device(os.environ.get("TINYNET_BACKEND", "numpy")))
    return _active[0]


def backend_of(a: Any) -> Backend:
    """The backend that owns array ``a``."""
    if type(a) is HOST_ARRAY and _host:
        return _host[0]
    if isinstance(a, (np.ndarray, np.generic)):
        cpu = _backends.get("cpu")  # the common case, without parsing a device string
        return cpu if cpu is not None else backend_for_device("cpu")
    for backend in _backends.values():
        if backend.owns(a):
            return backend
    raise TypeError(f"unsupported array type {type(a).__name__}: tinynet tensors hold NumPy, "
                    "CuPy or array-api-strict arrays")


def array_module(a: Any) -> Any:
    """The array namespace ``xp`` of array ``a`` (``numpy`` for NumPy arrays): what an op
    calls for its math, so that one op runs on every backend (``xp.exp(x)``)."""
    if type(a) is np.ndarray:  # the hot path: no registry lookup
        return numpy_namespace
    return backend_of(a).xp


def get_rng_state(device: str | None = None) -> np.ndarray:
    """The random generator state of a backend (the active one by default), as uint8 bytes.

    On CuPy this is the host generator's state; the GPU generator is re-seeded from it by
    ``set_rng_state``, so resumed GPU runs are reproducible but not bit-identical.
    """
    return backend_for_device(device).get_rng_state()


def set_rng_state(state: Any, device: str | None = None) -> None:
    """Restore a state returned by ``get_rng_state``."""
    backend_for_device(device).set_rng_state(state)


def manual_seed(seed: int) -> None:
    """Seed the random generators of every backend in use (and of those created later)."""
    global _seed
    _seed = int(seed)
    for backend in _backends.values():
        backend.manual_seed(_seed)

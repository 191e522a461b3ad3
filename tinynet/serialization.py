"""Checkpoints without pickle: ``save(obj, path)`` and ``load(path, map_location=None)``.

The file format is one NumPy ``.npz`` (a zip archive, not compressed):

- every array (tensor data, NumPy array) is its own ``.npy`` entry ``arr_0``, ``arr_1``, ...;
- the entry ``manifest`` is a uint8 array of UTF-8 JSON that records the structure:
  ``{"format": "tinynet-checkpoint", "version": 1, "root": <node>}``. A node is a JSON
  literal (int, finite float, bool, str, null) or an object tagged by ``"type"``:
  ``dict`` (``items``: [key, node] pairs, so key order and int keys survive), ``list``,
  ``tuple``, ``float`` (nan/inf as text, which JSON cannot hold), ``tensor`` (``array`` name
  and ``requires_grad``), ``ndarray``, ``scalar`` (a NumPy scalar) and ``backend_array``.

Loading runs ``np.load(path, allow_pickle=False)`` and ``json.loads`` only, so a file can
never run code. Each zip entry carries a CRC-32 that is checked as it is read, so truncated
or corrupted files fail loudly. Saving writes a temporary file in the same folder, fsyncs it
and renames it onto ``path``: a crash leaves either the old file or the new one, never half.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
import zipfile
from typing import Any

import numpy as np

from .backend import Backend, backend_for_device, backend_of
from .tensor import Tensor

FORMAT = "tinynet-checkpoint"
VERSION = 1
MANIFEST = "manifest"
SUPPORTED = "dict, list, tuple, Tensor, NumPy or backend arrays, int, float, bool, str, None"


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write ``obj`` (a state dict, or a checkpoint of nested dicts, lists, tuples, tensors,
    arrays and Python scalars) to exactly ``path``, atomically.

    Tensors keep dtype and ``requires_grad`` (not ``grad``, nor being a Parameter). An object
    that appears twice is stored twice. Raises TypeError naming the type and key path of the
    first object that cannot be stored, before any file is touched.
    """
    if os.fspath(path).lower().endswith(".safetensors"):  # PyTorch's format, for state dicts
        from .interchange import safetensors
        return safetensors.save(obj, path)
    arrays: dict[str, np.ndarray] = {}
    root = _encode(obj, "obj", arrays)
    text = json.dumps({"format": FORMAT, "version": VERSION, "root": root}, allow_nan=False)
    arrays[MANIFEST] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    _write_atomically(os.fspath(path), arrays)


def load(path: str | os.PathLike, map_location: str | Backend | None = None) -> Any:
    """Read a file written by ``save``.

    Tensors and saved backend arrays come back on ``map_location`` (``"cpu"``, ``"cuda"``,
    ``"strict"``; default: the active backend); NumPy arrays stay NumPy arrays, tuples stay
    tuples, int dict keys stay ints. Raises FileNotFoundError for a missing file and
    ValueError for a file that is not a complete, valid tinynet checkpoint.
    """
    path = os.fspath(path)
    if path.lower().endswith(".safetensors"):  # a state dict, from tinynet or PyTorch
        from .interchange import safetensors
        return safetensors.load(path, map_location)
    backend = backend_for_device(map_location)
    try:
        with open(path, "rb") as file:  # a missing file raises FileNotFoundError here
            if file.read(4) != b"PK\x03\x04":  # also keeps np.load off its pickle branch
                raise ValueError("it is not a zip (.npz) archive")
        with np.load(path, allow_pickle=False) as npz:
            return _decode(_read_manifest(npz), npz, backend)
    except (ValueError, TypeError, KeyError, EOFError, zipfile.BadZipFile,
            UnicodeDecodeError) as exc:
        # np.load refuses pickled (object) data with a ValueError, which lands here too.
        raise ValueError(f"{path!r} is not a valid or complete tinynet checkpoint: "
                         f"{type(exc).__name__}: {exc}") from exc


# ---- structure <-> manifest ---------------------------------------------------------------
def _encode(obj: Any, path: str, arrays: dict[str, np.ndarray]) -> Any:
    """``obj`` -> a JSON-able node, moving every array into ``arrays``. ``path`` names
    ``obj`` for error messages, like ``obj["model"]["0.weight"]``."""
    if isinstance(obj, np.generic):  # before float: np.float64 is a subclass of float
        return {"type": "scalar", "array": _add_array(np.asarray(obj), path, arrays)}
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else {"type": "float", "value": repr(obj)}
    if isinstance(obj, dict):
        items = []
        for key, value in obj.items():
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TypeError(f"tn.save: dict keys must be str or int, got "
                                f"{type(key).__name__} key {key!r} in {path}")
            items.append([key, _encode(value, f"{path}[{json.dumps(key)}]", arrays)])
        return {"type": "dict", "items": items}
    if isinstance(obj, (list, tuple)):
        items = [_encode(value, f"{path}[{i}]", arrays) for i, value in enumerate(obj)]
        return {"type": "list" if isinstance(obj, list) else "tuple", "items": items}
    if isinstance(obj, Tensor):
        # to_numpy is the backend's host transfer; np.asarray would fail on GPU data
        host = backend_of(obj.array).to_numpy(obj.array)
        return {"type": "tensor", "array": _add_array(host, path, arrays),
                "requires_grad": obj.requires_grad}
    if isinstance(obj, np.ndarray):
        return {"type": "ndarray", "array": _add_array(obj, path, arrays)}
    try:
        backend = backend_of(obj)
    except TypeError:
        raise TypeError(f"tn.save cannot store an object of type {type(obj).__name__} at "
                        f"{path}; supported are {SUPPORTED}") from None
    return {"type": "backend_array", "array": _add_array(backend.to_numpy(obj), path, arrays)}


def _add_array(array: np.ndarray, path: str, arrays: dict[str, np.ndarray]) -> str:
    if array.dtype.hasobject:  # object arrays could only be stored by pickling them
        raise TypeError(f"tn.save cannot store an array of dtype {array.dtype} at {path}: "
                        "object arrays need pickle")
    name = f"arr_{len(arrays)}"
    arrays[name] = array
    return name


def _read_manifest(npz: np.lib.npyio.NpzFile) -> Any:
    if MANIFEST not in npz.files:
        raise ValueError(f"it has no {MANIFEST!r} entry (entries: {npz.files[:5]})")
    manifest = json.loads(bytes(npz[MANIFEST]).decode("utf-8"))
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else manifest
        raise ValueError(f"format marker is {found!r}, expected {FORMAT!r}")
    if manifest.get("version") != VERSION:
        raise ValueError(f"format version {manifest.get('version')!r} is not supported "
                         f"(this tinynet reads version {VERSION})")
    return manifest["root"]


def _decode(node: Any, npz: np.lib.npyio.NpzFile, backend: Backend) -> Any:
    """A manifest node -> the Python object it describes."""
    if not isinstance(node, dict):  # a JSON literal stands for itself
        return node
    kind = node.get("type")
    if kind == "dict":
        return {key: _decode(value, npz, backend) for key, value in node["items"]}
    if kind in ("list", "tuple"):
        items = [_decode(value, npz, backend) for value in node["items"]]
        return items if kind == "list" else tuple(items)
    if kind == "float":
        return float(node["value"])
    if kind not in ("tensor", "ndarray", "scalar", "backend_array"):
        raise ValueError(f"manifest has a node of unknown type {kind!r}")
    name = node["array"]
    if name not in npz.files or name == MANIFEST:
        raise ValueError(f"manifest refers to array {name!r}, which the file does not contain")
    array = npz[name]
    if kind == "ndarray":
        return array
    if kind == "scalar":
        return array[()]
    if kind == "backend_array":
        return backend.asarray(array)
    return Tensor(backend.asarray(array), requires_grad=node["requires_grad"])


# ---- the atomic write -----------------------------------------------------------------------
def _write_atomically(path: str, arrays: dict[str, np.ndarray]) -> None:
    """Write to a temporary sibling, flush it to disk, then rename it onto ``path``: the
    rename is atomic, so readers (and a crash) see the old file or the new one, never half."""
    directory = os.path.dirname(os.path.abspath(path))
    mode = file_mode(path)
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".tinynet-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            np.savez(file, **arrays)  # a file object: savez appends no ".npz"
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:  # KeyboardInterrupt too: never leave a temporary behind
        os.unlink(temporary)
        raise
    _fsync_directory(directory)  # makes the rename itself survive a power cut


def file_mode(path: str) -> int:
    """The permissions ``open(path, "wb")`` would give: mkstemp makes files private (0600)."""
    try:
        return os.stat(path).st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)  # the only portable way to read the umask is to set it
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_directory(directory: str) -> None:
    if os.name != "posix":  # Windows cannot open a directory; NTFS renames are journaled
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

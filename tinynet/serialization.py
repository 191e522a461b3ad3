"""Checkpoints without pickle: ``save(obj, path)`` and ``load(path, map_location=None)``.

The file format (version 2) is a NumPy ``.npz``, a zip archive of uncompressed entries:

- every array (tensor data, NumPy array) is its own ``.npy`` entry ``arr_0``, ``arr_1``, ...;
- the entry ``manifest`` is a uint8 array of UTF-8 JSON that records the structure:
  ``{"format": "tinynet-checkpoint", "version": 2, "root": <node>}``. A node is a JSON
  literal (int, finite float, bool, str, null) or an object tagged by ``"type"``:
  ``dict`` (``items``: [key, node] pairs, so key order and int keys survive), ``list``,
  ``tuple``, ``float`` (nan/inf as text, which JSON cannot hold), ``tensor`` (``array`` name
  and ``requires_grad``), ``ndarray``, ``scalar`` (a NumPy scalar) and ``backend_array``;
- the zip comment, the last 79 bytes, is ``tinynet-sha256:`` and the hex SHA-256 of all the
  bytes before the digest, so any damaged byte anywhere is noticed before anything is read.

Loading parses the zip, ``.npy`` headers and JSON only, so a file can never run code, and
checks every size a file claims against the file before allocating, so no file makes
``load`` allocate much more than its own size: the arrays take at most the file's size
(each is read once), the manifest is at most ``MAX_MANIFEST_BYTES`` of JSON (its Python
objects take up to about 25 bytes per byte) nested at most ``MAX_DEPTH`` levels deep, and
``save`` refuses to write what ``load`` would refuse. Every damaged or malformed file gives
one ValueError naming it. Version-1 files (no digest; each entry guarded by its zip CRC-32)
still load. Saving is atomic, follows symbolic links and leaves no temporary behind (see
``tinynet._checkpoint_write``).
"""
from __future__ import annotations

import json
import math
import os
import struct
import zipfile
from typing import Any

import numpy as np

from ._checkpoint_read import CheckpointReader
from ._checkpoint_write import file_mode, write_checkpoint  # noqa: F401 (viz uses file_mode)
from .backend import Backend, backend_for_device, backend_of
from .tensor import Tensor

FORMAT = "tinynet-checkpoint"
VERSION = 2
READS = (1, 2)  # the versions this tinynet loads
MANIFEST = "manifest"
MAX_DEPTH = 100                   # levels of dicts, lists and tuples, one inside the next
MAX_MANIFEST_BYTES = 64 << 20     # the structure's JSON; long lists of numbers go in arrays
SUPPORTED = "dict, list, tuple, Tensor, NumPy or backend arrays, int, float, bool, str, None"
# What zipfile, the .npy header and the manifest checks raise for a damaged or crafted file.
DAMAGED = (ValueError, TypeError, KeyError, IndexError, EOFError, OverflowError,
           struct.error, zipfile.BadZipFile, NotImplementedError)


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write ``obj`` (a state dict, or a checkpoint of nested dicts, lists, tuples, tensors,
    arrays and Python scalars) to ``path``, atomically; a symbolic link at ``path`` is
    written through to its target.

    Tensors keep dtype and ``requires_grad`` (not ``grad``, nor being a Parameter). An object
    that appears twice is stored twice. Raises TypeError naming the type and key path of the
    first object that cannot be stored, and ValueError for a structure nested deeper than
    ``MAX_DEPTH`` or with more than ``MAX_MANIFEST_BYTES`` of JSON, before any file is touched.
    """
    if os.fspath(path).lower().endswith(".safetensors"):  # PyTorch's format, for state dicts
        from .interchange import safetensors
        return safetensors.save(obj, path)
    arrays: dict[str, np.ndarray] = {}
    root = _encode(obj, "obj", arrays, depth=0)
    text = json.dumps({"format": FORMAT, "version": VERSION, "root": root}, allow_nan=False)
    data = text.encode("utf-8")
    if len(data) > MAX_MANIFEST_BYTES:
        raise ValueError(f"tn.save: the structure of obj takes {len(data):,} bytes of JSON, "
                         f"more than the {MAX_MANIFEST_BYTES:,} a checkpoint may hold; store "
                         "long lists of numbers as arrays or tensors")
    arrays[MANIFEST] = np.frombuffer(data, dtype=np.uint8)
    write_checkpoint(os.fspath(path), arrays)


def load(path: str | os.PathLike, map_location: str | Backend | None = None, *,
         weights_only: bool = True) -> Any:
    """Read a file written by ``save``. (``weights_only`` is accepted for PyTorch's
    signature: tinynet's files never hold code, so loading is always weights only.)

    Tensors and saved backend arrays come back on ``map_location`` (``"cpu"``, ``"cuda"``,
    ``"strict"``; default: the active backend); NumPy arrays stay NumPy arrays, tuples stay
    tuples, int dict keys stay ints. Raises FileNotFoundError for a missing file and
    ValueError, naming the file, for one that is not a complete, valid tinynet checkpoint.
    """
    path = os.fspath(path)
    if path.lower().endswith(".safetensors"):  # a state dict, from tinynet or PyTorch
        from .interchange import safetensors
        return safetensors.load(path, map_location)
    backend = backend_for_device(map_location)
    with open(path, "rb") as file:  # a missing file raises FileNotFoundError here
        try:
            with CheckpointReader(file) as reader:
                return _decode(_read_manifest(reader), reader, backend, depth=0)
        except DAMAGED as exc:
            raise ValueError(f"{path!r} is not a valid or complete tinynet checkpoint: "
                             f"{type(exc).__name__}: {exc}") from exc


# ---- structure <-> manifest ---------------------------------------------------------------
def _encode(obj: Any, path: str, arrays: dict[str, np.ndarray], depth: int) -> Any:
    """``obj`` -> a JSON-able node, moving every array into ``arrays``. ``path`` names
    ``obj`` for error messages, like ``obj["model"]["0.weight"]``; ``depth`` counts the
    containers around it."""
    if isinstance(obj, np.generic):  # before float: np.float64 is a subclass of float
        return {"type": "scalar", "array": _add_array(np.asarray(obj), path, arrays)}
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else {"type": "float", "value": repr(obj)}
    if isinstance(obj, (dict, list, tuple)) and depth == MAX_DEPTH:
        raise ValueError(f"tn.save: {path} is nested deeper than {MAX_DEPTH} levels of dicts, "
                         "lists and tuples (does a container contain itself?)")
    if isinstance(obj, dict):
        items = []
        for key, value in obj.items():
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TypeError(f"tn.save: dict keys must be str or int, got "
                                f"{type(key).__name__} key {key!r} in {path}")
            items.append([key, _encode(value, f"{path}[{json.dumps(key)}]", arrays, depth + 1)])
        return {"type": "dict", "items": items}
    if isinstance(obj, (list, tuple)):
        items = [_encode(value, f"{path}[{i}]", arrays, depth + 1) for i, value in enumerate(obj)]
        return {"type": "list" if isinstance(obj, list) else "tuple", "items": items}
    if isinstance(obj, Tensor):
        return {"type": "tensor", "array": _add_array(obj.numpy(), path, arrays),
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


def _read_manifest(reader: CheckpointReader) -> Any:
    """The root node, after checking the manifest's size, nesting, format and version."""
    array = reader.read(MANIFEST, max_bytes=MAX_MANIFEST_BYTES)
    if array.dtype != np.uint8 or array.ndim != 1:
        raise ValueError(f"the manifest is a {array.shape} array of {array.dtype}, not bytes")
    try:
        manifest = json.loads(array.tobytes().decode("utf-8"))
    except RecursionError:  # json.loads recurses once per level of brackets, then stops here
        raise ValueError(f"the manifest is nested too deeply to parse (checkpoints nest at "
                         f"most {MAX_DEPTH} levels of containers)") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else manifest
        raise ValueError(f"format marker is {found!r}, expected {FORMAT!r}")
    version = manifest.get("version")
    if type(version) is not int or version not in READS:
        raise ValueError(f"format version {version!r} is not supported (this tinynet reads "
                         f"versions {READS})")
    if version >= 2 and not reader.verified:
        raise ValueError(f"it is a version-{version} checkpoint but does not end in its "
                         "SHA-256: its end is damaged or cut off")
    return manifest["root"]


def _decode(node: Any, reader: CheckpointReader, backend: Backend, depth: int) -> Any:
    """A manifest node -> the Python object it describes."""
    if not isinstance(node, dict):  # a JSON literal stands for itself
        return node
    kind = node.get("type")
    if kind in ("dict", "list", "tuple") and depth == MAX_DEPTH:
        raise ValueError(f"the manifest nests containers deeper than {MAX_DEPTH} levels")
    if kind == "dict":
        return {key: _decode(value, reader, backend, depth + 1) for key, value in node["items"]}
    if kind in ("list", "tuple"):
        items = [_decode(value, reader, backend, depth + 1) for value in node["items"]]
        return items if kind == "list" else tuple(items)
    if kind == "float":
        return float(node["value"])
    if kind not in ("tensor", "ndarray", "scalar", "backend_array"):
        raise ValueError(f"manifest has a node of unknown type {kind!r}")
    name = node["array"]
    array = reader.read(name)  # refuses a name the file lacks, or one read before
    if kind == "ndarray":
        return array
    if kind == "scalar":
        if array.ndim != 0:
            raise ValueError(f"array {name!r} of shape {array.shape} is stored as a scalar")
        return array[()]
    if kind == "backend_array":
        return backend.asarray(array)
    if type(node["requires_grad"]) is not bool:
        raise ValueError(f"requires_grad of array {name!r} is {node['requires_grad']!r}")
    return Tensor(backend.asarray(array), requires_grad=node["requires_grad"])

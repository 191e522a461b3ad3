"""tn.load on damaged and on hostile files: every one-byte corruption of a checkpoint gives one
clear ValueError naming the file, and no file can make tn.load allocate far more than its size
or recurse without bound."""
import hashlib
import io
import json
import math
import tracemalloc
import zipfile

import numpy as np
import pytest

import tinynet as tn
from tinynet import serialization
from test_serialization import NOT_VALID, make_checkpoint

DIGEST_MARK = b"tinynet-sha256:"


def same(a, b):
    """Exactly equal, type, dtype, device, requires_grad and float sign included."""
    if isinstance(a, tn.Tensor):
        return (isinstance(b, tn.Tensor) and (a.dtype, a.shape, a.device, a.requires_grad)
                == (b.dtype, b.shape, b.device, b.requires_grad)
                and a.numpy().tobytes() == b.numpy().tobytes())
    if isinstance(a, (np.ndarray, np.generic)):
        return (type(a) is type(b) and a.dtype == b.dtype and a.shape == b.shape
                and a.tobytes() == b.tobytes())
    if isinstance(a, dict):
        return type(b) is dict and list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return (type(a) is type(b) and len(a) == len(b)
                and all(same(x, y) for x, y in zip(a, b)))
    if isinstance(a, float) and isinstance(b, float):
        return str(a) == str(b) and math.copysign(1, a) == math.copysign(1, b)
    return type(a) is type(b) and a == b


def as_version_1(path):
    """Rewrite a checkpoint in the layout tinynet wrote before version 2 (np.savez, manifest
    version 1, no SHA-256 at the end), which tn.load still reads."""
    with np.load(path, allow_pickle=False) as npz:
        entries = {name: npz[name] for name in npz.files}
    manifest = json.loads(bytes(entries["manifest"]))
    manifest["version"] = 1
    entries["manifest"] = np.frombuffer(json.dumps(manifest).encode(), np.uint8)
    with open(path, "wb") as file:
        np.savez(file, **entries)


def corruptions(size, every):
    """(position, xor mask) pairs: every ``every``-th byte, with one of five masks in turn."""
    for position in range(0, size, every):
        yield position, (0xFF, 0x01, 0x80, 0x20, 0x0F)[position % 5]


@pytest.mark.parametrize("version", [2, 1])
def test_every_one_byte_corruption_loads_the_original_or_names_the_file(backend, tmp_path,
                                                                       version):
    path = tmp_path / "ckpt.tn"
    saved = make_checkpoint()
    tn.save(saved, path)
    if version == 1:
        as_version_1(path)
    original = path.read_bytes()
    assert same(tn.load(path), saved)
    outcomes, escaped = {"identical": 0, "ValueError": 0}, []
    every = 1 if backend.name == "numpy" else 4  # what the others add is where tensors land
    for position, mask in corruptions(len(original), every):
        damaged = bytearray(original)
        damaged[position] ^= mask
        path.write_bytes(damaged)
        try:
            outcome = "identical" if same(tn.load(path), saved) else "loaded other content"
        except ValueError as exc:
            outcome = "ValueError" if str(path) in str(exc) and NOT_VALID in str(exc) \
                else f"ValueError without the path: {exc}"
        except Exception as exc:  # MemoryError and KeyboardInterrupt still end the test
            outcome = f"{type(exc).__name__}: {exc}"
        if outcome in outcomes:
            outcomes[outcome] += 1
        else:
            escaped.append(f"byte {position} ^ {mask:#04x}: {outcome}")
    assert escaped == [], f"{len(escaped)} escaped ({outcomes}); first: {escaped[:5]}"
    if version == 2:  # the SHA-256 at the end notices every change, harmless ones too
        assert outcomes["identical"] == 0


# ---- hostile files: what a file claims is checked against what it holds ---------------------
def npy(array=None, header=None, data=b""):
    """The bytes of a .npy entry: a real array, or a header that claims anything."""
    out = io.BytesIO()
    if array is not None:
        np.lib.format.write_array(out, array, allow_pickle=False)
    else:
        np.lib.format.write_array_header_1_0(out, header)
        out.write(data)
    return out.getvalue()


def write_crafted(path, root, entries, compress=zipfile.ZIP_STORED, version=2):
    """A checkpoint as an attacker could write it: version 2 with a correct SHA-256 at its
    end, or version 1 without. ``root`` is a manifest node, or its JSON text."""
    root = root if isinstance(root, str) else json.dumps(root)
    text = f'{{"format": "tinynet-checkpoint", "version": {version}, "root": {root}}}'.encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name + ".npy", data, compress_type=compress)
        archive.writestr("manifest.npy", npy(np.frombuffer(text, np.uint8)))
        if version == 2:
            archive.comment = DIGEST_MARK + b"0" * 64
    if version == 1:
        return
    data = path.read_bytes()
    path.write_bytes(data[:-64] + hashlib.sha256(data[:-64]).hexdigest().encode())


def tensor_node(name):
    return {"type": "tensor", "array": name, "requires_grad": False}


def nested_lists(depth):
    """The JSON text of a list in a list ... ``depth`` levels deep (too deep for json.dumps)."""
    return '{"type": "list", "items": [' * depth + "0" + "]}" * depth


HUGE = {"descr": "<f8", "fortran_order": False, "shape": (2 ** 40,)}          # 8 TiB
LARGE = {"descr": "<f4", "fortran_order": False, "shape": (64, 1024, 1024)}  # 256 MiB
ZEROS = npy(np.zeros(4 * 1024 * 1024, np.uint8))                             # 4 MiB


@pytest.mark.parametrize("root, entries, compress, message", [
    (tensor_node("arr_0"), {"arr_0": npy(header=HUGE, data=bytes(16))}, zipfile.ZIP_STORED,
     "'arr_0' claims a (1099511627776,) array of float64"),
    (tensor_node("arr_0"), {"arr_0": npy(header=LARGE, data=bytes(64))}, zipfile.ZIP_STORED,
     "'arr_0' claims a (64, 1024, 1024) array of float32"),
    ({"type": "list", "items": [tensor_node("arr_0")] * 1000},
     {"arr_0": npy(np.zeros(16 * 1024, np.float32))}, zipfile.ZIP_STORED, "'arr_0' twice"),
    (tensor_node("arr_0"), {"arr_0": ZEROS}, zipfile.ZIP_DEFLATED, "compressed"),
    (nested_lists(100_000), {}, zipfile.ZIP_STORED, "nested"),
    (nested_lists(101), {}, zipfile.ZIP_STORED, "deeper than 100 levels"),
], ids=["8 TiB claimed", "256 MiB claimed", "one array 1000 times", "zip bomb entry",
        "nested 100000 deep", "nested 101 deep"])
@pytest.mark.parametrize("version", [2, 1])
def test_hostile_file_is_refused_without_allocating_much(backend, tmp_path, root, entries,
                                                         compress, message, version):
    path = tmp_path / "hostile.tn"
    write_crafted(path, root, entries, compress, version)
    size = path.stat().st_size
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=NOT_VALID) as info:
            tn.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(path) in str(info.value) and message in str(info.value)
    assert peak < 10 * size + (1 << 20), f"{peak:,} bytes allocated for a {size:,}-byte file"


def test_nesting_up_to_the_limit_round_trips_and_deeper_is_refused_at_save(tmp_path):
    deepest = [0]
    for _ in range(serialization.MAX_DEPTH - 1):
        deepest = [deepest]                                  # 100 lists, one in the next
    tn.save({"a": deepest[0]}, tmp_path / "ok")              # a dict around 99 of them
    assert tn.load(tmp_path / "ok") == {"a": deepest[0]}
    with pytest.raises(ValueError, match=r"obj\[0\]\[0\].* deeper than 100 levels"):
        tn.save([deepest], tmp_path / "deep")
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match="contain itself"):
        tn.save(loop, tmp_path / "loop")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok"]


def test_manifest_size_is_bounded_on_save_and_on_load(tmp_path, monkeypatch):
    monkeypatch.setattr(serialization, "MAX_MANIFEST_BYTES", 4096)
    history = [0.25] * 1000                                  # about 6 kB of JSON
    with pytest.raises(ValueError, match="store long lists of numbers as arrays"):
        tn.save({"history": history}, tmp_path / "c")
    tn.save({"history": np.array(history)}, tmp_path / "c")  # as an array it fits
    path = tmp_path / "big-manifest"
    write_crafted(path, history, {})
    with pytest.raises(ValueError, match="'manifest' holds 6,") as info:
        tn.load(path)
    assert str(path) in str(info.value)

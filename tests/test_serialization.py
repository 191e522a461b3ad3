"""tn.save / tn.load: round trips on every backend, the atomic write, and refusing bad files."""
import hashlib
import importlib.util
import json
import math
import os
import stat

import numpy as np
import pytest

import tinynet as tn
from tinynet.serialization import load, save

NOT_VALID = "not a valid or complete tinynet checkpoint"
needs_strict = pytest.mark.skipif(importlib.util.find_spec("array_api_strict") is None,
                                  reason="array-api-strict is not installed")


def make_checkpoint():
    """A training checkpoint shaped like the ones the examples write."""
    weight = tn.tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    return {
        "epoch": 3,
        "model": {"0.weight": weight, "0.bias": tn.tensor(np.zeros(2, np.float64)),
                  "steps": tn.tensor(np.array(7, dtype=np.int64)),          # 0-d
                  "mask": tn.tensor(np.array([True, False])),
                  "pixels": tn.tensor(np.array([0, 255], dtype=np.uint8)),
                  "empty": tn.tensor(np.zeros((0, 3), np.float32))},
        "optimizer": {"state": {0: {"momentum_buffer": tn.tensor(np.ones((2, 3), np.float32))},
                                1: {"momentum_buffer": None}},
                      "param_groups": [{"lr": 0.1, "params": [0, 1], "nesterov": False}]},
        "rng": np.frombuffer(b"state bytes", dtype=np.uint8).copy(),
        "history": [{"loss": 0.3}, {"loss": math.nan}],
        "floats": (math.inf, -math.inf, -0.0, 1e-310),
        "misc": {"name": "mlp \u00e9\u2713", "big": 2 ** 70, "np_scalar": np.float32(0.5),
                 "shape": (), "nested": ((1, [2]), [])},
    }


def assert_same_tensor(loaded, saved, device):
    assert isinstance(loaded, tn.Tensor) and loaded.device == device
    assert loaded.dtype == saved.dtype and loaded.shape == saved.shape
    assert loaded.requires_grad == saved.requires_grad
    np.testing.assert_array_equal(loaded.numpy(), saved.numpy())


def test_round_trip_of_a_training_checkpoint(backend, tmp_path):
    saved = make_checkpoint()
    save(saved, tmp_path / "ckpt.tn")
    loaded = load(tmp_path / "ckpt.tn")

    assert list(loaded) == list(saved)                   # key order kept
    assert list(loaded["model"]) == list(saved["model"])
    for key, tensor in saved["model"].items():
        assert_same_tensor(loaded["model"][key], tensor, backend.device)
    state = loaded["optimizer"]["state"]
    assert list(state) == [0, 1] and all(type(k) is int for k in state)   # int keys stay int
    assert_same_tensor(state[0]["momentum_buffer"], saved["optimizer"]["state"][0]
                       ["momentum_buffer"], backend.device)
    assert state[1] == {"momentum_buffer": None}
    assert loaded["optimizer"]["param_groups"] == saved["optimizer"]["param_groups"]
    assert loaded["epoch"] == 3 and type(loaded["epoch"]) is int
    assert type(loaded["optimizer"]["param_groups"][0]["nesterov"]) is bool

    assert type(loaded["rng"]) is np.ndarray and loaded["rng"].dtype == np.uint8  # stays NumPy
    assert loaded["rng"].tobytes() == b"state bytes"
    assert loaded["history"][0] == {"loss": 0.3} and math.isnan(loaded["history"][1]["loss"])
    assert loaded["floats"] == (math.inf, -math.inf, 0.0, 1e-310)        # tuples stay tuples
    assert math.copysign(1, loaded["floats"][2]) == -1
    misc = loaded["misc"]
    assert misc["name"] == saved["misc"]["name"] and misc["big"] == 2 ** 70
    assert type(misc["np_scalar"]) is np.float32 and misc["np_scalar"] == 0.5
    assert misc["shape"] == () and misc["nested"] == ((1, [2]), [])


def test_backend_arrays_come_back_on_the_load_backend(backend, tmp_path):
    raw = tn.tensor(np.array([1.5, math.nan, math.inf], np.float32)).array
    save({"raw": raw}, tmp_path / "raw")
    loaded = load(tmp_path / "raw")["raw"]
    assert backend.owns(loaded)
    np.testing.assert_array_equal(backend.to_numpy(loaded), backend.to_numpy(raw))


@needs_strict
@pytest.mark.parametrize("source, target", [("numpy", "strict"), ("strict", "cpu")])
def test_map_location_moves_tensors(tmp_path, source, target):
    tn.set_backend(source)
    save({"w": tn.tensor(np.eye(2, dtype=np.float32), requires_grad=True)}, tmp_path / "c")
    tn.set_backend("numpy")
    w = load(tmp_path / "c", map_location=target)["w"]
    assert w.device == tn.tensor(0.0, device=target).device
    assert w.dtype == np.float32 and w.requires_grad
    np.testing.assert_array_equal(w.numpy(), np.eye(2))


def test_file_is_a_plain_npz_with_a_json_manifest_at_exactly_path(tmp_path):
    save({"w": tn.tensor([1.0, 2.0]), "a": np.arange(3)}, str(tmp_path / "model.bin"))
    assert os.listdir(tmp_path) == ["model.bin"]                       # no ".npz" appended
    with np.load(tmp_path / "model.bin", allow_pickle=False) as npz:
        assert sorted(npz.files) == ["arr_0", "arr_1", "manifest"]
        manifest = json.loads(bytes(npz["manifest"]).decode())
    assert manifest["format"] == "tinynet-checkpoint" and manifest["version"] == 2
    data = (tmp_path / "model.bin").read_bytes()       # it ends in its own SHA-256
    assert data[-79:-64] == b"tinynet-sha256:"
    assert data[-64:] == hashlib.sha256(data[:-64]).hexdigest().encode()


def test_equal_objects_give_equal_files(tmp_path):
    save(make_checkpoint(), tmp_path / "a")
    save(make_checkpoint(), tmp_path / "b")
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_new_file_gets_the_usual_permissions_not_mkstemps_private_ones(tmp_path):
    save({}, tmp_path / "c")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(tmp_path / "c").st_mode) == 0o666 & ~umask


def _partial_write(file, array, **options):
    file.write(b"half an array")
    raise OSError("No space left on device")


def _failing_replace(src, dst):
    raise OSError("rename failed")


def _interrupted_write(file, array, **options):
    raise KeyboardInterrupt


@pytest.mark.parametrize("target, fake", [("write_array", _partial_write),
                                          ("replace", _failing_replace),
                                          ("write_array", _interrupted_write)])
def test_crash_mid_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch,
                                                                     target, fake):
    path = tmp_path / "ckpt"
    save({"epoch": 1, "w": tn.tensor([1.0])}, path)
    before = path.read_bytes()
    monkeypatch.setattr(np.lib.format if target == "write_array" else os, target, fake)
    with pytest.raises((OSError, KeyboardInterrupt)):
        save({"epoch": 2, "w": tn.tensor([2.0])}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt"]
    assert load(path)["epoch"] == 1


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        load(tmp_path / "nothing-here")


def _damaged(data):
    middle = len(data) // 2
    return {"truncated": data[:middle], "last byte cut": data[:-1],
            "flipped": data[:middle] + bytes(b ^ 0xFF for b in data[middle:middle + 8])
                       + data[middle + 8:],
            "garbage": b"this is not a checkpoint" * 10, "empty": b""}


@pytest.mark.parametrize("damage", ["truncated", "last byte cut", "flipped", "garbage", "empty"])
def test_damaged_files_give_a_clear_value_error(tmp_path, damage):
    path = tmp_path / "ckpt"
    save({"w": tn.tensor(np.arange(1000, dtype=np.float32)), "epoch": 5}, path)
    path.write_bytes(_damaged(path.read_bytes())[damage])
    with pytest.raises(ValueError, match=NOT_VALID) as info:
        load(path)
    assert "ckpt" in str(info.value)


UNPICKLED = []


def _record(note):
    UNPICKLED.append(note)


class _Payload:
    """Unpickling this would call _record: proof that code ran during load."""

    def __reduce__(self):
        return _record, ("code ran",)


def _manifest(root, **changes):
    manifest = {"format": "tinynet-checkpoint", "version": 1, "root": root, **changes}
    return np.frombuffer(json.dumps(manifest).encode(), np.uint8)


def test_pickled_object_arrays_are_refused_not_unpickled(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, manifest=_manifest({"type": "ndarray", "array": "arr_0"}),
             arr_0=np.array([_Payload()], dtype=object))
    with pytest.raises(ValueError, match=NOT_VALID):
        load(path)
    assert UNPICKLED == []


@pytest.mark.parametrize("manifest, message", [
    (_manifest({"type": "tensor", "array": "arr_7", "requires_grad": False}), "arr_7"),
    (_manifest(1, format="something-else"), "something-else"),
    (_manifest(1, version=99), "version 99"),
    (_manifest({"type": "set", "items": []}), "'set'"),
])
def test_bad_manifests_are_named(tmp_path, manifest, message):
    np.savez(tmp_path / "c.npz", manifest=manifest, arr_0=np.zeros(2))
    with pytest.raises(ValueError, match=message):
        load(tmp_path / "c.npz")


@pytest.mark.parametrize("write", [lambda p: np.save(p, np.zeros(3)),
                                   lambda p: np.savez(p, weights=np.zeros(3))])
def test_other_numpy_files_are_not_checkpoints(tmp_path, write):
    with open(tmp_path / "c", "wb") as file:
        write(file)
    with pytest.raises(ValueError, match=NOT_VALID):
        load(tmp_path / "c")


class Custom:
    pass


@pytest.mark.parametrize("value, type_name", [(lambda x: x, "function"), (Custom(), "Custom"),
                                              ({1, 2}, "set"),
                                              (np.array([None]), "object"),
                                              (b"bytes", "bytes")])
def test_unsupported_objects_name_their_type_and_key_path(tmp_path, value, type_name):
    checkpoint = {"model": {"0.weight": value}}
    with pytest.raises(TypeError, match=type_name) as info:
        save(checkpoint, tmp_path / "c")
    assert 'obj["model"]["0.weight"]' in str(info.value)
    assert os.listdir(tmp_path) == []                      # refused before touching disk


def test_unsupported_dict_keys_are_named(tmp_path):
    with pytest.raises(TypeError, match=r"tuple key \(1, 2\) in obj\[\"state\"\]"):
        save({"state": {(1, 2): 0}}, tmp_path / "c")
    with pytest.raises(TypeError, match=r"obj\[\"history\"\]\[1\]"):
        save({"history": [0.1, {"loss": object()}]}, tmp_path / "c")

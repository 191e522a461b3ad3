"""tinynet.data: the IDX reader and writer, MNIST / Fashion-MNIST on real files, DataLoader.

The real-data tests need ``TINYNET_DATA_DIR`` pointing at a folder with ``mnist/`` and
``fashion-mnist/``; they are skipped otherwise. Downloads are tested in test_data_download.py.
"""
import gzip
import os
import struct
import tempfile
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import tinynet as tn
from tinynet.data import MNIST, DataLoader, FashionMNIST, read_idx, write_idx
from tinynet.tensor import Tensor

# ---- IDX ------------------------------------------------------------------------------

DTYPES = ["uint8", "int8", ">i2", "<i2", "int32", "float32", "float64"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_idx_round_trip(tmp_path, dtype, name):
    x = (np.arange(2 * 3 * 5).reshape(2, 3, 5) - 7).astype(dtype)
    write_idx(tmp_path / name, x)
    y = read_idx(tmp_path / name)
    assert y.dtype == np.dtype(dtype).newbyteorder("=") and y.dtype.isnative
    assert y.shape == x.shape and np.array_equal(x, y) and y.flags.writeable
    assert os.listdir(tmp_path) == [name]  # no temporary file left behind


@settings(max_examples=50, deadline=None)
@given(array=hnp.arrays(st.sampled_from(DTYPES), hnp.array_shapes(min_dims=1, max_dims=4,
                                                                   min_side=0, max_side=5)),
       compress=st.booleans())
def test_idx_round_trip_any_shape(array, compress):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "a")
        write_idx(path, array, compress=compress)
        back = read_idx(path)
    assert back.shape == array.shape and back.dtype.isnative
    # compare bits, so NaNs and -0.0 count as equal only when they really are
    assert back.tobytes() == array.astype(array.dtype.newbyteorder("=")).tobytes()


def test_idx_gzip_detected_by_content_not_name(tmp_path):
    x = np.arange(10, dtype=np.uint8)
    write_idx(tmp_path / "gz_without_suffix", x, compress=True)
    write_idx(tmp_path / "plain.gz", x, compress=False)
    assert (tmp_path / "gz_without_suffix").read_bytes()[:2] == b"\x1f\x8b"
    assert np.array_equal(read_idx(tmp_path / "gz_without_suffix"), x)
    assert np.array_equal(read_idx(tmp_path / "plain.gz"), x)


def test_idx_layout_is_big_endian(tmp_path):
    write_idx(tmp_path / "a", np.array([[1, 2, 3]], dtype=np.int16))
    raw = (tmp_path / "a").read_bytes()
    assert raw == bytes([0, 0, 0x0B, 2]) + struct.pack(">II", 1, 3) + struct.pack(">3h", 1, 2, 3)


def test_idx_sha256(tmp_path):
    import hashlib
    write_idx(tmp_path / "a.gz", np.arange(50, dtype=np.uint8))
    digest = hashlib.sha256(gzip.decompress((tmp_path / "a.gz").read_bytes())).hexdigest()
    assert read_idx(tmp_path / "a.gz", sha256=digest).shape == (50,)
    with pytest.raises(ValueError, match="SHA-256") as info:
        read_idx(tmp_path / "a.gz", sha256="0" * 64)
    assert str(tmp_path / "a.gz") in str(info.value)


def _header(code, dims):
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("content, pattern", [
    (_header(0x08, (60000, 28, 28)) + bytes(1000),
     r"truncated file: expected 47040000 bytes of data for shape \(60000, 28, 28\) of uint8 "
     r"after the 16-byte header \(47040016 bytes in all\), found 1000"),
    (_header(0x08, (2, 3)) + bytes(6 + 4), "trailing bytes.*expected 6 .*found 10"),
    (_header(0x0C, (4,)) + bytes(15), r"expected 16 bytes .*\(4,\).*found 15"),
    (b"\x01\x00\x08\x01" + struct.pack(">I", 1) + b"\x00", "magic number"),
    (_header(0x0A, (1,)) + b"\x00", "type code 0x0A"),
    (bytes([0, 0, 8, 3]) + struct.pack(">I", 5), "truncated IDX header"),
    (bytes([0, 0, 8, 0]), "0 dimensions"),
    (b"\x00\x00", "only 2 bytes"),
])
def test_idx_bad_files(tmp_path, compress, content, pattern):
    path = tmp_path / "bad-idx"
    path.write_bytes(gzip.compress(content) if compress else content)
    with pytest.raises(ValueError, match=pattern) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_idx_corrupt_gzip(tmp_path):
    payload = gzip.compress(_header(0x08, (1000,)) + np.random.default_rng(0).bytes(1000))
    cases = {
        "cut": payload[: len(payload) // 2],
        "flipped": payload[:30] + bytes(b ^ 0xFF for b in payload[30:60]) + payload[60:],
        "bad-crc": payload[:-8] + b"\x00\x00\x00\x00" + payload[-4:],
        "garbage-after": payload + b"garbage",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ValueError, match="gzip") as info:
            read_idx(tmp_path / name)
        assert str(tmp_path / name) in str(info.value), name


def test_write_idx_rejects_what_idx_cannot_hold(tmp_path):
    with pytest.raises(ValueError, match="int64"):
        write_idx(tmp_path / "a", np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="shape"):
        write_idx(tmp_path / "a", np.float32(1.0))
    assert os.listdir(tmp_path) == []


def test_write_idx_is_atomic(tmp_path, monkeypatch):
    write_idx(tmp_path / "a", np.arange(3, dtype=np.uint8))

    def failing_replace(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        write_idx(tmp_path / "a", np.arange(5, dtype=np.uint8))
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["a"]  # the old file untouched, no temporary left
    assert read_idx(tmp_path / "a").shape == (3,)


# ---- real MNIST and Fashion-MNIST --------------------------------------------------------

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def _data_dir(folder):
    root = os.environ.get("TINYNET_DATA_DIR")
    if not root:
        pytest.skip("set TINYNET_DATA_DIR to a folder holding mnist/ and fashion-mnist/ "
                    "to test on the real data sets")
    if not os.path.isdir(os.path.join(root, folder)):
        pytest.skip(f"TINYNET_DATA_DIR={root} has no {folder}/ subfolder")
    return root


@pytest.mark.parametrize("train, n, counts", [(True, 60000, MNIST_TRAIN_COUNTS),
                                              (False, 10000, MNIST_TEST_COUNTS)])
def test_mnist_real(train, n, counts):
    root = _data_dir("mnist")
    ds = MNIST(train=train, download=False)  # root from TINYNET_DATA_DIR
    assert ds.root == root and len(ds) == n
    assert ds.data.shape == (n, 28, 28) and ds.data.dtype == np.uint8
    assert ds.targets.shape == (n,) and ds.targets.dtype == np.int64
    assert np.bincount(ds.targets).tolist() == counts
    assert len(ds.classes) == 10
    image, label = ds[0]
    assert image.shape == (28, 28) and image.dtype == np.float32
    assert 0.0 <= image.min() and image.max() <= 1.0 and image.max() > 0.5
    assert isinstance(label, int) and label == (5 if train else 7)
    assert f"Number of datapoints: {n}" in repr(ds)


@pytest.mark.parametrize("train, n", [(True, 60000), (False, 10000)])
def test_fashion_mnist_real(train, n):
    root = _data_dir("fashion-mnist")
    ds = FashionMNIST(root=root, train=train, download=False)
    assert ds.data.shape == (n, 28, 28) and ds.data.dtype == np.uint8
    assert ds.targets.dtype == np.int64
    assert np.bincount(ds.targets).tolist() == [n // 10] * 10  # balanced classes
    assert ds.classes[9] == "Ankle boot"


def test_dataloader_over_real_mnist():
    _data_dir("mnist")
    ds = MNIST(train=False, download=False)
    loader = DataLoader(ds, batch_size=128, shuffle=True, flatten=True)
    batches = list(loader)
    assert len(batches) == len(loader) == 79
    x, y = batches[0]
    assert x.shape == (128, 784) and x.dtype == np.float32 and y.dtype == np.int64
    labels = np.concatenate([b[1].numpy() for b in batches])
    assert np.bincount(labels).tolist() == MNIST_TEST_COUNTS


# ---- DataLoader ---------------------------------------------------------------------------

def _toy(n=103):
    """Random uint8 images, and targets equal to the sample index (so batches show order)."""
    rng = np.random.default_rng(1)
    data = rng.integers(0, 256, size=(n, 4, 3), dtype=np.uint8)
    return SimpleNamespace(data=data, targets=np.arange(n, dtype=np.uint8))


def test_loader_batches_shapes_and_dtypes(backend):
    ds = _toy()
    loader = DataLoader(ds, batch_size=10)
    batches = list(loader)
    assert len(loader) == len(batches) == 11
    assert [tuple(x.shape) for x, _ in batches] == [(10, 4, 3)] * 10 + [(3, 4, 3)]
    x, y = batches[0]
    assert isinstance(x, Tensor) and isinstance(y, Tensor)
    assert x.dtype == np.float32 and y.dtype == np.int64 and x.device == backend.device
    # float32 division, as torchvision's ToTensor does: exact, no float64 round trip
    assert np.array_equal(x.numpy(), ds.data[:10].astype(np.float32) / np.float32(255))
    assert np.array_equal(y.numpy(), np.arange(10))


def test_loader_drop_last_and_flatten(backend):
    loader = DataLoader(_toy(), batch_size=10, drop_last=True, flatten=True)
    batches = list(loader)
    assert len(loader) == len(batches) == 10
    assert all(tuple(x.shape) == (10, 12) for x, _ in batches)
    assert len(DataLoader(_toy(100), batch_size=10, drop_last=True)) == 10
    assert len(DataLoader(_toy(100), batch_size=10)) == 10


def _epoch(loader):
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in loader])
    return np.concatenate(xs), np.concatenate(ys)


def test_loader_shuffle_visits_each_sample_once_in_a_new_order(backend):
    ds = _toy()
    loader = DataLoader(ds, batch_size=16, shuffle=True, seed=3)
    orders = []
    for epoch in range(3):
        x, y = _epoch(loader)
        assert sorted(y.tolist()) == list(range(len(ds.targets)))
        assert np.array_equal(x, ds.data[y].astype(np.float32) / 255)  # pairs stay together
        assert np.array_equal(y, np.random.default_rng([3, epoch]).permutation(103))
        orders.append(y)
        assert loader.epoch == epoch + 1
    assert not np.array_equal(orders[0], orders[1])
    assert not np.array_equal(orders[1], orders[2])


def test_loader_same_seed_same_order_and_drop_last_shuffled():
    a = DataLoader(_toy(), batch_size=16, shuffle=True, seed=7)
    b = DataLoader(_toy(), batch_size=16, shuffle=True, seed=7)
    c = DataLoader(_toy(), batch_size=16, shuffle=True, seed=8)
    for _ in range(2):
        ya, yb, yc = _epoch(a)[1], _epoch(b)[1], _epoch(c)[1]
        assert np.array_equal(ya, yb) and not np.array_equal(ya, yc)
    d = DataLoader(_toy(), batch_size=16, shuffle=True, drop_last=True, seed=7)
    assert len(np.unique(_epoch(d)[1])) == 96


def test_loader_state_dict_resumes_the_order():
    full = DataLoader(_toy(), batch_size=8, shuffle=True, seed=11)
    orders = [_epoch(full)[1] for _ in range(4)]
    first = DataLoader(_toy(), batch_size=8, shuffle=True, seed=11)
    _epoch(first), _epoch(first)
    state = first.state_dict()
    assert state == {"epoch": 2, "seed": 11}
    resumed = DataLoader(_toy(), batch_size=8, shuffle=True)  # seed comes from the state
    resumed.load_state_dict(state)
    assert np.array_equal(_epoch(resumed)[1], orders[2])
    assert np.array_equal(_epoch(resumed)[1], orders[3])
    resumed.set_epoch(1)
    assert np.array_equal(_epoch(resumed)[1], orders[1])
    with pytest.raises(KeyError, match="seed"):
        resumed.load_state_dict({"epoch": 1})


def test_loader_unfinished_epoch_does_not_count():
    loader = DataLoader(_toy(), batch_size=8, shuffle=True)
    for _ in zip(range(2), loader):
        pass
    assert loader.epoch == 0
    list(loader)
    assert loader.epoch == 1


def test_loader_tuple_input_and_other_dtypes():
    x = np.linspace(-1, 1, 12, dtype=np.float64).reshape(6, 2)
    y = np.array([0.5, 1, 0, 1, 0, 1], dtype=np.float32)
    (xb, yb), = list(DataLoader((x, y), batch_size=6))
    # non-uint8 inputs keep their dtype and values; float targets are not made int64
    assert xb.dtype == np.float64 and np.array_equal(xb.numpy(), x)
    assert yb.dtype == np.float32
    (_, yb), = list(DataLoader((x, np.arange(6, dtype=np.int32)), batch_size=6))
    assert yb.dtype == np.int64


def test_loader_errors():
    x = np.zeros((5, 2), dtype=np.uint8)
    with pytest.raises(ValueError, match=r"\(5, 2\).*\(4,\)"):
        DataLoader((x, np.zeros(4)))
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader((x, np.zeros(5)), batch_size=0)
    with pytest.raises(TypeError, match="targets"):
        DataLoader(np.zeros((5, 2)))
    with pytest.raises(ValueError, match="3 items"):
        DataLoader((x, x, x))
    with pytest.raises(ValueError, match="unknown device"):
        list(DataLoader((x, np.zeros(5)), device="tpu"))


def test_loader_device_argument_overrides_active_backend(backend):
    ds = _toy()
    active = DataLoader(ds, batch_size=16, shuffle=True, flatten=True)
    on_cpu = DataLoader(ds, batch_size=16, shuffle=True, flatten=True, device="cpu")
    for (xa, ya), (xc, yc) in zip(active, on_cpu):
        assert xa.device == backend.device and xc.device == "cpu"
        assert xa.dtype == np.float32 and ya.dtype == np.int64
        assert np.array_equal(xa.numpy(), xc.numpy()) and np.array_equal(ya.numpy(), yc.numpy())
    unshuffled = DataLoader(ds, batch_size=50)
    assert [tuple(x.shape) for x, _ in unshuffled] == [(50, 4, 3), (50, 4, 3), (3, 4, 3)]


def test_batches_do_not_alias_the_data_set(backend):
    """Changing a batch in place (augmentation, normalisation) never changes the data."""
    x = np.arange(30, dtype=np.float32).reshape(10, 3)
    y = np.arange(10)
    for shuffle in (False, True):
        for xb, yb in DataLoader((x, y), batch_size=4, shuffle=shuffle, device=backend):
            with tn.no_grad():
                xb -= 100.0
                yb += 1
        np.testing.assert_array_equal(x, np.arange(30, dtype=np.float32).reshape(10, 3))
        np.testing.assert_array_equal(y, np.arange(10))

"""tinynet.data: the IDX reader and writer, MNIST / Fashion-MNIST as Datasets (real files and
small ones made here). The DataLoader itself is tested in test_utils_data.py.

The real-data tests need ``TINYNET_DATA_DIR`` pointing at a folder with ``mnist/`` and
``fashion-mnist/``; they are skipped otherwise. Downloads are tested in test_data_download.py.
"""
import gzip
import hashlib
import os
import struct
import tempfile
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import tinynet as tn
from tinynet.data import MNIST, DataLoader, FashionMNIST, datasets, read_idx, write_idx
from tinynet.tensor import Tensor
from tinynet.utils.data import default_collate, random_split

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
    # torchvision's attributes: uint8 images and int64 labels, as tensors
    assert isinstance(ds.data, Tensor) and isinstance(ds.targets, Tensor)
    assert ds.data.shape == (n, 28, 28) and ds.data.dtype == np.uint8
    assert ds.targets.shape == (n,) and ds.targets.dtype == np.int64
    assert np.bincount(ds.targets.numpy()).tolist() == counts
    assert len(ds.classes) == 10 and ds.class_to_idx["7 - seven"] == 7
    image, label = ds[0]  # what torchvision gives with transform=ToTensor()
    assert isinstance(image, Tensor) and image.shape == (1, 28, 28) and image.dtype == np.float32
    assert 0.0 <= image.numpy().min() and image.numpy().max() <= 1.0 < 2 * image.numpy().max()
    assert isinstance(label, int) and label == (5 if train else 7)
    assert f"Number of datapoints: {n}" in repr(ds)


@pytest.mark.parametrize("train, n", [(True, 60000), (False, 10000)])
def test_fashion_mnist_real(train, n):
    root = _data_dir("fashion-mnist")
    ds = FashionMNIST(root=root, train=train, download=False)
    assert ds.data.shape == (n, 28, 28) and ds.data.dtype == np.uint8
    assert ds.targets.dtype == np.int64
    assert np.bincount(ds.targets.numpy()).tolist() == [n // 10] * 10  # balanced classes
    assert ds.classes[9] == "Ankle boot"


def test_dataloader_over_real_mnist():
    _data_dir("mnist")
    ds = MNIST(train=False, download=False)
    loader = DataLoader(ds, batch_size=128, shuffle=True)
    batches = list(loader)
    assert len(batches) == len(loader) == 79 and len(loader.dataset) == 10000
    x, y = batches[0]
    assert x.shape == (128, 1, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
    labels = np.concatenate([b[1].numpy() for b in batches])
    assert np.bincount(labels).tolist() == MNIST_TEST_COUNTS


# ---- MNIST as a Dataset, on small files made here --------------------------------------------

@pytest.fixture
def small_mnist(tmp_path, monkeypatch):
    """A 37-image MNIST test split in tmp_path/mnist, the checksum table patched to it.
    Returns (root, images, labels)."""
    rng = np.random.default_rng(5)
    images = rng.integers(0, 256, (37, 28, 28), dtype=np.uint8)
    images[0] = 255  # the exact ends of the range
    images[1] = 0
    labels = rng.integers(0, 10, 37).astype(np.uint8)
    (tmp_path / "mnist").mkdir()
    for name, array in (("t10k-images-idx3-ubyte", images), ("t10k-labels-idx1-ubyte", labels)):
        write_idx(tmp_path / "mnist" / name, array)
        raw = (tmp_path / "mnist" / name).read_bytes()
        monkeypatch.setitem(datasets.MNIST_FILES, name,
                            (hashlib.sha256(raw).hexdigest(), len(raw)))
    return tmp_path, images, labels


def test_mnist_samples_are_totensor_images_and_int_labels(small_mnist):
    root, images, labels = small_mnist
    ds = MNIST(root, train=False, download=False)
    for i in (0, 1, 36, -1):
        image, label = ds[i]
        # float32 division, as torchvision's ToTensor does: exact, no float64 round trip
        expected = images[i].astype(np.float32) / np.float32(255)
        np.testing.assert_array_equal(image.numpy(), expected.reshape(1, 28, 28))
        assert label == int(labels[i]) and type(label) is int
    assert ds[0][0].numpy().min() == 1.0 and ds[1][0].numpy().max() == 0.0


def test_mnist_transforms_are_applied_per_sample_and_in_batches(small_mnist):
    root, images, labels = small_mnist
    ds = MNIST(root, train=False, download=False, transform=lambda x: (x - 0.5) / 0.25,
               target_transform=lambda y: y + 100)
    image, label = ds[3]
    expected = (images[3].astype(np.float32) / np.float32(255) - 0.5) / 0.25
    np.testing.assert_allclose(image.numpy()[0], expected, rtol=1e-6)
    assert label == labels[3] + 100
    x, y = next(iter(DataLoader(ds, batch_size=8)))
    np.testing.assert_allclose(x.numpy()[3, 0], expected, rtol=1e-6)
    assert y.tolist() == (labels[:8].astype(np.int64) + 100).tolist()
    assert "Transform" in repr(ds)


def _per_sample(ds):
    """A loader that cannot take the fast path: a collate_fn other than default_collate."""
    return lambda **kw: DataLoader(ds, collate_fn=lambda b: default_collate(b), **kw)


@pytest.mark.parametrize("shuffle", [False, True])
def test_mnist_fast_path_gives_the_per_sample_batches(backend, small_mnist, shuffle):
    """On every backend: the data lives on the device, batches are gathered there, and the
    fast path (one take per batch) equals stacking ds[i] one by one."""
    root, images, labels = small_mnist
    ds = MNIST(root, train=False, download=False)
    assert ds.data.device == backend.device and ds.targets.device == backend.device
    tn.manual_seed(4)
    fast = list(DataLoader(ds, batch_size=10, shuffle=shuffle))
    tn.manual_seed(4)
    slow = list(_per_sample(ds)(batch_size=10, shuffle=shuffle))
    assert len(fast) == len(slow) == 4
    for (x, y), (xs, ys) in zip(fast, slow):
        assert x.device == y.device == backend.device
        assert x.dtype == np.float32 and y.dtype == np.int64
        np.testing.assert_array_equal(x.numpy(), xs.numpy())
        np.testing.assert_array_equal(y.numpy(), ys.numpy())
    x = np.concatenate([b[0].numpy() for b in fast])
    y = np.concatenate([b[1].numpy() for b in fast])
    assert sorted(y.tolist()) == sorted(labels.tolist())
    if not shuffle:  # in order: exactly the images, converted
        np.testing.assert_array_equal(x, images[:, None].astype(np.float32) / 255)


def test_mnist_subset_and_subclass(small_mnist):
    """random_split of MNIST keeps the fast path; a subclass overriding __getitem__ is
    honoured by the loader."""
    root, images, labels = small_mnist
    ds = MNIST(root, train=False, download=False)
    train, val = random_split(ds, [0.8, 0.2], generator=np.random.default_rng(0))
    assert (len(train), len(val)) == (30, 7)
    xb, yb = next(iter(DataLoader(val, batch_size=7)))
    assert yb.tolist() == [int(labels[i]) for i in val.indices]
    np.testing.assert_array_equal(xb.numpy()[:, 0], images[val.indices] / np.float32(255))

    class Flipped(MNIST):
        def __getitem__(self, index):
            image, label = super().__getitem__(index)
            return 1 - image, label

    flipped = Flipped(root, train=False, download=False)
    x, _ = next(iter(DataLoader(flipped, batch_size=5)))
    np.testing.assert_array_equal(x.numpy()[:, 0], 1 - images[:5] / np.float32(255))

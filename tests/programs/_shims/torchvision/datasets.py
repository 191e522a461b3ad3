"""MNIST and FashionMNIST as map-style datasets over the local IDX files.

The folder comes from ``TINYNET_DATA_DIR`` (holding ``mnist/`` and ``fashion-mnist/``), else the
project's ``../shared/data``. Without the files, a synthetic set of the same shapes and dtypes is
used (ten class templates plus noise) and a note goes to stderr. ``PROGRAMS_TRAIN_SIZE`` and
``PROGRAMS_TEST_SIZE`` (set by the harness per program) keep only the first N samples, so a
program written for 60,000 images runs in a second or two.
"""
import gzip
import os
import sys
from pathlib import Path

import numpy as np

_FILES = {True: ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
          False: ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}


def data_root():
    env = os.environ.get("TINYNET_DATA_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[4] / ".." / "shared" / "data"


def _read_idx(path, count, item_shape):
    """The first ``count`` items of a gzip IDX file (reads only the bytes it needs)."""
    header = 16 if item_shape else 8
    size = int(np.prod(item_shape)) if item_shape else 1
    with gzip.open(path, "rb") as f:
        raw = f.read(header)
        total = int.from_bytes(raw[4:8], "big")
        count = total if count is None else min(count, total)
        body = f.read(count * size)
    return np.frombuffer(body, dtype=np.uint8).reshape((count,) + tuple(item_shape))


def _synthetic(train, count):
    rng = np.random.default_rng(0 if train else 1)
    templates = np.random.default_rng(42).uniform(0, 255, (10, 28, 28))
    count = count or (60000 if train else 10000)
    labels = rng.integers(0, 10, count)
    images = np.clip(templates[labels] + rng.normal(0, 60, (count, 28, 28)), 0, 255)
    return images.astype(np.uint8), labels.astype(np.int64)


def load_arrays(folder, train, count=None):
    """(images uint8 (N, 28, 28), labels int64 (N,)) of a split, the first ``count`` only."""
    images_file, labels_file = (data_root() / folder / name for name in _FILES[train])
    if not (images_file.exists() and labels_file.exists()):
        print(f"[torchvision stand-in] {folder} not found under {data_root()}: "
              "using a synthetic set of the same shapes", file=sys.stderr)
        return _synthetic(train, count)
    images = _read_idx(images_file, count, (28, 28))
    labels = _read_idx(labels_file, count, ()).astype(np.int64)
    return images, labels


def _subset_size(train):
    value = os.environ.get("PROGRAMS_TRAIN_SIZE" if train else "PROGRAMS_TEST_SIZE")
    return int(value) if value else None


class MNIST:
    folder = "mnist"

    def __init__(self, root, train=True, transform=None, target_transform=None,
                 download=False):
        self.root, self.train = root, train
        self.transform, self.target_transform = transform, target_transform
        self.data, self.targets = load_arrays(self.folder, train, _subset_size(train))

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        img, target = self.data[index], int(self.targets[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target


class FashionMNIST(MNIST):
    folder = "fashion-mnist"

"""MNIST and Fashion-MNIST, read from a local folder or downloaded once and checked.

Both data sets are four IDX files: 28x28 uint8 images and uint8 labels, for a training
split (60,000) and a test split (10,000). The files live in ``root/mnist`` and
``root/fashion-mnist``, gzip-compressed or not. ``root`` defaults to the environment
variable ``TINYNET_DATA_DIR``, else ``~/.cache/tinynet``.

Every file is checked against the SHA-256 of its decompressed content, on download and
on every load (hashing costs about 30 ms for the training images; decompressing them
costs several times more).
"""
from __future__ import annotations

import os
from typing import Any, Callable, Sequence

import numpy as np

from ..backend import backend_of, get_backend
from ..tensor import Tensor
from ..utils.data.dataset import Dataset, take_rows
from .download import DEFAULT_TIMEOUT, download_file
from .idx import read_idx

# Mirrors tried in order. LeCun's own site is last: it has answered 403 for years.
MNIST_MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]
FASHION_MNIST_MIRRORS = [
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
]

# name -> (SHA-256 of the decompressed file, its size in bytes)
MNIST_FILES = {
    "train-images-idx3-ubyte":
        ("ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", 47040016),
    "train-labels-idx1-ubyte":
        ("65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", 60008),
    "t10k-images-idx3-ubyte":
        ("0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", 7840016),
    "t10k-labels-idx1-ubyte":
        ("ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", 10008),
}
FASHION_MNIST_FILES = {
    "train-images-idx3-ubyte":
        ("c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888", 47040016),
    "train-labels-idx1-ubyte":
        ("bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", 60008),
    "t10k-images-idx3-ubyte":
        ("5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b", 7840016),
    "t10k-labels-idx1-ubyte":
        ("0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", 10008),
}


def default_root() -> str:
    """``$TINYNET_DATA_DIR`` if set, else ``~/.cache/tinynet``."""
    root = os.environ.get("TINYNET_DATA_DIR")
    return root if root else os.path.join(os.path.expanduser("~"), ".cache", "tinynet")


class MNIST(Dataset):
    """The MNIST handwritten digits, a Dataset as torchvision's ``MNIST``.

    ``dataset[i]`` is ``(image, label)``: the image as a float32 Tensor of shape (1, 28, 28)
    scaled to [0, 1] (what torchvision gives with ``transform=ToTensor()``; tinynet has no
    PIL images), the label as an int; each passed through ``transform`` /
    ``target_transform`` when given.

    Args:
        root: the folder holding ``mnist/``; default ``$TINYNET_DATA_DIR`` or
            ``~/.cache/tinynet``.
        train: the 60,000 training images if True, else the 10,000 test images.
        transform: a function of the image tensor (for example normalisation).
        target_transform: a function of the label.
        download: fetch missing files from ``mirrors`` (each verified by SHA-256).
            tinynet's default is True (torchvision's is False).
        mirrors: base URLs to try in order; default the module's ``MNIST_MIRRORS``.
        timeout: seconds allowed to connect to a mirror and between two reads.

    Attributes:
        data: uint8 Tensor (N, 28, 28). targets: int64 Tensor (N,). Both live on the active
            backend's device, uploaded once; a DataLoader gathers batches there.
        classes: class names.

    Example::

        train = MNIST(train=True)
        image, label = train[0]          # float32 (1, 28, 28) in [0, 1], 5
        loader = DataLoader(train, batch_size=128, shuffle=True)
    """

    folder = "mnist"
    files = MNIST_FILES
    default_mirrors = MNIST_MIRRORS
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
               "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root: str | os.PathLike | None = None, train: bool = True,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = True, mirrors: Sequence[str] | None = None,
                 timeout: float = DEFAULT_TIMEOUT):
        self.root = os.path.expanduser(os.fspath(root)) if root is not None else default_root()
        self.train = bool(train)
        self.transform, self.target_transform = transform, target_transform
        split = "train" if self.train else "t10k"
        image_name, label_name = f"{split}-images-idx3-ubyte", f"{split}-labels-idx1-ubyte"
        image_path = self._locate(image_name, download, mirrors, timeout)
        label_path = self._locate(label_name, download, mirrors, timeout)

        images = read_idx(image_path, sha256=self.files[image_name][0])
        labels = read_idx(label_path, sha256=self.files[label_name][0])
        # The checksums pin the content, so these checks only fail if the tables are edited.
        if images.dtype != np.uint8 or images.ndim != 3:
            raise ValueError(f"{image_path}: expected uint8 images of shape (N, 28, 28), "
                             f"found {images.dtype} {images.shape}")
        if labels.shape != images.shape[:1]:
            raise ValueError(f"{label_path}: {labels.shape[0]} labels for "
                             f"{images.shape[0]} images in {image_path}")
        backend = get_backend()  # uint8 on the device: 47 MB for the training images
        self.data = Tensor(backend.asarray(images))
        self.targets = Tensor(backend.asarray(labels.astype(np.int64)))

    @property
    def raw_folder(self) -> str:
        """The folder the IDX files are read from: ``root/mnist`` (``root/fashion-mnist``)."""
        return os.path.join(self.root, self.folder)

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.classes)}

    def __len__(self) -> int:
        return self.targets.shape[0]

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        """(image, label): float32 (1, 28, 28) in [0, 1] and an int, then transformed."""
        images, labels = self.data.array, self.targets.array
        image = Tensor._wrap(_to_unit_float(images[index, ...]))
        label = int(backend_of(labels).to_numpy(labels[index]))
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label

    def _gatherable(self) -> bool:
        """The fast path (see tinynet.utils.data.dataset) applies unless samples are
        transformed or ``__getitem__`` is overridden."""
        return self.transform is None and self.target_transform is None \
            and type(self).__getitem__ is MNIST.__getitem__

    def _gather(self, index: np.ndarray) -> list:
        """One take of the uint8 images and one of the labels, on their device, and the
        images converted there: the batch that stacking ``self[i]`` would give."""
        images, labels = take_rows([self.data.array, self.targets.array], index)
        return [Tensor._wrap(_to_unit_float(images)), Tensor._wrap(labels)]

    def __repr__(self) -> str:
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}",
                 f"    Root location: {self.root}",
                 f"    Split: {'Train' if self.train else 'Test'}"]
        if self.transform is not None:
            lines.append(f"    Transform: {self.transform!r}")
        return "\n".join(lines)

    def _locate(self, name: str, download: bool, mirrors: Sequence[str] | None,
                timeout: float) -> str:
        """The path of ``name`` (plain preferred, it loads faster) or ``name.gz``;
        downloaded first if missing and allowed."""
        for candidate in (name, name + ".gz"):
            path = os.path.join(self.raw_folder, candidate)
            if os.path.isfile(path):
                return path
        if not download:
            raise FileNotFoundError(f"{type(self).__name__}: {name} (or {name}.gz) not found "
                                    f"in {self.raw_folder}, and download=False.\n"
                                    + self._guidance())
        created = _missing_folders(self.raw_folder)
        os.makedirs(self.raw_folder, exist_ok=True)
        sha256, size = self.files[name]
        mirrors = self.default_mirrors if mirrors is None else mirrors
        try:
            return download_file(name, self.raw_folder, sha256, size, mirrors, timeout)
        except BaseException as exc:
            for folder in reversed(created):  # a failed download leaves no empty folders
                if os.path.isdir(folder) and not os.listdir(folder):
                    os.rmdir(folder)
            if not isinstance(exc, RuntimeError):
                raise
            raise RuntimeError(f"{type(self).__name__}: {exc}\n{self._guidance()}") from None

    def _guidance(self) -> str:
        names = ", ".join(self.files)
        return (f"Put the four files {names} (each may be gzip-compressed, ending in .gz) "
                f"in the folder {self.raw_folder}, or pass root= (or set the environment "
                f"variable TINYNET_DATA_DIR) to a folder whose '{self.folder}' subfolder "
                "holds them.")


def _to_unit_float(images: Any) -> Any:
    """uint8 images (..., H, W) -> float32 (..., 1, H, W) in [0, 1], on their device: one
    channel, as torchvision's ToTensor gives. Divided (not multiplied by 1/255) to match
    ToTensor exactly."""
    backend = backend_of(images)
    return backend.xp.expand_dims(backend.astype(images, np.float32) / 255, axis=-3)


def _missing_folders(path: str) -> list[str]:
    """The folders ``os.makedirs(path)`` would create, outermost first."""
    missing = []
    while path and not os.path.exists(path):
        missing.insert(0, path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return missing


class FashionMNIST(MNIST):
    """Fashion-MNIST (Zalando): 28x28 grey images of 10 kinds of clothing, in MNIST's format.

    Same arguments and attributes as ``MNIST``; the files live in ``root/fashion-mnist``.
    """

    folder = "fashion-mnist"
    files = FASHION_MNIST_FILES
    default_mirrors = FASHION_MNIST_MIRRORS
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

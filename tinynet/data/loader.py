"""DataLoader: mini-batches of (images, labels) as tinynet Tensors.

The images stay uint8 in memory (47 MB for MNIST instead of 188 MB as float32). Each
batch gathers its rows from the uint8 array once and converts only those to float32 in
[0, 1]. On a GPU backend the two arrays are uploaded once, and batches are gathered and
converted on the device, so no image crosses the bus twice.

Shuffling is reproducible: epoch ``e`` visits the samples in the order
``numpy.random.default_rng([seed, e]).permutation(n)``. The loader counts finished epochs,
and ``state_dict()`` / ``load_state_dict()`` save and restore that count, so a run resumed
from a checkpoint sees exactly the orders the uninterrupted run would have seen.
"""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from ..backend import Backend, backend_for_device
from ..tensor import Tensor


class DataLoader:
    """Iterate over a data set in mini-batches.

    Args:
        dataset: an object with ``.data`` and ``.targets`` arrays (``MNIST``,
            ``FashionMNIST``), or a tuple ``(x, y)`` of arrays with the same first axis.
        batch_size: samples per batch.
        shuffle: visit the samples in a new random order every epoch.
        drop_last: skip the last batch if it is smaller than ``batch_size``.
        seed: the seed of the shuffled orders (with the epoch number).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"``; default the active backend at the
            time of iteration.
        flatten: give images as (B, 784) rows instead of (B, 28, 28).

    Yields:
        ``(x, y)`` Tensors. uint8 images become float32 scaled to [0, 1]; inputs of any
        other dtype keep it. Integer targets become int64.

    Example::

        loader = DataLoader(MNIST(train=True), batch_size=128, shuffle=True, flatten=True)
        for epoch in range(10):
            for x, y in loader:      # x float32 (128, 784), y int64 (128,)
                ...
    """

    def __init__(self, dataset: Any, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, seed: int = 0, device: str | None = None,
                 flatten: bool = False):
        if isinstance(dataset, (tuple, list)):
            if len(dataset) != 2:
                raise ValueError(f"a data set given as a tuple must be (x, y), "
                                 f"got {len(dataset)} items")
            x, y = dataset
        elif hasattr(dataset, "data") and hasattr(dataset, "targets"):
            x, y = dataset.data, dataset.targets
        else:
            raise TypeError(f"DataLoader needs a data set with .data and .targets arrays "
                            f"or a tuple (x, y), got {type(dataset).__name__}")
        x, y = _host(x), _host(y)
        if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
            raise ValueError(f"inputs of shape {x.shape} and targets of shape {y.shape} "
                             "must have the same first axis")
        is_int = isinstance(batch_size, (int, np.integer)) and not isinstance(batch_size, bool)
        if not is_int or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if np.issubdtype(y.dtype, np.integer):
            y = y.astype(np.int64, copy=False)  # class indices, as the losses expect
        self.dataset = dataset
        self.x, self.y = x, y
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = int(seed)
        self.device = device
        self.flatten = bool(flatten)
        self.epoch = 0
        self._on_device: dict[str, tuple[Any, Any]] = {}  # device -> uploaded (x, y)

    def __len__(self) -> int:
        """The number of batches in one epoch."""
        n = len(self.x)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration use the order of epoch ``epoch``."""
        self.epoch = int(epoch)

    def state_dict(self) -> dict:
        """``{"epoch": e, "seed": s}``: the next iteration uses the order of epoch ``e``."""
        return {"epoch": self.epoch, "seed": self.seed}

    def load_state_dict(self, state: dict) -> None:
        """Restore the epoch counter and seed saved by ``state_dict``."""
        missing = {"epoch", "seed"} - set(state)
        if missing:
            raise KeyError(f"DataLoader state dict is missing {sorted(missing)}; "
                           f"it has {sorted(state)}")
        self.epoch, self.seed = int(state["epoch"]), int(state["seed"])

    def order(self, epoch: int | None = None) -> np.ndarray | None:
        """The sample order of ``epoch`` (default: the next one); None when not shuffling."""
        if not self.shuffle:
            return None
        epoch = self.epoch if epoch is None else epoch
        return np.random.default_rng([self.seed, epoch]).permutation(len(self.x))

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        backend = backend_for_device(self.device)
        xp = backend.xp
        x, y = self._arrays(backend)
        order = self.order()
        if order is not None:
            order = backend.asarray(order)  # one upload per epoch, not one per batch
        n, size = len(self.x), self.batch_size
        stop = n - n % size if self.drop_last else n
        for start in range(0, stop, size):
            end = min(start + size, n)
            if order is None:  # a contiguous slice: copied, so a batch never aliases the data
                xb, yb = x[start:end, ...], xp.asarray(y[start:end, ...], copy=True)
                if xb.dtype != xp.uint8:  # (uint8 images are converted below anyway)
                    xb = xp.asarray(xb, copy=True)
            else:
                index = order[start:end]
                xb, yb = xp.take(x, index, axis=0), xp.take(y, index, axis=0)
            if xb.dtype == xp.uint8:
                # Divide (not multiply by 1/255) to match torchvision's ToTensor exactly.
                xb = xp.astype(xb, xp.float32) / 255
            if self.flatten:
                xb = xp.reshape(xb, (end - start, -1))
            yield Tensor(xb), Tensor(yb)
        self.epoch += 1  # only a finished epoch counts

    def _arrays(self, backend: Backend) -> tuple[Any, Any]:
        """The data on ``backend``'s device, uploaded on first use and kept."""
        if backend.name == "numpy":
            return self.x, self.y
        if backend.device not in self._on_device:
            self._on_device[backend.device] = (backend.asarray(self.x), backend.asarray(self.y))
        return self._on_device[backend.device]

    def __repr__(self) -> str:
        return (f"DataLoader(n={len(self.x)}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, seed={self.seed}, "
                f"device={self.device!r}, flatten={self.flatten})")


def _host(a: Any) -> np.ndarray:
    """A NumPy array from a NumPy array, a list, or a tinynet Tensor."""
    if isinstance(a, Tensor):
        return a.numpy()
    return np.asarray(a)

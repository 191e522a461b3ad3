"""DataLoader: batches from any map-style data set, with PyTorch's arguments and semantics.

One epoch is: the batch sampler yields lists of indices (by default ``BatchSampler`` over a
``SequentialSampler``, or a ``RandomSampler`` when ``shuffle=True``); each list becomes a
batch, ``collate_fn([dataset[i] for i in indices])``.

The fast path: with the default collate_fn and a tensor-backed data set (``TensorDataset``,
``MNIST`` / ``FashionMNIST`` without transforms, ``Subset`` of those), each batch is instead
``dataset._gather(indices)``: one ``take`` per tensor on its device, and the indices of a
whole epoch are drawn as one array and sliced. The batches are the same; only the speed
differs (see dataset.py).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator

import numpy as np

from ...tensor import Tensor
from .collate import default_collate, default_convert
from .dataset import in_range
from .sampler import BatchSampler, RandomSampler, SequentialSampler, index_array


class DataLoader:
    """Iterate over a data set in batches.

    Args:
        dataset: a map-style data set: ``dataset[i]`` gives sample i, ``len(dataset)`` the
            count (a ``Dataset``, a list, a tensor...).
        batch_size: samples per batch; None yields single samples, uncollated.
        shuffle: a new random order every epoch (a ``RandomSampler``).
        sampler: the indices to visit and their order, any iterable of indices (a Sampler,
            a list, a NumPy array); excludes ``shuffle``.
        batch_sampler: yields whole lists of indices; excludes batch_size, shuffle, sampler
            and drop_last.
        num_workers, pin_memory, timeout, worker_init_fn, prefetch_factor,
            persistent_workers: accepted for compatibility with PyTorch code; tinynet loads
            batches in the calling process.
        collate_fn: list of samples -> batch; default ``default_collate``.
        drop_last: skip the last batch when it is smaller than ``batch_size``.
        generator: the shuffle order's generator (see ``sampler.numpy_generator``); None
            draws from tinynet's global generator, seeded by ``tn.manual_seed``.

    Example::

        loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)
        for xb, yb in loader:        # len(loader) batches; len(loader.dataset) samples
            ...
    """

    def __init__(self, dataset: Any, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Iterable | None = None, batch_sampler: Iterable | None = None,
                 num_workers: int = 0, collate_fn: Callable | None = None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable | None = None, generator: Any = None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False):
        _check_map_style(dataset)
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 "
                             "to disable multiprocessing.")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset = dataset
        self.batch_size, self.drop_last = batch_size, drop_last
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.generator = generator
        self.num_workers, self.pin_memory, self.timeout = num_workers, pin_memory, timeout
        self.worker_init_fn, self.prefetch_factor = worker_init_fn, prefetch_factor
        self.persistent_workers = persistent_workers
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert
        self.collate_fn = collate_fn

    def __len__(self) -> int:
        """The number of batches in one epoch."""
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)

    def __iter__(self) -> Iterator:
        dataset = self.dataset
        if self.batch_sampler is None:  # batch_size=None: one sample at a time
            for index in self.sampler:
                yield self.collate_fn(dataset[index])
            return
        if self.collate_fn is default_collate and hasattr(dataset, "_gatherable") \
                and dataset._gatherable():
            for indices in self._index_arrays():
                yield dataset._gather(indices)
            return
        for indices in self.batch_sampler:
            yield self.collate_fn([dataset[i] for i in indices])

    def _index_arrays(self) -> Iterator[np.ndarray]:
        """The batch sampler's batches as int64 arrays checked by ``in_range``. For the
        default BatchSampler: one array of the whole epoch's indices, checked once, sliced."""
        n = len(self.dataset)
        if type(self.batch_sampler) is not BatchSampler:
            for indices in self.batch_sampler:
                yield in_range(np.asarray(indices, dtype=np.int64), n)
            return
        batches = self.batch_sampler
        order, size = in_range(index_array(batches.sampler), n), batches.batch_size
        stop = len(order) - len(order) % size if batches.drop_last else len(order)
        for start in range(0, stop, size):
            yield order[start:start + size]

    def __repr__(self) -> str:
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)} samples, "
                f"batch_size={self.batch_size}, sampler={type(self.sampler).__name__}, "
                f"drop_last={self.drop_last})")


def _check_map_style(dataset: Any) -> None:
    """A clear error for what is not a map-style data set, and for the old ``(x, y)`` form
    (which PyTorch would read as a data set of two samples)."""
    if not (hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")):
        raise TypeError(f"DataLoader needs a map-style data set (with __getitem__ and "
                        f"__len__), got {type(dataset).__name__}")
    if isinstance(dataset, (tuple, list)) and len(dataset) == 2:
        x, y = dataset
        arrays = all(isinstance(a, (Tensor, np.ndarray)) and a.ndim >= 1 for a in (x, y))
        # (a list of two samples of one shape is a real data set, and stays allowed)
        if arrays and len(x) == len(y) and (isinstance(dataset, tuple) or x.shape != y.shape):
            raise TypeError(
                f"DataLoader((x, y)) would be a data set of 2 samples (x and y), not of "
                f"{len(x)} pairs: use DataLoader(TensorDataset(x, y), ...) with "
                "tinynet.utils.data.TensorDataset")

"""Map-style data sets, as in PyTorch: ``dataset[i]`` is one sample, ``len(dataset)`` the count.

``Dataset`` is the base class; ``TensorDataset`` wraps tensors that share their first axis;
``Subset`` selects indices of another data set; ``ConcatDataset`` (also ``a + b``) chains
data sets; ``random_split`` cuts one into random Subsets.

The fast path. A DataLoader normally calls ``dataset[i]`` for every index of a batch and
stacks the samples (``default_collate``). A data set backed by whole tensors can do better:
its ``_gather(index)`` returns the collated batch directly, with ONE ``take`` per tensor on
the tensors' device (GPU data stays on the GPU, only the indices travel). ``index`` is a
host int64 array already checked by ``in_range`` (the loader checks a whole epoch's indices
at once). ``_gather`` must give exactly what the per-sample path gives. The loader uses it
only when ``_gatherable()`` says so, which is False when a subclass overrides
``__getitem__`` (a transform, say): an override is always honoured.
"""
from __future__ import annotations

import bisect
import itertools
import math
import warnings
from typing import Any, Generic, Iterable, Sequence, TypeVar

import numpy as np

from ...backend import backend_of
from ...tensor import Tensor
from .sampler import numpy_generator

T_co = TypeVar("T_co", covariant=True)


class Dataset(Generic[T_co]):
    """Base class of map-style data sets: subclasses define ``__getitem__(index)`` (one
    sample) and ``__len__()``. ``a + b`` is ``ConcatDataset([a, b])``.

    Example::

        class Squares(Dataset):
            def __len__(self):
                return 100
            def __getitem__(self, i):
                return tn.tensor([float(i)]), i * i
    """

    def __getitem__(self, index: Any) -> T_co:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other: "Dataset") -> "ConcatDataset":
        return ConcatDataset([self, other])


def in_range(index: np.ndarray, n: int) -> np.ndarray:
    """``index`` (host ints) checked against a data set of ``n`` samples, negative entries
    counted from the end as in Python: the form ``_gather`` expects."""
    low, high = (int(index.min()), int(index.max())) if index.size else (0, 0)
    if low < -n or high >= n:
        bad = high if high >= n else low
        raise IndexError(f"index {bad} is out of range for a data set of {n} samples")
    return np.where(index < 0, index + n, index) if low < 0 else index


def take_rows(arrays: Sequence[Any], index: np.ndarray) -> list:
    """``[a[index] for a in arrays]``, each by one ``take`` along axis 0 on ``a``'s device.

    ``index`` is a host int array in [0, n) (see ``in_range``), uploaded once per device.
    """
    on_device: dict[int, Any] = {}  # id(backend) -> the index on that backend's device
    rows = []
    for a in arrays:
        backend = backend_of(a)
        if id(backend) not in on_device:
            on_device[id(backend)] = backend.asarray(index)
        rows.append(backend.xp.take(a, on_device[id(backend)], axis=0))
    return rows


class TensorDataset(Dataset):
    """Samples are ``(t[i] for t in tensors)``: tensors with the same first axis.

    Example::

        ds = TensorDataset(tn.randn(100, 3), tn.arange(100))
        x, y = ds[0]          # a (3,) tensor and a 0-d int64 tensor
    """

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        for t in tensors:
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset takes tensors, got {type(t).__name__}: wrap "
                                "it with tinynet.tensor(...) first")
            if t.ndim == 0:
                raise ValueError("TensorDataset needs tensors with a first axis, got a 0-d one")
        sizes = [t.shape[0] for t in tensors]
        if len(set(sizes)) > 1:
            raise ValueError(f"Size mismatch between tensors: first axes of {sizes}")
        self.tensors = tensors

    def __getitem__(self, index: Any) -> tuple:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def _gatherable(self) -> bool:
        """False when a subclass redefines the samples, or a tensor requires grad (then
        stacking samples records the graph, which a take on arrays would not)."""
        return type(self).__getitem__ is TensorDataset.__getitem__ \
            and not any(t.requires_grad for t in self.tensors)

    def _gather(self, index: np.ndarray) -> list:
        """The collated batch: a list, as default_collate makes of tuple samples."""
        return [Tensor._wrap(rows) for rows in take_rows([t.array for t in self.tensors], index)]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``: ``subset[i] == dataset[indices[i]]``."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices
        self._cache: tuple[Any, np.ndarray] | None = None  # (indices, as an int64 array)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)

    def _gatherable(self) -> bool:
        return type(self).__getitem__ is Subset.__getitem__ \
            and hasattr(self.dataset, "_gatherable") and self.dataset._gatherable()

    def _gather(self, index: np.ndarray) -> list:
        if self._cache is None or self._cache[0] is not self.indices:  # indices replaced
            inner_index = in_range(np.asarray(self.indices, dtype=np.int64), len(self.dataset))
            self._cache = (self.indices, inner_index)
        return self.dataset._gather(self._cache[1][index])


class ConcatDataset(Dataset):
    """The samples of several data sets, one after another."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("datasets should not be an empty iterable")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> Any:
        if index < 0:
            if -index > len(self):
                raise ValueError(f"absolute value of index {index} should not exceed the "
                                 f"data set length {len(self)}")
            index += len(self)
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]


def random_split(dataset: Dataset, lengths: Sequence[int | float],
                 generator: Any = None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random Subsets of the given lengths.

    ``lengths`` are counts that sum to ``len(dataset)``, or fractions that sum to 1: each
    split then gets floor(n * fraction) samples, and the remainder is handed out one by one
    from the first split on (PyTorch's rule: 10 samples at [0.5, 0.3, 0.2] give 5, 3, 2;
    11 give 6, 3, 2). The order is drawn from ``generator`` (see ``numpy_generator``).

    Example::

        train, val = random_split(dataset, [0.8, 0.2], generator=np.random.default_rng(0))
    """
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = []
        for i, fraction in enumerate(lengths):
            if fraction < 0 or fraction > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            counts.append(math.floor(n * fraction))
        for i in range(n - sum(counts)):  # round robin, until the counts sum to n
            counts[i % len(counts)] += 1
        for i, count in enumerate(counts):
            if count == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an "
                              "empty dataset.", stacklevel=2)
        lengths = counts
    if sum(lengths) != n:
        raise ValueError(f"Sum of input lengths {list(lengths)} does not equal the length of "
                         f"the input dataset ({n})!")
    order = numpy_generator(generator).permutation(n).tolist()
    splits, end = [], 0
    for length in lengths:
        splits.append(Subset(dataset, order[end:end + length]))
        end += length
    return splits

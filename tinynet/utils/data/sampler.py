"""Samplers: which sample indices a DataLoader visits, and in what order (PyTorch's classes).

A sampler is an iterable of indices with a length; a ``BatchSampler`` groups them into
batches. Each sampler here also has ``_index_array()``: one epoch of its indices as an
int64 NumPy array, drawn exactly as ``iter()`` would draw them. The DataLoader uses it to
slice whole batches out of one array instead of handling a Python int per sample.

Random orders come from ``generator``, advancing its state on every epoch, as PyTorch does.
Without one, they come from tinynet's global generator: ``tn.manual_seed`` fixes them and
``tn.get_rng_state`` / ``tn.set_rng_state`` save and restore them, so a checkpoint that
keeps the RNG state resumes the very orders an uninterrupted run would have drawn.
"""
from __future__ import annotations

import itertools
from typing import Any, Generic, Iterable, Iterator, Sequence, Sized, TypeVar

import numpy as np

from ...backend import get_backend
from ...tensor import Tensor


def numpy_generator(generator: Any = None) -> np.random.Generator:
    """The NumPy Generator that random orders are drawn from.

    ``None`` gives tinynet's global generator (that of the active backend); a
    ``tn.Generator`` gives its own stream. Otherwise ``generator`` must have NumPy's
    ``permutation``, ``integers`` and ``choice`` methods, as a ``numpy.random.Generator``
    (``np.random.default_rng(seed)``) has.
    """
    if generator is None:
        return get_backend().rng
    if isinstance(getattr(generator, "rng", None), np.random.Generator):  # a tn.Generator
        return generator.rng
    if all(hasattr(generator, name) for name in ("permutation", "integers", "choice")):
        return generator
    raise TypeError(f"generator must be None or have NumPy's Generator methods (permutation, "
                    f"integers, choice), such as np.random.default_rng(seed); got "
                    f"{type(generator).__name__}")


def index_array(sampler: Iterable) -> np.ndarray:
    """One epoch of ``sampler``'s indices as an int64 array (its own array when it has one)."""
    if isinstance(sampler, Tensor):  # such as a permutation made with tinynet
        sampler = sampler.numpy()
    if isinstance(sampler, np.ndarray):
        return sampler.astype(np.int64, copy=False).reshape(-1)
    if hasattr(sampler, "_index_array"):
        return sampler._index_array()
    return np.fromiter(iter(sampler), dtype=np.int64)


def _check_positive_int(name: str, value: Any) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} should be a positive integer value, but got {name}={value!r}")


T_co = TypeVar("T_co", covariant=True)


class Sampler(Generic[T_co]):
    """Base class of samplers: subclasses define ``__iter__`` (indices) and ``__len__``.
    (Generic, so ``Sampler[int]`` works in class statements as in PyTorch.)"""

    def __init__(self, data_source: Sized | None = None) -> None:
        pass  # PyTorch's deprecated argument, accepted and unused

    def __iter__(self) -> Iterator:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1, every epoch."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def _index_array(self) -> np.ndarray:
        return np.arange(len(self.data_source), dtype=np.int64)

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A new random order every epoch.

    Args:
        data_source: the data set (only its length is used).
        replacement: draw ``num_samples`` indices independently (with repeats) instead of
            a permutation.
        num_samples: how many indices per epoch; default ``len(data_source)``. Without
            replacement, more than that many concatenates fresh permutations.
        generator: where the order comes from (see ``numpy_generator``).
    """

    def __init__(self, data_source: Sized, replacement: bool = False,
                 num_samples: int | None = None, generator: Any = None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got "
                            f"replacement={replacement!r}")
        _check_positive_int("num_samples", self.num_samples)

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _index_array(self) -> np.ndarray:
        rng, n, k = numpy_generator(self.generator), len(self.data_source), self.num_samples
        if self.replacement:
            return rng.integers(0, n, size=k, dtype=np.int64)
        rounds, rest = divmod(k, n)
        parts = [rng.permutation(n) for _ in range(rounds)]
        if rest:
            parts.append(rng.permutation(n)[:rest])
        return np.concatenate(parts).astype(np.int64, copy=False)

    def __iter__(self) -> Iterator[int]:
        return iter(self._index_array().tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices, in a new random order every epoch."""

    def __init__(self, indices: Sequence[int], generator: Any = None) -> None:
        self.indices = indices
        self.generator = generator

    def _index_array(self) -> np.ndarray:
        order = numpy_generator(self.generator).permutation(len(self.indices))
        return np.asarray(self.indices, dtype=np.int64)[order]

    def __iter__(self) -> Iterator:
        order = numpy_generator(self.generator).permutation(len(self.indices))
        return (self.indices[i] for i in order.tolist())

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices of ``range(len(weights))``, index i with probability
    weights[i] / sum(weights); with or without replacement."""

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator: Any = None) -> None:
        _check_positive_int("num_samples", num_samples)
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got "
                             f"replacement={replacement!r}")
        weights = np.asarray(weights.numpy() if hasattr(weights, "numpy") else weights,
                             dtype=np.float64)
        if weights.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape "
                             f"{weights.shape}")
        if (weights < 0).any() or not np.isfinite(weights).all() or weights.sum() <= 0:
            raise ValueError("weights must be finite, non-negative and not all zero")
        if not replacement and num_samples > np.count_nonzero(weights):
            raise ValueError(f"cannot draw {num_samples} samples without replacement from "
                             f"{np.count_nonzero(weights)} indices of non-zero weight")
        self.weights, self.num_samples = weights, int(num_samples)
        self.replacement, self.generator = replacement, generator

    def _index_array(self) -> np.ndarray:
        rng = numpy_generator(self.generator)
        return rng.choice(len(self.weights), size=self.num_samples, replace=self.replacement,
                          p=self.weights / self.weights.sum()).astype(np.int64, copy=False)

    def __iter__(self) -> Iterator[int]:
        return iter(self._index_array().tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size``; the last one is
    shorter unless ``drop_last``.

    Example::

        list(BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=False))
        # [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    """

    def __init__(self, sampler: Iterable, batch_size: int, drop_last: bool) -> None:
        _check_positive_int("batch_size", batch_size)
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got "
                             f"drop_last={drop_last!r}")
        self.sampler, self.batch_size, self.drop_last = sampler, int(batch_size), drop_last

    def __iter__(self) -> Iterator[list]:
        indices = iter(self.sampler)
        while True:
            batch = list(itertools.islice(indices, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

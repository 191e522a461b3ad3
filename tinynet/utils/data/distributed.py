"""DistributedSampler: each of N processes (ranks) visits its own 1/N of the data set.

PyTorch's partition, step by step, for n samples and N ranks:

    order   = a permutation of range(n) drawn from seed + epoch (the same on every rank),
              or range(n) without shuffle
    padded  = order repeated cyclically to N * ceil(n / N) indices, so that every rank gets
              as many (a few samples are seen twice); with drop_last, order cut to
              N * floor(n / N) instead
    rank r  = padded[r::N]: every N-th index, starting at r

Call ``set_epoch(e)`` before each epoch: all ranks then draw the same new order, and a run
resumed at epoch e sees the same orders as one that never stopped.
"""
from __future__ import annotations

import math
import sys
from typing import Iterator, Sized

import numpy as np

from .sampler import Sampler


def default_replicas() -> tuple[int, int]:
    """(world size, rank) for a sampler not told them: those of ``tinynet.distributed`` when
    it is imported and its process group initialised, else (1, 0), a plain ``python`` run.
    (Read through sys.modules, so that this never imports MPI.)"""
    dist = sys.modules.get("tinynet.distributed")
    if dist is not None and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, 0


class DistributedSampler(Sampler):
    """The indices of one rank's share of ``dataset`` (see the module docstring).

    Args:
        dataset: the data set (only its length is used).
        num_replicas: the number of ranks N; default the world size.
        rank: this process's rank, 0 <= rank < N; default this process's rank.
        shuffle: a new order every epoch (else range(n)).
        seed: the order of epoch e is drawn from seed + e; must be the same on every rank.
        drop_last: cut the tail to a multiple of N instead of padding.

    Example::

        sampler = DistributedSampler(train_set)
        loader = DataLoader(train_set, batch_size=64, sampler=sampler)
        for epoch in range(epochs):
            sampler.set_epoch(epoch)
            for x, y in loader:
                ...
    """

    def __init__(self, dataset: Sized, num_replicas: int | None = None,
                 rank: int | None = None, shuffle: bool = True, seed: int = 0,
                 drop_last: bool = False) -> None:
        world, own_rank = default_replicas()
        num_replicas = world if num_replicas is None else num_replicas
        rank = own_rank if rank is None else rank
        if not isinstance(num_replicas, (int, np.integer)) or num_replicas < 1:
            raise ValueError(f"num_replicas must be a positive integer, got {num_replicas!r}")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last = shuffle, int(seed), drop_last
        self.epoch = 0
        n = len(dataset)
        if drop_last and n % self.num_replicas:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def _index_array(self) -> np.ndarray:
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng(self.seed + self.epoch).permutation(n)
        else:
            order = np.arange(n)
        if self.drop_last:
            order = order[:self.total_size]
        else:
            order = np.resize(order, self.total_size)  # repeats cyclically: the padding
        return order[self.rank:self.total_size:self.num_replicas].astype(np.int64, copy=False)

    def __iter__(self) -> Iterator[int]:
        return iter(self._index_array().tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use the order of epoch ``epoch`` from now on (the same on every rank)."""
        self.epoch = int(epoch)

"""DistributedDataParallel's gradient buckets: the parameters whose gradients are summed
over ranks together, and the two ways of summing them (MPI_Allreduce, or a shared-memory
window when every rank runs on one machine). See tinynet/nn/parallel.py and
docs/distributed.md."""
from __future__ import annotations

import math
from typing import Any, Iterator

import numpy as np

from ..backend import backend_of, host_dtype


class GradientBucket:
    """Parameters of one device and dtype whose gradients travel together, laid end to end
    in one flat buffer, followed by one flag per parameter (1: this rank has a gradient).

    Each rank packs its gradients divided by N, the number of ranks (PyTorch's DDP divides
    before it sums, too): the sum over ranks is then the mean, and no pass is left to divide.
    Two ways to sum the buffers of all ranks:
    - MPI_Allreduce in place on ``flat``, then each sum copied into its ``.grad``;
    - host arrays on ranks that all run on one machine: each rank packs into its own block
      of a shared-memory window, waits for all (a fence), then reads every rank's block and
      sums them, in rank order, straight into its ``.grad``. No message is copied: one pass
      sums and unpacks at once. Two blocks per rank, used in turn:
      a rank that packs the next step's gradients cannot overwrite a block that another
      rank still reads, as nobody leaves a fence before all have reached it."""

    def __init__(self, params: list, dist: Any) -> None:
        self.params = params
        self.backend = backend_of(params[0].array)
        self.ends = np.cumsum([math.prod(p.shape) for p in params]).tolist()
        self.numel = self.ends[-1]
        self.rank = dist.get_rank()
        dtype, size = params[0].array.dtype, self.numel + len(params)
        nbytes = 2 * size * np.dtype(host_dtype(dtype)).itemsize
        host_ranks = self.backend.name == "numpy" and dist.get_world_size() > 1
        self.shared = dist.shared_memory(nbytes, wanted=host_ranks)
        if self.shared is None:
            self.flat = self.backend.zeros((size,), dtype)
        else:  # per rank: (2, size), one row per turn
            self.blocks = [np.frombuffer(b, dtype, 2 * size).reshape(2, size)
                           for b in self.shared.blocks]
            self.turn = 0

    def reduce(self, world_size: int, dist: Any) -> None:
        """Every ``.grad`` of the bucket becomes the mean over ranks."""
        if self.shared is None:
            self._reduce_with_allreduce(world_size, dist)
        else:
            self._reduce_through_shared_memory(world_size)

    def _pack(self, flat: Any, world_size: int) -> bool:
        """Every ``.grad`` divided by ``world_size`` into ``flat`` (one pass), zeros and flag 0
        where there is none; whether some gradient was missing."""
        xp = self.backend.xp
        flat[self.numel:] = 1
        some_missing = False
        for i, (p, start, end) in enumerate(self._slices()):
            if p.grad is None:
                flat[start:end] = 0
                flat[self.numel + i] = 0
                some_missing = True
            elif not self.backend.owns(p.grad.array):
                raise RuntimeError(f"DistributedDataParallel: a gradient is on "
                                   f"{p.grad.device}, its bucket on {self.backend.device}: "
                                   "move the model before wrapping it")
            else:
                self.backend.divide_into(flat[start:end], xp.reshape(p.grad.array, (-1,)),
                                         world_size)
        return some_missing

    def _reduce_with_allreduce(self, world_size: int, dist: Any) -> None:
        flat, xp = self.flat, self.backend.xp
        some_missing = self._pack(flat, world_size)
        dist.all_reduce_array(flat, "sum")  # one call for the whole bucket: the mean
        # Flags are read only when this rank lacked a gradient (a host read of 4 bytes each):
        # otherwise every flag is at least this rank's 1.
        flags = self.backend.to_numpy(flat[self.numel:]) if some_missing else None
        for i, (p, start, end) in enumerate(self._slices()):
            if flags is not None and flags[i] == 0:
                continue  # no rank has a gradient for p: it stays None, as in PyTorch
            mean = xp.reshape(flat[start:end], p.shape)
            if p.grad is None:
                p.grad = p._wrap(xp.asarray(mean, copy=True))
            else:
                p.grad.array[...] = mean

    def _reduce_through_shared_memory(self, world_size: int) -> None:
        if self.shared.closed:
            raise RuntimeError("DistributedDataParallel: the process group was destroyed; "
                               "its gradients cannot be reduced any more")
        turn, self.turn = self.turn, 1 - self.turn
        blocks = [b[turn] for b in self.blocks]  # every rank's, in rank order
        self._pack(blocks[self.rank], world_size)
        self.shared.fence()
        flags = sum(b[self.numel:] for b in blocks)
        for i, (p, start, end) in enumerate(self._slices()):
            if flags[i] == 0:
                continue  # no rank has a gradient for p: it stays None, as in PyTorch
            parts = [b[start:end].reshape(p.shape) for b in blocks]
            if p.grad is None:
                p.grad = p._wrap(np.empty(p.shape, parts[0].dtype))
            out = p.grad.array
            np.add(parts[0], parts[1], out=out)  # the same order, so the same sum, everywhere
            for part in parts[2:]:
                out += part

    def _slices(self) -> Iterator[tuple]:
        return zip(self.params, [0] + self.ends[:-1], self.ends)


def split_into_buckets(params: list, cap_bytes: int) -> list:
    """Parameters grouped by device and dtype, each group cut where it would exceed the cap
    (a parameter larger than the cap gets a bucket of its own)."""
    groups: dict = {}
    for p in params:
        groups.setdefault((p.device, str(p.dtype)), []).append(p)
    buckets = []
    for group in groups.values():
        current, size = [], 0
        for p in group:
            nbytes = math.prod(p.shape) * np.dtype(str(p.dtype)).itemsize
            if current and size + nbytes > cap_bytes:
                buckets.append(current)
                current, size = [], 0
            current.append(p)
            size += nbytes
        if current:
            buckets.append(current)
    return buckets


__all__ = ["GradientBucket", "split_into_buckets"]

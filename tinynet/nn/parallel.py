"""DistributedDataParallel: one replica of a model on every rank, gradients averaged.

A training step on N ranks (processes started by ``mpiexec -n N``; docs/distributed.md):

    construction  rank 0's parameters and buffers are broadcast: the replicas start equal
    forward       each rank runs its replica on its own B/N samples of the global batch B;
                  the outputs pass through an ``OnBackward`` node (ops/callback.py)
    backward      each rank computes the gradient of its own loss; when the pass ends, that
                  node's callback lays every ``.grad`` end to end in one flat buffer (per
                  device and dtype, up to ``bucket_cap_mb`` each), all-reduces it in one
                  MPI call and divides by N: every ``.grad`` is the mean over ranks
    step          every rank applies the same update to the same values: the replicas stay
                  equal without ever sending parameters again

With losses that average over their batch, the mean of N per-rank gradients at B/N samples
is the gradient one process computes at B samples (up to float rounding): N ranks at B/N
train the model that one process trains at B.
"""
from __future__ import annotations

import contextlib
import math
import zlib
from typing import Any, Iterator

import numpy as np

from ..autograd import is_grad_enabled, mark_modified, no_grad
from ..backend import backend_of, host_dtype
from ..ops import OnBackward
from ..tensor import Tensor
from .module import Module


class DistributedDataParallel(Module):
    """Wrap ``module`` so that ``backward()`` leaves on every rank the mean over ranks of
    every parameter's gradient, as ``torch.nn.parallel.DistributedDataParallel``.

    Args:
        module: the model, already on its device; ``ddp.module`` reaches it (its
            ``state_dict`` keys are unchanged; the wrapper's own carry ``module.``).
        device_ids, output_device, dim: accepted for PyTorch's sake: the module runs where
            its parameters are, and inputs must be there.
        broadcast_buffers: copy rank 0's buffers (BatchNorm's running statistics) to every
            rank at the start of each forward in training mode, as PyTorch does.
        process_group: the default group only (None).
        bucket_cap_mb: the most megabytes of gradients reduced in one call (default 25).
        find_unused_parameters: accepted; a parameter without a gradient on some rank
            always counts as zeros there, and keeps ``.grad`` None if no rank has one.

    Example (run with ``mpiexec -n 2 python train.py``)::

        dist.init_process_group("mpi")
        model = DistributedDataParallel(build_model())
        loss_fn(model(x_local), y_local).backward()   # .grad: the mean over ranks
        optimizer.step()
    """

    def __init__(self, module: Module, device_ids: Any = None, output_device: Any = None,
                 dim: int = 0, broadcast_buffers: bool = True, process_group: Any = None,
                 bucket_cap_mb: float | None = None, find_unused_parameters: bool = False
                 ) -> None:
        from .. import distributed as dist  # lazily: the core never imports it on its own
        super().__init__()
        self.module = module
        self.world_size = dist.get_world_size(process_group)
        self.broadcast_buffers = broadcast_buffers
        self.require_backward_grad_sync = True  # False inside no_sync(), as in PyTorch
        self._dist = dist
        params = [p for p in module.parameters() if p.requires_grad]
        cap = int((25.0 if bucket_cap_mb is None else bucket_cap_mb) * 2 ** 20)
        self._check_same_model_on_every_rank()  # before the buckets, which must match
        self._buckets = [_Bucket(group, dist) for group in _split(params, cap)]
        _broadcast_from_rank0(list(module.parameters()) + list(module.buffers()), dist)

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        if self.broadcast_buffers and self.training:
            # Asked for at every call: assigning a new Tensor to a buffer replaces it.
            _broadcast_from_rank0(list(self.module.buffers()), self._dist)
        output = self.module(*inputs, **kwargs)
        if self.world_size > 1 and self.require_backward_grad_sync and is_grad_enabled():
            output = _on_backward(output, self.reduce_gradients)
        return output

    def reduce_gradients(self) -> None:
        """Make every parameter's ``.grad`` the mean over ranks (called when a backward pass
        through this module's outputs ends): one all-reduce per bucket."""
        for bucket in self._buckets:
            bucket.reduce(self.world_size, self._dist)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside, backward passes only accumulate local gradients (gradient accumulation);
        the first backward after it averages everything accumulated, in one reduction."""
        previous, self.require_backward_grad_sync = self.require_backward_grad_sync, False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    def _check_same_model_on_every_rank(self) -> None:
        """Ranks whose models differ would exchange buffers of different sizes: find out
        first, on every rank alike (the max of the signature and of its negation)."""
        named = list(self.module.named_parameters()) + list(self.module.named_buffers())
        names = ";".join(f"{name}:{tuple(t.shape)}:{t.dtype}" for name, t in named)
        signature = zlib.crc32(names.encode())
        both = np.array([signature, -signature], dtype=np.int64)
        self._dist.all_reduce_array(both, "max")
        if both[0] != -both[1]:
            raise RuntimeError("DistributedDataParallel: the model differs between ranks "
                               "(parameter names, shapes or dtypes): build the same model on "
                               f"every rank (this rank's parameters: {names[:300]})")


class _Bucket:
    """Parameters of one device and dtype whose gradients travel together, laid end to end
    in one flat buffer, followed by one flag per parameter (1: this rank has a gradient).

    Two ways to sum the buffers of all ranks:
    - MPI_Allreduce in place on ``flat``, then each sum divided into its ``.grad``;
    - host arrays on ranks that all run on one machine: each rank packs into its own block
      of a shared-memory window, waits for all (a fence), then reads every rank's block and
      sums them, in rank order, straight into its ``.grad``. No message is copied and the
      sum, the division and the unpacking are one pass. Two blocks per rank, used in turn:
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
        if self.shared is None:
            self._reduce_with_allreduce(world_size, dist)
        else:
            self._reduce_through_shared_memory(world_size)

    def _pack(self, flat: Any) -> bool:
        """Every ``.grad`` into ``flat``, zeros and flag 0 where there is none; whether some
        gradient was missing."""
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
                flat[start:end] = xp.reshape(p.grad.array, (-1,))
        return some_missing

    def _reduce_with_allreduce(self, world_size: int, dist: Any) -> None:
        flat, xp = self.flat, self.backend.xp
        some_missing = self._pack(flat)
        dist.all_reduce_array(flat, "sum")  # one call for the whole bucket
        # Flags are read only when this rank lacked a gradient (a host read of 4 bytes each):
        # otherwise every flag is at least this rank's 1.
        flags = self.backend.to_numpy(flat[self.numel:]) if some_missing else None
        for i, (p, start, end) in enumerate(self._slices()):
            if flags is not None and flags[i] == 0:
                continue  # no rank has a gradient for p: it stays None, as in PyTorch
            total = xp.reshape(flat[start:end], p.shape)
            if p.grad is None:
                p.grad = p._wrap(total / world_size)
            else:  # the mean, written into .grad in the same pass that divides
                self.backend.divide_into(p.grad.array, total, world_size)

    def _reduce_through_shared_memory(self, world_size: int) -> None:
        if self.shared.closed:
            raise RuntimeError("DistributedDataParallel: the process group was destroyed; "
                               "its gradients cannot be reduced any more")
        turn, self.turn = self.turn, 1 - self.turn
        blocks = [b[turn] for b in self.blocks]  # every rank's, in rank order
        self._pack(blocks[self.rank])
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
            out /= world_size

    def _slices(self) -> Iterator[tuple]:
        return zip(self.params, [0] + self.ends[:-1], self.ends)


def _split(params: list, cap_bytes: int) -> list:
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


def _broadcast_from_rank0(tensors: list, dist: Any) -> None:
    """Copy rank 0's values of ``tensors`` to every rank: one broadcast per device and dtype."""
    if dist.get_world_size() == 1 or not tensors:
        return
    groups: dict = {}
    for t in tensors:
        groups.setdefault((t.device, str(t.dtype)), []).append(t)
    with no_grad():
        for group in groups.values():
            xp = backend_of(group[0].array).xp
            flat = xp.concat([xp.reshape(t.array, (-1,)) for t in group])
            dist.broadcast_array(flat, 0)
            start = 0
            for t in group:
                end = start + math.prod(t.shape)
                t.array[...] = xp.reshape(flat[start:end], t.shape)
                mark_modified(t)
                start = end


def _on_backward(output: Any, callback: Any) -> Any:
    """``output`` (a Tensor, or tuples, lists and dicts of them) with every Tensor that
    requires grad passed through an OnBackward node that queues ``callback``."""
    if isinstance(output, Tensor):
        return OnBackward.apply(output, callback=callback) if output.requires_grad else output
    if isinstance(output, (tuple, list)):
        return type(output)(_on_backward(o, callback) for o in output)
    if isinstance(output, dict):
        return type(output)((k, _on_backward(v, callback)) for k, v in output.items())
    return output


__all__ = ["DistributedDataParallel"]

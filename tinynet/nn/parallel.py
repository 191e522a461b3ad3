"""DistributedDataParallel: one replica of a model on every rank, gradients averaged.

A training step on N ranks (processes started by ``mpiexec -n N``; docs/distributed.md):

    construction  rank 0's parameters and buffers are broadcast: the replicas start equal
    forward       each rank runs its replica on its own B/N samples of the global batch B;
                  the outputs pass through an ``OnBackward`` node (ops/callback.py)
    backward      each rank computes the gradient of its own loss; when the pass ends, that
                  node's callback lays every ``.grad``, divided by N, end to end in one
                  flat buffer (per device and dtype, up to ``bucket_cap_mb`` each) and sums
                  it over ranks (one MPI_Allreduce, or through shared memory when all ranks
                  run on this machine: distributed/buckets.py): every ``.grad`` is the
                  mean over ranks
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
from ..backend import backend_of
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
        from ..distributed.buckets import GradientBucket, split_into_buckets
        super().__init__()
        self.module = module
        self.world_size = dist.get_world_size(process_group)
        self.broadcast_buffers = broadcast_buffers
        self.require_backward_grad_sync = True  # False inside no_sync(), as in PyTorch
        self._dist = dist
        params = [p for p in module.parameters() if p.requires_grad]
        cap = int((25.0 if bucket_cap_mb is None else bucket_cap_mb) * 2 ** 20)
        self._check_same_model_on_every_rank()  # before the buckets, which must match
        self._buckets = [GradientBucket(group, dist) for group in split_into_buckets(params, cap)]
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

"""tinynet.distributed: several processes train one model, over MPI, with PyTorch's names.

    mpiexec -n 4 python train.py                     # 4 processes: ranks 0, 1, 2, 3

    import tinynet.distributed as dist
    dist.init_process_group("mpi")                   # rank 0..3 of a world of 4
    model = tn.nn.parallel.DistributedDataParallel(model)

``mpiexec`` starts N copies of one program. Each copy (a rank) joins the process group in
``init_process_group``; the collectives then combine one tensor across all ranks, in place:
``all_reduce`` leaves the sum (or max, min, product, mean) of every rank's tensor on every
rank, ``broadcast`` copies rank ``src``'s tensor to all. Every rank must call the same
collectives in the same order: a rank that skips one leaves the others waiting.

The engine is MPI through mpi4py (``pip install 'tinynet[mpi]'`` installs mpi4py and the
MPICH library, whose ``mpiexec`` lands in the virtual environment). Arrays travel through
mpi4py's buffer interface (``Allreduce``/``Bcast`` on memory, never pickled). Device arrays
are handed over by their backend (``Backend.run_collective``): staged through host memory,
or given to MPI directly when ``TINYNET_MPI_CUDA_AWARE=1`` says that MPI reads GPU memory.

A plain ``python train.py`` is a world of one, with or without mpi4py installed: its
collectives leave tensors unchanged. A rank that raises an uncaught exception aborts the
whole job (MPI_Abort), so the others do not wait forever in a collective.
"""
from __future__ import annotations

import importlib.util
import os
from typing import Any

from ..backend import backend_of, host_dtype
from ..tensor import Tensor
from ..versions import mark_modified
from .world import connect

__all__ = ["ReduceOp", "init_process_group", "is_initialized", "is_available",
           "is_mpi_available", "get_rank", "get_world_size", "get_backend", "all_reduce",
           "broadcast", "barrier", "destroy_process_group"]


class ReduceOp:
    """How ``all_reduce`` combines the ranks' tensors (strings work too: ``"sum"``)."""
    SUM, PRODUCT, MIN, MAX, AVG = "sum", "product", "min", "max", "avg"


_world: list = []  # the process group once initialised (one element), else empty


def init_process_group(backend: str | None = "mpi", init_method: str | None = None,
                       timeout: Any = None, world_size: int = -1, rank: int = -1) -> None:
    """Join the process group: every rank started by ``mpiexec -n N``, or this process alone.

    Args:
        backend: ``"mpi"`` (or None); tinynet has no other.
        init_method, timeout: accepted for PyTorch's sake; MPI needs neither (mpiexec
            connects the ranks and ends the job when one of them dies).
        world_size, rank: if given, checked against what MPI reports.
    """
    if _world:
        raise ValueError("trying to initialize the default process group twice!")
    if backend is not None and str(backend).lower() != "mpi":
        raise ValueError(f"tinynet.distributed runs on MPI only (backend='mpi', launched by "
                         f"mpiexec), got backend={backend!r}")
    world = connect()
    for name, given, actual in (("world_size", world_size, world.size), ("rank", rank, world.rank)):
        if given not in (-1, None) and given != actual:
            raise ValueError(f"init_process_group({name}={given}), but MPI reports "
                             f"{name}={actual} (set by mpiexec -n)")
    if world.size > 1:
        world.abort_on_uncaught_exception()
    _world.append(world)


def is_initialized() -> bool:
    return bool(_world)


def is_available() -> bool:
    """True: the package works, as a world of one without MPI."""
    return True


def is_mpi_available() -> bool:
    """Whether mpi4py is installed (looked up without importing it: importing mpi4py
    starts MPI)."""
    return importlib.util.find_spec("mpi4py") is not None


def _group(group: Any = None) -> Any:
    if group is not None:
        raise ValueError("tinynet.distributed has one process group (group=None)")
    if not _world:
        raise ValueError("Default process group has not been initialized, please make sure "
                         "to call init_process_group.")
    return _world[0]


def get_rank(group: Any = None) -> int:
    """This process's rank, 0 <= rank < world size."""
    return _group(group).rank


def get_world_size(group: Any = None) -> int:
    """How many ranks the process group holds."""
    return _group(group).size


def get_backend(group: Any = None) -> str:
    return _group(group).name


def all_reduce_array(array: Any, op: str = ReduceOp.SUM) -> None:
    """``all_reduce`` on a backend array, in place (what DistributedDataParallel calls on
    its flat gradient buffers)."""
    world, op = _group(), _op_name(op)
    if op == ReduceOp.AVG and host_dtype(array.dtype).kind != "f":
        raise TypeError(f"all_reduce(op=AVG) needs a floating point tensor, got {array.dtype}")
    if world.size == 1:
        return

    def collective(host):
        world.all_reduce(host, "sum" if op == ReduceOp.AVG else op)
        if op == ReduceOp.AVG:
            host /= world.size
    backend_of(array).run_collective(array, collective, _cuda_aware())


def broadcast_array(array: Any, src: int = 0) -> None:
    """``broadcast`` on a backend array, in place."""
    world = _group()
    if not 0 <= src < world.size:
        raise ValueError(f"broadcast: src={src} is not a rank of this world of {world.size}")
    if world.size > 1:
        backend_of(array).run_collective(array, lambda h: world.broadcast(h, src), _cuda_aware())


def shared_memory(nbytes: int, wanted: bool = True) -> Any:
    """Memory that every rank maps: a ``world.SharedMemory`` with ``nbytes`` per rank when
    all ranks run on this machine and want it (DistributedDataParallel reduces host
    gradients through it), else None on every rank. Collective."""
    return _group().shared_memory(nbytes, wanted)


def all_reduce(tensor: Tensor, op: str = ReduceOp.SUM, group: Any = None,
               async_op: bool = False) -> Any:
    """Combine ``tensor`` across all ranks, in place: every rank ends with the sum (``op``:
    ``ReduceOp.SUM``, ``PRODUCT``, ``MIN``, ``MAX``, ``AVG``) of all ranks' values.
    The mean is the sum divided by ``get_world_size()`` (or ``op=ReduceOp.AVG``).
    ``async_op=True`` returns a finished handle (the call itself is blocking)."""
    _group(group)
    all_reduce_array(_array_of(tensor, "all_reduce"), op)
    mark_modified(tensor)
    return _Done() if async_op else None


def broadcast(tensor: Tensor, src: int = 0, group: Any = None, async_op: bool = False) -> Any:
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every rank, in place."""
    _group(group)
    broadcast_array(_array_of(tensor, "broadcast"), src)
    mark_modified(tensor)
    return _Done() if async_op else None


def barrier(group: Any = None, async_op: bool = False) -> Any:
    """Return once every rank has called ``barrier``."""
    _group(group).barrier()
    return _Done() if async_op else None


def destroy_process_group(group: Any = None) -> None:
    """Leave the process group (MPI itself stays up until the process exits)."""
    _group(group).close()
    _world.clear()


class _Done:
    """The handle of an ``async_op`` call, which has already finished."""

    def wait(self, timeout: Any = None) -> bool:
        return True

    def is_completed(self) -> bool:
        return True


def _op_name(op: Any) -> str:
    """"sum", "product", "min", "max" or "avg" from a ReduceOp or a string ("ReduceOp.SUM")."""
    name = str(op).lower().rsplit(".", 1)[-1]
    name = {"prod": "product", "mean": "avg"}.get(name, name)
    if name not in ("sum", "product", "min", "max", "avg"):
        raise ValueError(f"unknown reduce op {op!r}: expected ReduceOp.SUM, PRODUCT, MIN, "
                         "MAX or AVG")
    return name


def _array_of(tensor: Any, what: str) -> Any:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{what} expects a tinynet Tensor, got {type(tensor).__name__}")
    return tensor.array


def _cuda_aware() -> bool:
    """Whether to hand GPU arrays to MPI directly: only when told the MPI library reads
    device memory (a CUDA-aware build); the pip wheel of MPICH does not."""
    return os.environ.get("TINYNET_MPI_CUDA_AWARE", "") == "1"

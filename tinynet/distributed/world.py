"""The worlds a process group can be: MPI's ranks (through mpi4py, imported only here and only
when a group is initialised), or a plain ``python`` run's world of one."""
from __future__ import annotations

import os
import sys
import time
from typing import Any

import numpy as np

# Set by the common MPI launchers in every process they start, to the number of processes.
LAUNCHER_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE",
                      "SLURM_STEP_NUM_TASKS")
INSTALL_HINT = "pip install 'tinynet[mpi]' (mpi4py and MPICH)"
# Set to 0 to make DistributedDataParallel reduce through MPI_Allreduce even when every rank
# runs on one machine (see MPIWorld.shared_memory).
SHARED_MEMORY_VARIABLE = "TINYNET_MPI_SHARED_MEMORY"


class OneProcess:
    """The world of a plain ``python`` run: one rank, collectives change nothing."""
    rank, size, name = 0, 1, "mpi"

    def all_reduce(self, host: Any, op: str) -> None:
        pass

    def broadcast(self, host: Any, src: int) -> None:
        pass

    def barrier(self) -> None:
        pass

    def shared_memory(self, nbytes: int, wanted: bool) -> None:
        return None

    def close(self) -> None:
        pass


class MPIWorld:
    """The ranks started by mpiexec, through a private copy of MPI_COMM_WORLD."""
    name = "mpi"

    def __init__(self, MPI: Any) -> None:
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD.Dup()  # our messages never mix with the program's own
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.ops = {"sum": MPI.SUM, "product": MPI.PROD, "min": MPI.MIN, "max": MPI.MAX}
        # The ranks that share this one's memory (its machine): all of them, or fewer.
        self.node = self.comm.Split_type(MPI.COMM_TYPE_SHARED)
        self.one_node = self.node.Get_size() == self.size
        self.shared: list = []  # the SharedMemory blocks handed out, freed by close()

    def all_reduce(self, host: Any, op: str) -> None:
        self.comm.Allreduce(self.MPI.IN_PLACE, host, op=self.ops[op])

    def broadcast(self, host: Any, src: int) -> None:
        self.comm.Bcast(host, root=src)

    def barrier(self) -> None:
        self.comm.Barrier()

    def shared_memory(self, nbytes: int, wanted: bool) -> SharedMemory | None:
        """``nbytes`` of memory for each rank that every rank can read and write (an MPI-3
        shared-memory window), if every rank runs on this machine and every rank ``wanted``
        it; else None, on every rank alike. Collective: all ranks call it in the same order."""
        wanted = wanted and os.environ.get(SHARED_MEMORY_VARIABLE, "1") != "0"
        agreed = np.array([int(wanted and self.one_node)])
        self.comm.Allreduce(self.MPI.IN_PLACE, agreed, op=self.MPI.MIN)
        if not agreed[0]:
            return None
        try:
            window = self.MPI.Win.Allocate_shared(nbytes, 1, comm=self.node)
        except self.MPI.Exception as error:
            raise RuntimeError(f"tinynet.distributed: rank {self.rank} could not map "
                               f"{nbytes} bytes of shared memory ({error}); set "
                               f"{SHARED_MEMORY_VARIABLE}=0 to reduce through MPI_Allreduce "
                               "instead") from error
        block = SharedMemory(self, window)
        self.shared.append(block)
        return block

    def close(self) -> None:
        for block in self.shared:
            block.close()
        self.shared.clear()
        self.node.Free()
        self.comm.Free()

    def abort_on_uncaught_exception(self) -> None:
        """After Python prints an uncaught exception's traceback, end every rank (MPI_Abort):
        the other ranks would otherwise wait forever in their next collective."""
        if getattr(sys.excepthook, "aborts_mpi", False):
            return  # installed by an earlier process group of this process
        previous, MPI, where = sys.excepthook, self.MPI, f"rank {self.rank} of {self.size}"

        def hook(kind, value, traceback):
            previous(kind, value, traceback)
            sys.stderr.write(f"tinynet.distributed: {where} stopped on {kind.__name__}; "
                             "aborting all ranks\n")
            sys.stderr.flush()
            # mpiexec forwards each rank's output through a pipe and drops what is still
            # in it when the job is aborted: give it a moment to pass the traceback on.
            time.sleep(0.5)
            MPI.COMM_WORLD.Abort(1)
        hook.aborts_mpi = True
        sys.excepthook = hook


class SharedMemory:
    """One block of memory per rank, mapped by every rank of the machine (MPI_Win_allocate_
    shared): ``blocks[r]`` is rank r's, as bytes. A rank writes its own block, calls
    ``fence()``, then reads everyone's; no rank passes a fence before all have reached it."""

    def __init__(self, world: MPIWorld, window: Any) -> None:
        self.world, self.window = world, window
        window.Lock_all(world.MPI.MODE_NOCHECK)  # a passive epoch, for Sync to order memory
        self.blocks = [window.Shared_query(r)[0] for r in range(world.size)]

    def fence(self) -> None:
        """Make this rank's writes visible to all and wait for every rank's."""
        self.window.Sync()
        self.world.comm.Barrier()
        self.window.Sync()

    @property
    def closed(self) -> bool:
        return not self.blocks

    def close(self) -> None:
        self.blocks.clear()
        self.window.Unlock_all()
        self.window.Free()


def launched_size() -> int:
    """How many ranks the launcher that started this process says it started (1: none)."""
    sizes = [os.environ.get(name, "") for name in LAUNCHER_VARIABLES]
    return max([int(s) for s in sizes if s.isdigit()], default=1)


def import_mpi() -> Any:
    try:
        from mpi4py import MPI
    except (ImportError, RuntimeError) as error:  # RuntimeError: no MPI library to load
        return error
    return MPI


def connect() -> Any:
    """The world this process belongs to: MPI's when mpi4py loads (a plain ``python`` run is
    then MPI's world of one), else a world of one, unless a launcher started several
    processes, which cannot meet without MPI."""
    MPI = import_mpi()
    if not isinstance(MPI, Exception):
        return MPIWorld(MPI)
    if launched_size() > 1:
        raise RuntimeError(f"this process was started by an MPI launcher for "
                           f"{launched_size()} processes, but mpi4py cannot be loaded ({MPI}); "
                           f"{INSTALL_HINT}")
    return OneProcess()

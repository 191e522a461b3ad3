"""Programs that tests/test_distributed.py runs on several ranks: ``mpiexec -n N python
tests/mpi_programs.py CASE``. Each rank checks what it can see and asserts; a failed
assertion aborts the whole job (tinynet.distributed's MPI_Abort on an uncaught exception),
so the test sees a non-zero exit status and the traceback. Lines starting with ``RESULT``
carry JSON for the test to check further (and figures to report).
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time

import numpy as np

import tinynet as tn
import tinynet.distributed as dist
import tinynet.nn.functional as F
from tinynet import nn
from tinynet.nn.parallel import DistributedDataParallel
from tinynet.utils.data import DataLoader, DistributedSampler, TensorDataset


def report(**values) -> None:
    print("RESULT " + json.dumps(dict(rank=dist.get_rank(), **values)), flush=True)


def rows(values) -> np.ndarray:
    """Every rank's ``values`` (a flat array, the same length on all ranks) as the rows of
    one (world size, n) array, on every rank: an all_reduce of zeros holding one row each."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    table = np.zeros((dist.get_world_size(), values.size))
    table[dist.get_rank()] = values
    t = tn.tensor(table)
    dist.all_reduce(t)
    return t.numpy()


def flat_parameters(model: nn.Module) -> np.ndarray:
    return np.concatenate([p.numpy().reshape(-1) for p in model.parameters()])


def mlp(n_in: int = 6, hidden: int = 8, n_out: int = 3) -> nn.Module:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.Tanh(), nn.Linear(hidden, n_out))


# ---- the cases ----------------------------------------------------------------------------
def collectives() -> None:
    rank, world = dist.get_rank(), dist.get_world_size()
    assert dist.is_initialized() and dist.get_backend() == "mpi"
    assert world == int(os.environ["PMI_SIZE"]) and rank == int(os.environ["PMI_RANK"])
    ranks = np.arange(world, dtype=np.float32) + 1
    t = tn.tensor([1.0, -2.0]) * (rank + 1)
    dist.all_reduce(t)
    assert t.tolist() == [ranks.sum(), -2 * ranks.sum()]
    assert (t / world).tolist() == [ranks.mean(), -2 * ranks.mean()]  # the mean
    for op, expect in [(dist.ReduceOp.MAX, world), (dist.ReduceOp.MIN, 1),
                       (dist.ReduceOp.PRODUCT, np.prod(ranks)), ("avg", ranks.mean())]:
        t = tn.tensor([float(rank + 1)])
        dist.all_reduce(t, op=op)
        assert t.item() == expect, (op, t.item(), expect)
    counts = tn.tensor([rank, 1])  # int64
    dist.all_reduce(counts)
    assert counts.dtype == tn.int64 and counts.tolist() == [world * (world - 1) // 2, world]
    src = world - 1
    b = tn.tensor(np.full((2, 3), rank, dtype=np.float64))
    assert dist.broadcast(b, src=src, async_op=True).wait()
    assert (b.numpy() == src).all() and b.dtype == tn.float64
    base = tn.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3) * (rank + 1))
    view = base.data.T  # a strided view: reduced through a contiguous copy, written back
    dist.all_reduce(view)
    assert (base.numpy() == np.arange(6.0).reshape(2, 3) * ranks.sum()).all()
    w = tn.tensor([1.0, 2.0], requires_grad=True)
    x = tn.tensor([3.0, 4.0])
    y = (w * x).sum()
    dist.all_reduce(x)  # x was saved for y's backward: the write must be noticed
    try:
        y.backward()
        raise AssertionError("backward used a tensor changed by all_reduce")
    except RuntimeError as error:
        assert "modified by an inplace operation" in str(error)
    for call, kind in [(lambda: dist.all_reduce(np.ones(2)), TypeError),
                       (lambda: dist.broadcast(tn.ones(2), src=world), ValueError),
                       (lambda: dist.all_reduce(tn.ones(2), op="median"), ValueError),
                       (lambda: dist.all_reduce(tn.tensor([1, 2]), op="avg"), TypeError)]:
        try:
            call()
            raise AssertionError(f"no {kind.__name__}")
        except kind:
            pass
    if _has_strict():  # a device array (the strict backend stands in for a GPU): staged
        s = tn.tensor([float(rank + 1), 1.0], device="strict")
        dist.all_reduce(s)
        assert s.device == tn.device("strict") and s.tolist() == [ranks.sum(), world]
        dist.broadcast(s, src=src)
    dist.barrier()
    report(world=world, strict=_has_strict())


def sampler() -> None:
    """DistributedSampler takes its world size and rank from the process group."""
    parts = {}
    for n, shuffle, drop_last in [(10, False, False), (11, False, True), (7, True, False)]:
        s = DistributedSampler(range(n), shuffle=shuffle, drop_last=drop_last)
        assert (s.num_replicas, s.rank) == (dist.get_world_size(), dist.get_rank())
        s.set_epoch(3)
        parts[f"{n},{shuffle},{drop_last}"] = list(s)
    x = tn.arange(20).float()
    loader = DataLoader(TensorDataset(x), batch_size=4, sampler=DistributedSampler(x, seed=5))
    seen = np.concatenate([b.numpy() for (b,) in loader])
    assert len(loader) == int(rows([len(loader)]).max())  # the same number of steps everywhere
    report(parts=parts, seen=seen.tolist())


def ddp() -> None:
    rank = dist.get_rank()
    tn.manual_seed(100 + rank)  # each rank starts from different weights...
    model = mlp()
    before = rows(flat_parameters(model))
    assert not (before == before[0]).all()
    ddp = DistributedDataParallel(model)
    after = rows(flat_parameters(model))  # ...and DDP makes them rank 0's
    assert (after == before[0]).all() and ddp.module is model
    assert list(ddp.module.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert list(ddp.state_dict()) == ["module." + k for k in model.state_dict()]

    # Gradient averaging: each rank its own data; .grad is the mean of the local gradients.
    twin = mlp()
    twin.load_state_dict(model.state_dict())
    tn.manual_seed(rank)
    x, y = tn.randn(5, 6), tn.randint(0, 3, (5,))
    F.cross_entropy(twin(x), y).backward()
    local = np.concatenate([p.grad.numpy().reshape(-1) for p in twin.parameters()])
    F.cross_entropy(ddp(x), y).backward()
    reduced = np.concatenate([p.grad.numpy().reshape(-1) for p in model.parameters()])
    expected = rows(local).mean(axis=0)
    assert np.abs(reduced - expected).max() <= 1e-6 * np.abs(expected).max()
    everywhere = rows(reduced)
    assert (everywhere == everywhere[0]).all()  # bit-identical on every rank

    # no_sync: local accumulation, then one reduction of the sum.
    ddp.zero_grad()
    twin.zero_grad()
    with ddp.no_sync():
        F.cross_entropy(ddp(x), y).backward()
    local_once = np.concatenate([p.grad.numpy().reshape(-1) for p in model.parameters()])
    assert np.allclose(local_once, local)  # not averaged yet
    F.cross_entropy(ddp(x * 2), y).backward()
    F.cross_entropy(twin(x), y).backward()
    F.cross_entropy(twin(x * 2), y).backward()
    local_two = np.concatenate([p.grad.numpy().reshape(-1) for p in twin.parameters()])
    got = np.concatenate([p.grad.numpy().reshape(-1) for p in model.parameters()])
    assert np.allclose(got, rows(local_two).mean(axis=0), rtol=1e-5, atol=1e-7)

    with tn.no_grad():  # evaluation records nothing and reduces nothing
        assert ddp(x).grad_fn is None

    if _has_strict():  # a model on a device (the strict backend stands in for a GPU)
        twin.zero_grad()
        on_device = DistributedDataParallel(twin.to("strict"))
        F.cross_entropy(on_device(x.to("strict")), y.to("strict")).backward()
        grads = np.concatenate([p.grad.numpy().reshape(-1) for p in twin.parameters()])
        assert all(p.grad.device == tn.device("strict") for p in twin.parameters())
        assert np.allclose(grads, expected, rtol=1e-5, atol=1e-7)
    report(max_grad_error=float(np.abs(reduced - expected).max()))


class TwoHeads(nn.Module):
    """Head ``a`` is used on every rank, ``b`` on rank 0 only, ``c`` nowhere."""

    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = nn.Linear(4, 2), nn.Linear(4, 2), nn.Linear(4, 2)

    def forward(self, x):
        out = self.a(x)
        return out + self.b(x) if dist.get_rank() == 0 else out


def unused_parameters() -> None:
    tn.manual_seed(0)
    model = TwoHeads()
    ddp = DistributedDataParallel(model, find_unused_parameters=True)
    x = tn.ones(3, 4)
    ddp(x).sum().backward()
    world = dist.get_world_size()
    assert np.allclose(model.b.weight.grad.numpy(), 3.0 / world)  # rank 0's, over N ranks
    assert np.allclose(model.a.weight.grad.numpy(), 3.0)
    assert model.c.weight.grad is None and model.c.bias.grad is None
    report(ok=True)


class Counter(nn.Module):
    """A buffer ``seen`` that forward changes, as BatchNorm's running statistics."""

    def __init__(self, start: float):
        super().__init__()
        self.lin = nn.Linear(2, 2)
        self.register_buffer("seen", tn.tensor([start]))

    def forward(self, x):
        self.seen.data += 1
        return self.lin(x)


def buffers() -> None:
    """Buffers come from rank 0, at construction and at each training forward."""
    rank = dist.get_rank()
    model = Counter(float(rank))
    ddp = DistributedDataParallel(model)
    assert model.seen.item() == 0.0  # rank 0's
    ddp(tn.ones(1, 2)).sum().backward()
    with tn.no_grad():
        model.seen.data += rank  # drift apart...
    ddp(tn.ones(1, 2))           # ...until the next training forward copies rank 0's
    assert model.seen.item() == 2.0
    ddp.eval()
    model.seen.data += rank      # in evaluation mode, buffers are left alone
    ddp(tn.ones(1, 2))
    assert model.seen.item() == 3.0 + rank
    report(ok=True)


def batchnorm(steps: str = "3") -> None:
    """BatchNorm's running statistics under DDP, as in PyTorch: rank 0's at construction
    (every rank starts from different ones), and rank 0's again at the start of every
    training forward, which each rank then updates with its own batch. The first layer is
    a BatchNorm on the input, so its statistics depend on the data alone and are checked
    exactly against a lone BatchNorm1d fed the same batches."""
    rank, world = dist.get_rank(), dist.get_world_size()
    tn.manual_seed(rank)  # different weights on every rank, and different statistics:
    model = nn.Sequential(nn.BatchNorm1d(6), nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(),
                          nn.Linear(8, 3))
    for bn in (model[0], model[2]):
        bn.running_mean.data += rank + 1
        bn.running_var.data *= rank + 2
        bn.num_batches_tracked.data += 10 * rank
    ddp = DistributedDataParallel(model)
    state = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    everywhere = rows(np.concatenate([v.reshape(-1) for v in state.values()]))
    assert (everywhere == everywhere[0]).all(), "parameters and buffers differ after wrapping"
    assert state["0.running_mean"][0] == 1 and state["2.num_batches_tracked"] == 0  # rank 0's
    rng = np.random.default_rng(5)  # the same stream on every rank: all batches known
    batches = rng.standard_normal((int(steps), world, 4, 6)).astype(np.float32) * 3 + 2
    labels = rng.integers(0, 3, (int(steps), world, 4))
    lone = nn.BatchNorm1d(6)  # rank 0's first BatchNorm, replayed
    lone.load_state_dict({k[2:]: v for k, v in state.items() if k.startswith("0.")})
    opt = tn.optim.SGD(ddp.parameters(), lr=0.1)
    for step in range(int(steps)):
        before = {k: v.numpy().copy() for k, v in lone.state_dict().items()}
        opt.zero_grad()
        F.cross_entropy(ddp(tn.tensor(batches[step, rank])),
                        tn.tensor(labels[step, rank])).backward()
        opt.step()
        mine = nn.BatchNorm1d(6)  # rank 0's statistics, then this rank's batch
        mine.load_state_dict(before)
        mine(tn.tensor(batches[step, rank]))
        np.testing.assert_allclose(model[0].running_mean.numpy(), mine.running_mean.numpy(),
                                   rtol=1e-6)
        np.testing.assert_allclose(model[0].running_var.numpy(), mine.running_var.numpy(),
                                   rtol=1e-6)
        lone(tn.tensor(batches[step, 0]))  # rank 0's statistics move with rank 0's batches
    assert model[2].num_batches_tracked.item() == int(steps)
    params = rows(flat_parameters(model))
    stats = rows(model[2].running_var.numpy())  # (its mean is W·b₀ + b on every rank)
    report(params_identical=bool((params == params[0]).all()),
           stats_differ=bool((stats != stats[0]).any()),
           running_mean=model[0].running_mean.numpy().tolist())


def mismatch() -> None:
    """Ranks with different models fail together, with a message, instead of hanging."""
    model = mlp(hidden=8 + dist.get_rank())
    try:
        DistributedDataParallel(model)
    except RuntimeError as error:
        assert "the model differs between ranks" in str(error)
        report(error=str(error)[:120])
        return
    raise AssertionError("a model mismatch went unnoticed")


def equivalence(batch: str = "24", steps: str = "5") -> None:
    """N ranks at batch B/N (DistributedSampler's split of each batch) against one process
    at batch B, both from the same weights, SGD with momentum: the parameters must agree to
    float32 rounding, and be bit-identical on every rank."""
    rank, batch = dist.get_rank(), int(batch)
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((int(steps), batch, 20)).astype(np.float32)
    ys = rng.integers(0, 10, (int(steps), batch))
    tn.manual_seed(0)
    single = mlp(20, 32, 10)
    tn.manual_seed(rank + 1)  # DDP must bring rank 0's weights to everyone
    model = mlp(20, 32, 10)
    if rank == 0:
        model.load_state_dict(single.state_dict())
    ddp = DistributedDataParallel(model)
    opt_single = tn.optim.SGD(single.parameters(), lr=0.1, momentum=0.9)
    opt = tn.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    share = list(DistributedSampler(range(batch), shuffle=False))  # B/N indices
    for x, y in zip(xs, ys):
        opt_single.zero_grad()
        F.cross_entropy(single(tn.tensor(x)), tn.tensor(y)).backward()
        opt_single.step()
        opt.zero_grad()
        F.cross_entropy(ddp(tn.tensor(x[share])), tn.tensor(y[share])).backward()
        opt.step()
    ours, reference = flat_parameters(model), flat_parameters(single)
    everywhere = rows(ours)
    report(max_abs_diff=float(np.abs(ours - reference).max()),
           max_abs_param=float(np.abs(reference).max()),
           identical_on_all_ranks=bool((everywhere == everywhere[0]).all()))


def epoch(samples: str = "1536", batch: str = "32") -> None:
    """A whole epoch of shuffled batches with dropout: the ranks stay bit-identical."""
    rng = np.random.default_rng(1)
    x = tn.tensor(rng.standard_normal((int(samples), 20)).astype(np.float32))
    y = tn.tensor(rng.integers(0, 10, int(samples)))
    data = TensorDataset(x, y)
    sampler = DistributedSampler(data, seed=3)
    loader = DataLoader(data, batch_size=int(batch) // dist.get_world_size(), sampler=sampler)
    tn.manual_seed(dist.get_rank())  # different dropout masks on every rank, as in PyTorch
    model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, 10))
    ddp = DistributedDataParallel(model)
    opt = tn.optim.SGD(ddp.parameters(), lr=0.05, momentum=0.9, nesterov=True,
                       weight_decay=5e-4)
    sampler.set_epoch(1)
    steps = 0
    for xb, yb in loader:
        opt.zero_grad()
        F.cross_entropy(ddp(xb), yb).backward()
        opt.step()
        steps += 1
    everywhere = rows(flat_parameters(model))
    report(steps=steps, identical_on_all_ranks=bool((everywhere == everywhere[0]).all()))


def reduction_paths(steps: str = "12") -> None:
    """The two ways of summing gradients, side by side on the same data: through shared
    memory (every rank on this machine; one bucket, and many small ones) and through
    MPI_Allreduce. A head that only rank 0 uses and one that nobody uses; ranks that take
    turns being slow, so that one packs its next step while another still reads the last."""
    rank, world = dist.get_rank(), dist.get_world_size()
    tn.manual_seed(7)
    models = [TwoHeads() for _ in range(3)]
    for model in models[1:]:
        model.load_state_dict(models[0].state_dict())
    small = 16 / 2 ** 20  # MB: one parameter per bucket
    wrapped = [DistributedDataParallel(models[0]),
               DistributedDataParallel(models[1], bucket_cap_mb=small)]
    os.environ["TINYNET_MPI_SHARED_MEMORY"] = "0"
    wrapped.append(DistributedDataParallel(models[2], bucket_cap_mb=small))
    del os.environ["TINYNET_MPI_SHARED_MEMORY"]
    assert [len(w._buckets) for w in wrapped] == [1, 6, 6]
    assert all(b.shared for w in wrapped[:2] for b in w._buckets)
    assert not any(b.shared for b in wrapped[2]._buckets)
    optimizers = [tn.optim.SGD(w.parameters(), lr=0.1, momentum=0.9) for w in wrapped]
    step = 0  # the step of the loop below
    for bucket in wrapped[0]._buckets + wrapped[1]._buckets:
        def fence(fence=bucket.shared.fence):  # a rank held up just after the fence, as if
            fence()                            # the system paused it: the others run ahead
            if step % world == rank:
                time.sleep(0.01)
        bucket.shared.fence = fence
    rng = np.random.default_rng(rank)
    xs = [tn.tensor(rng.standard_normal((3, 4)).astype(np.float32)) for _ in range(int(steps))]
    grads = []  # each model's steps in a row: nothing else brings the ranks together
    for ddp, optimizer in zip(wrapped, optimizers):
        grads.append([])
        for step, x in enumerate(xs):
            optimizer.zero_grad()
            (ddp(x) ** 2).mean().backward()
            grads[-1].append(np.concatenate([p.grad.numpy().reshape(-1)
                                             for p in ddp.parameters() if p.grad is not None]))
            optimizer.step()
            assert ddp.module.c.weight.grad is None
    for ours in grads[:2]:
        for step, (a, b) in enumerate(zip(ours, grads[2])):
            assert a.shape == b.shape and np.abs(a - b).max() <= (
                0 if world == 2 else 1e-6 * np.abs(b).max()), (step, a, b)
    mine = [flat_parameters(model) for model in models]
    everywhere = rows(np.concatenate(mine[:2]))
    assert (everywhere == everywhere[0]).all()  # bit-identical on every rank
    loss = (wrapped[0](xs[0]) ** 2).mean()
    dist.destroy_process_group()  # the shared memory is gone with the group: a clear error
    try:
        loss.backward()
        raise AssertionError("a reduction after destroy_process_group went through")
    except RuntimeError as error:
        assert "process group was destroyed" in str(error), error
    dist.init_process_group("mpi")
    report(max_difference=float(max(np.abs(m - mine[2]).max() for m in mine[:2])))


def rank_raises() -> None:
    """Rank 1 fails while the others wait in a collective: the job must end, not hang."""
    if dist.get_rank() == 1:
        raise ValueError("rank 1 fails on purpose")
    dist.all_reduce(tn.ones(3))


def rank_killed() -> None:
    """Rank 1 dies without a word (SIGKILL): mpiexec must end the others."""
    if dist.get_rank() == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    dist.all_reduce(tn.ones(3))


def _has_strict() -> bool:
    try:
        import array_api_strict  # noqa: F401
    except ImportError:
        return False
    return True


CASES = {f.__name__: f for f in [collectives, sampler, ddp, unused_parameters, buffers, batchnorm,
                                 mismatch, equivalence, epoch, reduction_paths, rank_raises,
                                 rank_killed]}

if __name__ == "__main__":
    dist.init_process_group("mpi")
    CASES[sys.argv[1]](*sys.argv[2:])
    dist.destroy_process_group()

"""Data-parallel training on MPI against one process on the same cores: epoch time, the
cost of the gradient allreduce, and how exactly N ranks reproduce one process.

    python benchmarks/bench_distributed.py                    # MLP at batch 128 and 512
    python benchmarks/bench_distributed.py --rounds 5 --markdown results.md --json r.json
    python benchmarks/bench_distributed.py --smoke            # a few hundred samples, for CI

Contenders, alternated round by round (A B C D, B C D A, ...) so that drift of a shared
machine hits them alike:

    single      1 process x T BLAS threads   (python: DistributedDataParallel on a world of one)
    ranks       N ranks x T/N BLAS threads    (mpiexec -n N; each rank B/N samples of a batch B),
                gradients summed through shared memory (all ranks on this machine)
    allreduce   the same ranks, gradients summed by MPI_Allreduce (TINYNET_MPI_SHARED_MEMORY=0:
                what ranks on several machines do)
    one-thread  1 process x T/N BLAS threads  (what each rank would do alone: the speedup)

Both train the MLP 784-512-512-10 (SGD, lr 0.1, momentum 0.9) on MNIST in the order of
DistributedSampler(seed=0): a global batch holds the same samples in both. Each timed
epoch follows a warm-up of a few steps. Measured inside the ranks: the time of the gradient
reduction per step (pack, sum over ranks, unpack; it also waits for the slower rank) and,
after training, the same reduction alone, every rank having passed a barrier first.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
HIDDEN = [512, 512]


# ---- the worker: one process of a contender -------------------------------------------------
def build(seed: int = 0):
    import tinynet as tn
    from tinynet import nn
    tn.manual_seed(seed)
    layers, width = [nn.Flatten()], 784
    for size in HIDDEN:
        layers += [nn.Linear(width, size), nn.ReLU()]
        width = size
    return nn.Sequential(*layers, nn.Linear(width, 10))


def rows(values):
    """Every rank's values as the rows of one array (an all_reduce of zeros, one row each)."""
    import tinynet as tn
    import tinynet.distributed as dist
    table = np.zeros((dist.get_world_size(), len(values)))
    table[dist.get_rank()] = values
    t = tn.tensor(table)
    dist.all_reduce(t)
    return t.numpy()


def worker(args: argparse.Namespace) -> dict:
    import tinynet as tn
    import tinynet.distributed as dist
    import tinynet.nn.functional as F
    from tinynet.data import MNIST
    from tinynet.nn.parallel import DistributedDataParallel
    from tinynet.utils.data import DataLoader, DistributedSampler, Subset

    dist.init_process_group("mpi")
    world, rank = dist.get_world_size(), dist.get_rank()
    train = MNIST(train=True, download=False)
    if args.examples < len(train):
        train = Subset(train, range(args.examples))
    model = build()
    ddp = DistributedDataParallel(model)
    optimizer = tn.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    sampler = DistributedSampler(train, seed=0)
    loader = DataLoader(train, batch_size=args.batch // world, sampler=sampler)

    reduce_s = []  # per step: the whole reduction
    reduce = ddp.reduce_gradients

    def timed_reduce():
        start = time.perf_counter()
        reduce()
        reduce_s.append(time.perf_counter() - start)
    object.__setattr__(ddp, "reduce_gradients", timed_reduce)  # DDP's forward queues this

    def run(batches, limit=None):
        steps = 0
        for x, y in batches:
            optimizer.zero_grad()
            F.cross_entropy(ddp(x), y).backward()
            optimizer.step()
            steps += 1
            if steps == limit:
                break
        return steps

    run(loader, limit=args.warmup)
    reduce_s.clear()
    epoch_s, steps = [], 0
    for epoch in range(1, args.epochs + 1):
        sampler.set_epoch(epoch)
        dist.barrier()
        start = time.perf_counter()
        steps = run(loader)
        epoch_s.append(time.perf_counter() - start)
    result = {"world": world, "threads": blas_threads(), "batch": args.batch, "steps": steps,
              "epoch_s": [float(t) for t in rows(epoch_s).max(axis=0)]}
    if world > 1:
        params = np.concatenate([p.numpy().reshape(-1) for p in model.parameters()])
        everywhere = rows(params)
        result.update(
            identical_on_all_ranks=bool((everywhere == everywhere[0]).all()),
            reduce_ms=1e3 * statistics.median(reduce_s),
            reduce_alone_ms=reduce_alone(reduce, args.repeats),
            path="shared memory" if ddp._buckets[0].shared else "MPI_Allreduce",
            gradient_values=int(sum(b.numel for b in ddp._buckets)))
    dist.destroy_process_group()
    return result if rank == 0 else {}


def reduce_alone(reduce, repeats: int) -> float:
    """Median ms of the reduction of the last step's gradients, every rank having arrived
    first (no waiting for a slower rank)."""
    import tinynet.distributed as dist
    times = []
    for _ in range(repeats):
        dist.barrier()
        start = time.perf_counter()
        reduce()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def exactness(args: argparse.Namespace) -> dict:
    """N ranks at B/N against one process at B (computed on every rank), 5 SGD steps with
    momentum on MNIST batches, from the same weights: max |difference| of the parameters."""
    import tinynet as tn
    import tinynet.distributed as dist
    import tinynet.nn.functional as F
    from tinynet.data import MNIST
    from tinynet.nn.parallel import DistributedDataParallel
    from tinynet.utils.data import DistributedSampler

    dist.init_process_group("mpi")
    train = MNIST(train=True, download=False)
    single, model = build(), build(seed=1 + dist.get_rank())  # DDP brings rank 0's...
    if dist.get_rank() == 0:
        model.load_state_dict(single.state_dict())         # ...which are single's
    ddp = DistributedDataParallel(model)
    opt_single = tn.optim.SGD(single.parameters(), lr=0.1, momentum=0.9)
    opt = tn.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    share = tn.tensor(list(DistributedSampler(range(args.batch), shuffle=False)))  # B/N rows
    for step in range(5):
        index = tn.arange(step * args.batch, (step + 1) * args.batch)
        x, y = train.data[index].float() / 255, train.targets[index]
        for net, optimizer, xb, yb in ((single, opt_single, x, y),
                                       (ddp, opt, x[share], y[share])):
            optimizer.zero_grad()
            F.cross_entropy(net(xb), yb).backward()
            optimizer.step()
    ours = np.concatenate([p.numpy().reshape(-1) for p in model.parameters()])
    theirs = np.concatenate([p.numpy().reshape(-1) for p in single.parameters()])
    everywhere = rows(ours)
    result = {"world": dist.get_world_size(), "batch": args.batch,
              "max_abs_diff": float(np.abs(ours - theirs).max()),
              "max_abs_param": float(np.abs(theirs).max()),
              "identical_on_all_ranks": bool((everywhere == everywhere[0]).all())}
    rank = dist.get_rank()
    dist.destroy_process_group()
    return result if rank == 0 else {}


def blas_threads() -> int | None:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return max((lib["num_threads"] for lib in threadpool_info()
                if lib.get("user_api") == "blas"), default=None)


# ---- the driver ------------------------------------------------------------------------------
def launch(args: argparse.Namespace, ranks: int, threads: int, batch: int, mode: str,
           shared_memory: bool = True) -> dict:
    """Run a worker as 1 process (python) or N ranks (mpiexec -n N); its rank 0's result."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads), PYTHONUNBUFFERED="1",
               TINYNET_MPI_SHARED_MEMORY="1" if shared_memory else "0")
    command = [sys.executable, os.path.abspath(__file__), f"--{mode}", "--batch", str(batch),
               "--examples", str(args.examples), "--epochs", str(args.epochs),
               "--warmup", str(args.warmup), "--repeats", str(args.repeats)]
    if ranks > 1:
        command = [args.mpiexec, "-n", str(ranks)] + command
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=3600,
                          stdin=subprocess.DEVNULL)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(lines[0][len("RESULT "):])


def summarize(runs: dict, ranks: int) -> dict:
    """Per batch size: median epoch seconds of each contender, their ratio, and the
    reduction's share of a step."""
    table = {}
    for batch, by_name in runs.items():
        epochs = {name: [t for r in results for t in r["epoch_s"]]
                  for name, results in by_name.items()}
        median = {name: statistics.median(times) for name, times in epochs.items()}
        row = {"single_s": median["single"], "one_thread_s": median["one-thread"],
               "single_epochs": epochs["single"], "steps": by_name["ranks"][-1]["steps"],
               "gradient_values": by_name["ranks"][-1]["gradient_values"]}
        for name, key in (("ranks", "ranks"), ("allreduce", "allreduce")):
            step_ms = 1e3 * median[name] / row["steps"]
            reduce_ms = statistics.median(r["reduce_ms"] for r in by_name[name])
            row.update({
                f"{key}_s": median[name], f"{key}_epochs": epochs[name],
                f"{key}_ratio": median[name] / median["single"],
                f"{key}_path": by_name[name][-1]["path"],
                f"{key}_step_ms": step_ms, f"{key}_reduce_ms": reduce_ms,
                f"{key}_reduce_share": reduce_ms / step_ms,
                f"{key}_reduce_alone_ms": statistics.median(r["reduce_alone_ms"]
                                                            for r in by_name[name]),
                f"{key}_identical_on_all_ranks": all(r["identical_on_all_ranks"]
                                                     for r in by_name[name])})
        table[batch] = row
    return table


def markdown(table: dict, ranks: int, threads: int, exact: dict) -> str:
    per = threads // ranks
    lines = [f"{ranks} ranks x {per} BLAS thread against 1 process x {threads} threads; the "
             f"reduction per step, in the step (share of the step) and alone after a barrier",
             "",
             f"| MLP, global batch | 1 process x {threads} threads s/epoch | 1 process x {per} "
             f"thread s/epoch | {ranks} ranks, sum through | s/epoch | ranks/single | speedup "
             "over 1 thread | ms/step | reduction ms/step (share) | reduction alone ms |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for batch, row in table.items():
        for key in ("ranks", "allreduce"):
            lines.append(
                f"| {batch} | {row['single_s']:.2f} | {row['one_thread_s']:.2f} | "
                f"{row[key + '_path']} | {row[key + '_s']:.2f} | {row[key + '_ratio']:.3f} | "
                f"{row['one_thread_s'] / row[key + '_s']:.2f}x | {row[key + '_step_ms']:.2f} | "
                f"{row[key + '_reduce_ms']:.2f} ({100 * row[key + '_reduce_share']:.1f}%) | "
                f"{row[key + '_reduce_alone_ms']:.2f} |")
    lines.append(f"\nExactness, {ranks} ranks at batch {exact['batch']}/{ranks} against one "
                 f"process at {exact['batch']}, 5 SGD-momentum steps: max |difference| "
                 f"{exact['max_abs_diff']:.3g} (largest parameter {exact['max_abs_param']:.3g}); "
                 f"ranks bit-identical: {exact['identical_on_all_ranks']}")
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--batches", type=int, nargs="+", default=[128, 512], help="global batch sizes")
    add("--ranks", type=int, default=2)
    add("--threads", type=int, default=2, help="BLAS threads of the single process; each "
        "rank gets threads/ranks")
    add("--rounds", type=int, default=3, help="alternated rounds; each runs both contenders")
    add("--epochs", type=int, default=1, help="timed epochs per run")
    add("--warmup", type=int, default=20, help="untimed steps before the timed epochs")
    add("--examples", type=int, default=60000, help="a prefix of the training set")
    add("--repeats", type=int, default=50, help="allreduce-alone repetitions")
    add("--smoke", action="store_true", help="1 round, 1,024 examples: for CI")
    add("--mpiexec", default=os.path.join(os.path.dirname(sys.executable), "mpiexec"))
    add("--markdown", metavar="PATH")
    add("--json", metavar="PATH")
    add("--worker", action="store_true", help=argparse.SUPPRESS)
    add("--exactness", action="store_true", help=argparse.SUPPRESS)
    add("--batch", type=int, default=128, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.smoke:
        args.rounds, args.examples, args.warmup, args.repeats = 1, 1024, 2, 5
    if not os.path.exists(args.mpiexec):
        args.mpiexec = "mpiexec"
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker or args.exactness:
        result = worker(args) if args.worker else exactness(args)
        if result:
            print("RESULT " + json.dumps(result), flush=True)
        return 0
    exact = launch(args, args.ranks, args.threads // args.ranks, 128, "exactness")
    print(f"exactness: {json.dumps(exact)}", flush=True)
    per = args.threads // args.ranks
    contenders = {"single": (1, args.threads), "ranks": (args.ranks, per),
                  "allreduce": (args.ranks, per, False), "one-thread": (1, per)}
    runs = {b: {name: [] for name in contenders} for b in args.batches}
    names = list(contenders)
    for round_ in range(args.rounds):
        for batch in args.batches:
            turn = round_ % len(names)
            for name in names[turn:] + names[:turn]:
                ranks, threads, *shared = contenders[name]
                result = launch(args, ranks, threads, batch, "worker", *shared)
                runs[batch][name].append(result)
                print(f"round {round_ + 1} batch {batch} {name}: {json.dumps(result)}",
                      flush=True)
    table = summarize(runs, args.ranks)
    text = markdown(table, args.ranks, args.threads, exact)
    print(text)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"exactness": exact, "configs": table, "runs": runs}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

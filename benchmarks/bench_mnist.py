"""Train the same MNIST models with tinynet, hand-written NumPy and PyTorch, side by side.

Every contender starts from the same initial weights and sees the same batches (epoch e
visits the samples in the order ``default_rng([seed, e]).permutation(n)``, the sampler of
tinynet's DataLoader here; images are gathered from uint8 and divided by 255 per batch).
Contenders alternate epoch by epoch (A B C, B C A, C A B, ...) so that drift of a shared
machine hits them all alike; the first ``--warmup`` rounds are not timed. Peak memory is
measured in a separate process per contender, since peaks of several libraries in one
process cannot be told apart.

    python benchmarks/bench_mnist.py --markdown results.md --json results.json
    python benchmarks/bench_mnist.py --model cnn      # the CNNs (12,800 examples an epoch)
    python benchmarks/bench_mnist.py --smoke          # about 10 s, for CI
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy_reference as ref  # noqa: E402
from contenders import (CLASSES, CONTENDERS, available, cnn_layers,  # noqa: E402,F401
                        epoch_order, initial_weights, numpy_batches, unsupported)

# name -> (layer sizes or a CNN of contenders.CNNS, batch size)
CONFIGS = {
    "mlp-b128": ([784, 512, 512, 10], 128),
    "mlp-b512": ([784, 512, 512, 10], 512),
    "logreg-b128": ([784, 10], 128),
    "mlp-b4096": ([784, 512, 512, 10], 4096),  # for GPUs (--device cuda)
    "cnn-example-b64": ("cnn-example", 64),     # PyTorch's examples/mnist network
    "cnn-example-b128": ("cnn-example", 128),
    "cnn-default-b128": ("cnn-default", 128),  # train_mnist.py --model cnn
}
CPU_CONFIGS = ["mlp-b128", "mlp-b512", "logreg-b128"]
GPU_CONFIGS = ["mlp-b128", "mlp-b4096"]
CNN_CONFIGS = ["cnn-example-b64", "cnn-example-b128", "cnn-default-b128"]
CNN_EXAMPLES = 12800  # a CNN epoch of the benchmark, unless --examples says otherwise
def load_mnist(data_dir: str | None) -> tuple[np.ndarray, np.ndarray]:
    """The 60,000 training images as uint8 rows (N, 784) and their int64 labels."""
    from tinynet.data import MNIST
    train = MNIST(root=data_dir or None, train=True, download=False)
    return train.data.numpy().reshape(len(train), -1), train.targets.numpy()


def set_threads(n: int) -> list[str]:
    """Limit NumPy's BLAS (threadpoolctl) and PyTorch to ``n`` threads; lines to print."""
    from threadpoolctl import threadpool_info, threadpool_limits
    lines = []
    if "torch" in sys.modules:  # imported first, so its OpenMP runtime is limited too
        torch = sys.modules["torch"]
        torch.set_num_threads(n)
        parallel = torch.__config__.parallel_info().splitlines()
        backend = [s.strip() for s in parallel if "parallel backend" in s]
        lines.append(f"torch {torch.__version__}: {torch.get_num_threads()} threads, "
                     + ", ".join(backend))
    threadpool_limits(n)
    for lib in threadpool_info():
        lines.append(f"{lib['user_api']}: {lib['internal_api']} {lib.get('version')} "
                     f"{lib['num_threads']} threads ({lib['prefix']})")
    return lines


def peak_memory(args: argparse.Namespace) -> None:
    """``--peak-memory NAME``: train NAME for one epoch of each selected config and print
    the process's resident memory (MB) before training and at its peak, as JSON."""
    name = args.peak_memory
    if name == "torch":
        import torch  # noqa: F401  (before set_threads, so its threads are limited too)
    set_threads(args.threads)
    images, labels = load_mnist(args.data_dir)
    result = {}
    for config in args.config:
        sizes, batch_size = CONFIGS[config]
        n = min(len(labels), args.examples or len(labels))
        if unsupported(name, sizes):
            continue
        contender = CLASSES[name](sizes, initial_weights(sizes, args.seed), batch_size,
                                  images[:n], labels[:n], args.seed)
        before = _rss_mb("VmRSS")
        contender.epoch(0)
        result[config] = {"rss_before_training_mb": before, "peak_rss_mb": _rss_mb("VmHWM")}
    print(json.dumps(result))


def _rss_mb(field: str) -> float:
    """This process's resident memory in MB: "VmRSS" now, "VmHWM" at its peak.

    Linux's ru_maxrss is not used: a child started by fork + exec inherits the parent's
    peak in it, so every child would report at least the benchmark process's own peak.
    VmHWM belongs to the address space that exec creates, so it starts afresh.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def minor_faults() -> int:
    """Minor page faults of this process so far: each is a 4 KiB page that the kernel had
    to map (and zero) on first touch, e.g. after malloc handed freed memory back."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def measure_peaks(args, name: str, configs: list[list[str]]) -> dict:
    """Run ``--peak-memory name`` in fresh processes, one per group of configs."""
    peaks = {}
    for group in configs:
        cmd = [sys.executable, os.path.abspath(__file__), "--peak-memory", name,
               "--threads", str(args.threads), "--seed", str(args.seed),
               "--examples", str(args.examples), "--config", *group]
        if args.data_dir:
            cmd += ["--data-dir", args.data_dir]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        peaks.update(json.loads(out.strip().splitlines()[-1]))
    return peaks


def run_config(config: str, names: list[str], images, labels, args) -> dict:
    """Alternate the contenders epoch by epoch; times, examples/s and final losses."""
    sizes, batch_size = CONFIGS[config]
    n = min(len(labels), args.examples or len(labels))
    weights = initial_weights(sizes, args.seed)
    skipped = {name: unsupported(name, sizes) for name in names}
    names = [name for name in names if skipped[name] is None]
    contenders = {name: CLASSES[name](sizes, weights, batch_size, images[:n], labels[:n],
                                      args.seed, args.device) for name in names}
    times = {name: [] for name in names}
    faults = {name: [] for name in names}
    losses, first_losses = {}, {}
    for r in range(args.warmup + args.epochs):
        # Rotate who goes first each round, so no contender always runs right after the
        # same other one (whose worker threads may still be spinning down), and pause
        # briefly between contenders, untimed, to let them.
        for name in names[r % len(names):] + names[:r % len(names)]:
            contender = contenders[name]
            time.sleep(0.2)
            faults_before = minor_faults()
            start = time.perf_counter()
            losses[name] = contender.epoch(r)
            elapsed = time.perf_counter() - start
            first_losses.setdefault(name, losses[name])
            if r >= args.warmup:
                times[name].append(elapsed)
                faults[name].append(minor_faults() - faults_before)
        print(f"  {config} round {r}{' (warm-up)' if r < args.warmup else ''}: "
              + ", ".join(f"{k} {losses[k]:.4f}" for k in names), flush=True)
    result = {"layers": sizes, "batch_size": batch_size, "examples_per_epoch": n,
              "contenders": {}}
    steps = -(-n // batch_size)
    for name in names:
        median = statistics.median(times[name])
        result["contenders"][name] = {"epoch_seconds": times[name], "median_s": median,
                                      "best_s": min(times[name]),
                                      "ms_per_step": 1000 * median / steps,
                                      "page_faults": faults[name],
                                      "page_faults_per_step":
                                          statistics.median(faults[name]) / steps,
                                      "examples_per_s": n / median,
                                      "first_epoch_loss": first_losses[name],
                                      "final_loss": losses[name]}
    result["contenders"].update({name: {"skipped": reason} for name, reason in skipped.items()
                                 if reason})
    return result


def check_losses(result: dict, rtol: float) -> None:
    """Record whether the contenders' losses after the first epoch agree within ``rtol``.

    The first epoch, not the last: the three compute the same math, but float32 rounding
    differs between libraries, and with lr 0.1 and momentum 0.9 those differences grow from
    epoch to epoch (final losses of a 7-epoch run can differ by 10%)."""
    losses = {k: v["first_epoch_loss"] for k, v in result["contenders"].items()
              if "first_epoch_loss" in v}
    spread = (max(losses.values()) - min(losses.values())) / min(losses.values())
    result["loss_agreement"] = {"relative_spread": spread, "rtol": rtol, "ok": spread <= rtol}


def add_ratios(result: dict) -> None:
    """tinynet's median time over each other contender's: below 1 means tinynet is faster."""
    c = result["contenders"]
    if "median_s" in c.get("tinynet", {}):
        result["ratios"] = {f"tinynet/{k}": c["tinynet"]["median_s"] / v["median_s"]
                            for k, v in c.items() if k != "tinynet" and "median_s" in v}


def markdown(results: dict) -> str:
    lines = ["| config | contender | s/epoch (median) | best | ms/step | page faults/step "
             "| examples/s | final loss | peak RSS MB | tinynet/NumPy | tinynet/PyTorch |",
             "|" + " --- |" * 11]
    for config, result in results["configs"].items():
        ratios = result.get("ratios", {})
        for name, c in result["contenders"].items():
            if "skipped" in c:
                lines.append(f"| {config} | {name} | skipped: {c['skipped']} |" + "  |" * 8)
                continue
            r = [f"{ratios[k]:.2f}" if name == "tinynet" and k in ratios else ""
                 for k in ("tinynet/numpy", "tinynet/torch")]
            peak = f"{c['peak_rss_mb']:.0f}" if "peak_rss_mb" in c else ""
            lines.append(f"| {config} | {name} | {c['median_s']:.3f} | {c['best_s']:.3f} "
                         f"| {c['ms_per_step']:.1f} | {c['page_faults_per_step']:,.0f} "
                         f"| {c['examples_per_s']:,.0f} "
                         f"| {c['final_loss']:.4f} | {peak} "
                         f"| {r[0]} | {r[1]} |")
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", nargs="+", choices=list(CONFIGS), default=None,
                   help=f"default {' '.join(CPU_CONFIGS)} (cpu), {' '.join(GPU_CONFIGS)} (cuda)")
    p.add_argument("--model", choices=["mlp", "cnn", "all"], default="mlp",
                   help=f"without --config: the MLP configs, the CNN configs "
                   f"({' '.join(CNN_CONFIGS)}, {CNN_EXAMPLES} examples an epoch unless "
                   "--examples is given), or both")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                   help="cuda: tinynet on CuPy against PyTorch on CUDA")
    p.add_argument("--epochs", type=int, default=3, help="timed rounds (default 3)")
    p.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default 1)")
    p.add_argument("--examples", type=int, default=0, help="examples per epoch (0: all)")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", default=None, help="default $TINYNET_DATA_DIR")
    p.add_argument("--contenders", nargs="+", choices=CONTENDERS, default=list(CONTENDERS))
    p.add_argument("--loss-rtol", type=float, default=None,
                   help="allowed relative spread of the first epoch's losses (default 1e-3 for "
                   "smoke runs, 1e-2 for full epochs)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory runs")
    p.add_argument("--json", help="write the results here")
    p.add_argument("--markdown", help="write the Markdown table here")
    p.add_argument("--smoke", action="store_true",
                   help="2560 examples per epoch (20 batches of 128), 1 warm-up and "
                   "1 timed round (CI)")
    p.add_argument("--peak-memory", choices=CONTENDERS, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.config is None:
        mlps = GPU_CONFIGS if args.device == "cuda" else CPU_CONFIGS
        args.config = {"mlp": mlps, "cnn": CNN_CONFIGS, "all": mlps + CNN_CONFIGS}[args.model]
    if not args.examples and not args.smoke and all(isinstance(CONFIGS[c][0], str)
                                                    for c in args.config):
        args.examples = CNN_EXAMPLES  # only CNNs: a CNN epoch of the whole set is minutes
    if args.device == "cuda":
        args.no_memory = True  # host RSS says little about GPU memory
    if args.smoke:
        args.examples, args.epochs, args.warmup = 2560, 1, 1
    if args.loss_rtol is None:
        # Float32 rounding differs between libraries and grows over full epochs.
        args.loss_rtol = 1e-3 if args.examples and args.examples <= 10000 else 1e-2
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.peak_memory:
        peak_memory(args)
        return 0
    skipped = {name: available(name, args.device) for name in args.contenders}
    names = [name for name in args.contenders if skipped[name] is None]
    if not names:
        for name, reason in skipped.items():
            print(f"{args.device} rows skipped: {name}: {reason}")
        return 0
    info = set_threads(args.threads)
    print(f"Python {platform.python_version()}, NumPy {np.__version__}, {os.cpu_count()} CPUs; "
          f"threads set to {args.threads}")
    print("\n".join("  " + line for line in info))
    images, labels = load_mnist(args.data_dir)
    results = {"settings": {k: v for k, v in vars(args).items() if k != "peak_memory"},
               "threads_info": info, "configs": {}}
    for config in args.config:
        result = run_config(config, names, images, labels, args)
        check_losses(result, args.loss_rtol)
        add_ratios(result)
        for name, reason in skipped.items():
            if reason is not None:
                result["contenders"][name] = {"skipped": reason}
        results["configs"][config] = result
    if not args.no_memory:
        # Smoke runs share one process per contender over all configs (then each
        # config shows that process's peak); full runs use one process per config.
        groups = [args.config] if args.smoke else [[c] for c in args.config]
        for name in names:
            for config, peak in measure_peaks(args, name, groups).items():
                results["configs"][config]["contenders"][name].update(peak)
    table = markdown(results)
    print("\n" + table + "\n")
    ok = True
    for config, result in results["configs"].items():
        agree = result["loss_agreement"]
        ok &= agree["ok"]
        print(f"{config}: first-epoch losses {'agree' if agree['ok'] else 'DISAGREE'} "
              f"(relative spread {agree['relative_spread']:.2e}, tolerance {agree['rtol']:.0e})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

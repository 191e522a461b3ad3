"""The floor under an MLP epoch: its matrix products alone, NumPy (its BLAS) against PyTorch.

One training step of the MLP 784-512-512-10 makes 8 products: 3 forward (x W^T), 3 for the
weight gradients (g^T h) and 2 for the input gradients (g W; the first layer needs none).
Timing each one alone, with the same shapes and float32, shows how much of an epoch no
framework on top of NumPy can save, and how much of PyTorch's lead is its BLAS.

    python benchmarks/bench_matmul.py                 # batch 128
    python benchmarks/bench_matmul.py --batch-size 512
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

SIZES = [784, 512, 512, 10]


def products(batch: int, rng: np.random.Generator) -> dict[str, tuple]:
    """name -> (a, b, transpose a, transpose b) for the 8 products of one step."""
    f = lambda *shape: rng.standard_normal(shape).astype(np.float32)  # noqa: E731
    h = [f(batch, n) for n in SIZES[:-1]]               # each layer's input
    g = [f(batch, n) for n in SIZES[1:]]                # each layer's output gradient
    w = [f(o, i) for i, o in zip(SIZES[:-1], SIZES[1:])]
    table = {}
    for layer in range(3):
        table[f"forward {layer}: h W^T"] = (h[layer], w[layer], False, True)
        table[f"weight grad {layer}: g^T h"] = (g[layer], h[layer], True, False)
        if layer > 0:
            table[f"input grad {layer}: g W"] = (g[layer], w[layer], False, False)
    return table


def median_us(fn, repeats: int) -> float:
    for _ in range(5):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--repeats", type=int, default=100)
    p.add_argument("--threads", type=int, default=None, help="default: the libraries' own")
    args = p.parse_args()
    try:
        import torch
    except ImportError:
        torch = None
    if args.threads:
        from threadpoolctl import threadpool_limits
        threadpool_limits(args.threads)
        if torch is not None:
            torch.set_num_threads(args.threads)
    steps = -(-60000 // args.batch_size)
    print(f"| product (batch {args.batch_size}) | NumPy µs | PyTorch µs |\n| --- | --- | --- |")
    totals = [0.0, 0.0]
    for name, (a, b, ta, tb) in products(args.batch_size, np.random.default_rng(0)).items():
        a_, b_ = (a.T if ta else a), (b.T if tb else b)
        ours = median_us(lambda: a_ @ b_, args.repeats)
        theirs = float("nan")
        if torch is not None:
            ta_, tb_ = torch.from_numpy(a), torch.from_numpy(b)
            ta_, tb_ = (ta_.T if ta else ta_), (tb_.T if tb else tb_)
            theirs = median_us(lambda: ta_ @ tb_, args.repeats)
        totals[0] += ours
        totals[1] += theirs
        print(f"| {name} | {ours:.0f} | {theirs:.0f} |")
    print(f"| per epoch ({steps} steps), s | {totals[0] * steps / 1e6:.2f} | "
          f"{totals[1] * steps / 1e6:.2f} |")


if __name__ == "__main__":
    main()

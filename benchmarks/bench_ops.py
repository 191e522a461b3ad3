"""Per-op overhead: a graph of 101 small ops on 8x8 float32 tensors, forward + backward.

At this size the arithmetic is nearly free, so the time per op is what the framework adds
around it: creating the output tensor, recording the graph node, walking it in backward.
The same expressions run in plain NumPy (forward only, and forward + hand-written
backward) as the floor, and in PyTorch when it is installed. Target: tinynet's forward +
backward <= 8 microseconds per op on a quiet 2-core machine (PyTorch: about 10 there),
i.e. at most about 0.8x PyTorch's time, a ratio that holds when the machine is busy.

    python benchmarks/bench_ops.py
    python benchmarks/bench_ops.py --smoke --json ops.json
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import numpy as np

BLOCKS = 10
OPS = 10 * BLOCKS + 1  # ten per block, plus the final sum
TARGET_US = 8.0


def block(h, w, b, tanh, exp):
    """Ten ops: matmul, mul, add, tanh, exp, mul, sum, scalar mul, broadcast add, tanh.
    Every value stays in [-e, e] or so, so no chain of blocks overflows."""
    t = tanh(h @ w * b + b)
    v = t * exp(t)
    s = v.sum(axis=1, keepdims=True)
    return tanh(v + s * 0.1)


def graph(h, w, b, tanh, exp):
    """The scalar sum of ``BLOCKS`` chained blocks: 101 ops in all."""
    for _ in range(BLOCKS):
        h = block(h, w, b, tanh, exp)
    return h.sum()


def numpy_forward_backward(h0, w, b):
    """The graph's value and its gradients with respect to w and b, written by hand.

    Per block, going back: out = tanh(z) gives gz = g (1 - out^2); z = v + 0.1 s with
    s = Σ_j v_j gives gv = gz + 0.1 Σ_j gz_j; v = t e^t gives gt = gv e^t (1 + t);
    t = tanh(a) gives ga = gt (1 - t^2); a = p b + b gives gb += Σ_n ga (p + 1) and
    gp = ga b; p = h w gives gw += h^T gp and gh = gp w^T.
    """
    saved, h = [], h0
    for _ in range(BLOCKS):
        p = h @ w
        t = np.tanh(p * b + b)
        e = np.exp(t)
        v = t * e
        out = np.tanh(v + v.sum(axis=1, keepdims=True) * 0.1)
        saved.append((h, p, t, e, out))
        h = out
    gw, gb, g = np.zeros_like(w), np.zeros_like(b), np.ones_like(h)
    for h, p, t, e, out in reversed(saved):
        gz = g * (1 - out * out)
        gv = gz + gz.sum(axis=1, keepdims=True) * 0.1
        ga = gv * e * (1 + t) * (1 - t * t)
        gb += (ga * (p + 1)).sum(axis=0, keepdims=True)
        gp = ga * b
        gw += h.T @ gp
        g = gp @ w.T
    return h.sum(), gw, gb


def median_us_per_op(steps: dict, repeats: int, inner: int) -> dict:
    """name -> the median over ``repeats`` samples of the time of ``inner`` calls of its
    step, per op. The contenders take turns sample by sample, so a drift of the machine's
    speed (±20% over seconds here) weighs on all of them alike."""
    samples: dict = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(inner):
                step()
            samples[name].append((time.perf_counter() - start) / inner / OPS * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


def contenders(h0, w, b):
    """name -> a function running the graph once."""
    import tinynet as tn

    th, tw, tb = tn.tensor(h0), tn.tensor(w, requires_grad=True), tn.tensor(b, requires_grad=True)

    def tinynet_forward_backward():
        tw.grad = tb.grad = None
        graph(th, tw, tb, tn.tanh, tn.exp).backward()

    runs = {
        "tinynet forward+backward": tinynet_forward_backward,
        "tinynet forward (graph recorded)": lambda: graph(th, tw, tb, tn.tanh, tn.exp),
        "numpy forward": lambda: graph(h0, w, b, np.tanh, np.exp),
        "numpy forward+backward (by hand)": lambda: numpy_forward_backward(h0, w, b),
    }
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: its rows are skipped")
        return runs
    torch.set_num_threads(1)  # 8x8 tensors: threads would only add overhead
    ph, pw, pb = (torch.from_numpy(h0), torch.tensor(w, requires_grad=True),
                  torch.tensor(b, requires_grad=True))

    def torch_forward_backward():
        pw.grad = pb.grad = None
        graph(ph, pw, pb, torch.tanh, torch.exp).backward()

    runs["torch forward+backward"] = torch_forward_backward
    return runs


def check_gradients(h0, w, b) -> None:
    """tinynet's autograd and the hand-written backward must give the same gradients."""
    import tinynet as tn
    tw, tb = tn.tensor(w, requires_grad=True), tn.tensor(b, requires_grad=True)
    graph(tn.tensor(h0), tw, tb, tn.tanh, tn.exp).backward()
    _, gw, gb = numpy_forward_backward(h0, w, b)
    for name, got, want in (("w", tw.grad.numpy(), gw), ("b", tb.grad.numpy(), gb)):
        if not np.allclose(got, want, rtol=1e-4, atol=1e-5):
            raise RuntimeError(f"gradient of {name}: tinynet and the hand-written backward "
                               f"differ by up to {np.abs(got - want).max():.3g}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=30, help="timed samples (median taken)")
    p.add_argument("--inner", type=int, default=20, help="graph runs per sample")
    p.add_argument("--smoke", action="store_true", help="a few samples only (CI)")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args(argv)
    if args.smoke:
        args.repeats, args.inner = 3, 5
    rng = np.random.default_rng(0)
    h0 = rng.uniform(-1, 1, (8, 8)).astype(np.float32)
    w = (rng.standard_normal((8, 8)) * 0.3).astype(np.float32)
    b = rng.uniform(0.5, 1.5, (1, 8)).astype(np.float32)
    check_gradients(h0, w, b)
    steps = contenders(h0, w, b)
    for step in steps.values():
        step()  # warm-up: first-call costs (imports, caches) are not overhead per op
    results = median_us_per_op(steps, args.repeats, args.inner)
    floor = results["numpy forward+backward (by hand)"]
    print(f"{OPS} ops on 8x8 float32, median of {args.repeats} x {args.inner} runs, the "
          "contenders taking turns\n")
    print("| contender | µs per op | × NumPy forward+backward |\n| --- | --- | --- |")
    for name, us in results.items():
        print(f"| {name} | {us:.2f} | {us / floor:.1f} |")
    tinynet_us = results["tinynet forward+backward"]
    verdict = "meets" if tinynet_us <= TARGET_US else "misses"
    print(f"\ntinynet forward+backward: {tinynet_us:.2f} µs per op, {verdict} the target "
          f"of {TARGET_US:.0f} µs")
    if "torch forward+backward" in results:
        ratio = tinynet_us / results["torch forward+backward"]
        print(f"tinynet/PyTorch forward+backward: {ratio:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"ops": OPS, "shape": [8, 8], "us_per_op": results,
                       "target_us": TARGET_US, "repeats": args.repeats,
                       "inner": args.inner}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Where a training step of tinynet goes: cProfile over steps of one bench_mnist config,
time grouped by op (forward and backward of each graph node) and by the rest of the step;
then the matrix products of the step alone, timed on arrays of their shapes, which tells the
products from the layout work (im2col, col2im, pooling, elementwise passes).

    python benchmarks/profile_step.py --config cnn-example-b64 --steps 20 --threads 2

Every number is milliseconds per step, from cProfile's cumulative time of each op's
``forward`` / ``backward`` (helpers they call, such as col2im, included). cProfile adds a
little overhead to every Python call; the ops are few and large, so the split holds.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_mnist import CONFIGS, load_mnist, set_threads  # noqa: E402
from contenders import initial_weights, model_inputs, model_layers  # noqa: E402


def op_methods() -> dict:
    """(file, first line, name) of every op's forward/backward -> "Op.forward"."""
    import tinynet.ops as ops
    from tinynet.autograd import Function
    found = {}
    for cls in vars(ops).values():
        if isinstance(cls, type) and issubclass(cls, Function):
            for method in ("forward", "backward"):
                code = getattr(cls, method).__code__
                found[(code.co_filename, code.co_firstlineno, method)] = f"{cls.__name__}.{method}"
    return found


def products(model, x) -> list:
    """(name, a shape, b shape, count) of the matrix products of one training step: per
    conv, forward cols @ W2.T, dL/dW2 = GY.T @ cols and (unless it is the first layer)
    the kh·kw products GY @ W2-block of dL/dcols; per Linear its three products."""
    import tinynet as tn
    found, first = [], True
    with tn.no_grad():
        for layer in model:
            if isinstance(layer, tn.nn.Conv2d):
                y = layer(x)
                o, c, kh, kw = layer.weight.shape
                m, k = y.shape[0] * y.shape[2] * y.shape[3], c * kh * kw
                found += [(f"conv {c}->{o} forward", (m, k), (k, o), 1),
                          (f"conv {c}->{o} dL/dw", (o, m), (m, k), 1)]
                if not first:
                    found.append((f"conv {c}->{o} dL/dcols", (m, o), (o, c), kh * kw))
                first = False
            elif isinstance(layer, tn.nn.Linear):
                y = layer(x)
                n, (o, i) = x.shape[0], layer.weight.shape
                found += [(f"linear {i}->{o} forward", (n, i), (i, o), 1),
                          (f"linear {i}->{o} dL/dw", (o, n), (n, i), 1),
                          (f"linear {i}->{o} dL/dx", (n, o), (o, i), 1)]
                first = False
            else:
                y = layer(x)
            x = y
    return found


def time_products(found, repeats: int = 5) -> float:
    """Milliseconds for all the products once (the fastest of ``repeats``)."""
    rng = np.random.default_rng(0)
    arrays = [(rng.random(a, dtype=np.float32), rng.random(b, dtype=np.float32), count)
              for _, a, b, count in found]
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for a, b, count in arrays:
            for _ in range(count):
                a @ b
        best = min(best, time.perf_counter() - start)
    return best * 1000


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", choices=list(CONFIGS), default="cnn-example-b64")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--data-dir", default=None)
    args = p.parse_args(argv)
    print("\n".join(set_threads(args.threads)))
    import tinynet as tn
    model_spec, batch_size = CONFIGS[args.config]
    model = tn.nn.Sequential(*model_layers(tn.nn, model_spec))
    model.load_state_dict(initial_weights(model_spec, 0))
    opt = tn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    images, labels = load_mnist(args.data_dir)
    data = tn.utils.data.TensorDataset(tn.tensor(model_inputs(model_spec, images)),
                                       tn.tensor(labels))
    loader = tn.utils.data.DataLoader(data, batch_size=batch_size, shuffle=True)
    batches = iter(loader)

    def step():
        x, y = next(batches)
        x = x.float() / 255
        opt.zero_grad()
        tn.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    for _ in range(3):  # warm-up
        step()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    plain = (time.perf_counter() - start) / args.steps * 1000
    profiler = cProfile.Profile()
    profiler.runcall(lambda: [step() for _ in range(args.steps)])
    stats = pstats.Stats(profiler).stats
    total = max(s[3] for s in stats.values()) / args.steps * 1000
    names = op_methods()
    rows = {}
    for key, (_, _, _, cumulative, _) in stats.items():
        if key in names:
            rows[names[key]] = rows.get(names[key], 0.0) + cumulative / args.steps * 1000
    optimizer = sum(s[3] for k, s in stats.items() if k[2] == "step" and "optim" in k[0])
    rows["optimizer step"] = optimizer / args.steps * 1000
    rows["everything else (engine, data, Python)"] = total - sum(rows.values())
    print(f"\n{args.config}: {plain:.1f} ms per step unprofiled, {total:.1f} ms profiled\n")
    print("| part of the step | ms per step | share |\n| --- | --- | --- |")
    for name, ms in sorted(rows.items(), key=lambda kv: -kv[1]):
        print(f"| {name} | {ms:.1f} | {100 * ms / total:.0f}% |")
    x = next(iter(loader))[0].float() / 255
    matmul = time_products(products(model, x))
    print(f"\nThe step's matrix products alone: {matmul:.1f} ms ({100 * matmul / plain:.0f}% "
          f"of the unprofiled step); the rest is layout and elementwise work.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

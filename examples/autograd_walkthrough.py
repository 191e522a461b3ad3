"""Autograd, step by step: binary cross-entropy, softmax cross-entropy, and the log(0) trap.

    python examples/autograd_walkthrough.py [--graph bce.svg]

Part 1 builds one logistic-regression prediction from elementary ops,
    p = sigmoid(w·x + b),    L = -(y·log p + (1 - y)·log(1 - p)),
the negative log-likelihood of a Bernoulli(p) label y, and checks autograd against the
closed form dL/dw = (p - y)·x, dL/db = p - y. Part 2 checks that the fused softmax
cross-entropy's gradient is (softmax - onehot) / N. Part 3 shows why it is fused: with
logits like [1000, 0, -1000], separate softmax -> log -> pick gives inf or nan.
The script exits with status 1 if any check fails.
"""
import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

import tinynet as tn
import tinynet.nn.functional as F
from tinynet.trace import trace_backward
from tinynet.viz import DOT_INSTALL_HINT, format_graph, render

failures = []


def check(what: str, ok: bool) -> None:
    print(f"  [{'ok' if ok else 'FAILED'}] {what}")
    if not ok:
        failures.append(what)


def close(a, b, tol=1e-5) -> bool:
    return bool(np.allclose(np.asarray(a), np.asarray(b), atol=tol, rtol=tol))


def title(text: str) -> None:
    print(f"\n=== {text} " + "=" * max(0, 70 - len(text)))


def part1_binary_cross_entropy(graph_path):
    title("1. Binary cross-entropy from maximum likelihood")
    x = tn.tensor([1.0, 2.0, -1.0])                  # one sample, 3 features
    w = tn.tensor([0.3, -0.2, 0.5], requires_grad=True)
    b = tn.tensor(0.1, requires_grad=True)
    y = tn.tensor(1.0)                               # the label: class 1
    x.name, y.name = "x", "y"

    z = (w * x).sum() + b                            # the logit w·x + b
    p = z.sigmoid()                                  # P(y = 1 | x)
    L = -(y * p.log() + (1 - y) * (1 - p).log())     # -log P(label | x)
    print(f"forward: z = w·x + b = {z.item():.6f}")
    print(f"         p = sigmoid(z) = {p.item():.6f}")
    print(f"         L = -(y log p + (1-y) log(1-p)) = {L.item():.6f}  (= -log p, as y = 1)")
    check("L equals -log p for y = 1", close(L.item(), -np.log(p.item())))

    params = {"w": w, "b": b}
    print("\nthe graph (result at the top, its inputs indented below):")
    print(format_graph(L, params))

    print("\nbackward, node by node: what each node receives and passes to each input")
    with trace_backward(params) as trace:
        L.backward(retain_graph=True)                # keep the graph to draw it with grads
    print(trace)

    print(f"\ndL/dw = {w.grad.numpy()}   closed form (p - y)·x = {((p - y) * x).numpy()}")
    print(f"dL/db = {b.grad.item():.6f}   closed form  p - y     = {(p - y).item():.6f}")
    check("autograd dL/dw equals (p - y)·x", close(w.grad.numpy(), ((p - y) * x).numpy()))
    check("autograd dL/db equals p - y", close(b.grad.item(), (p - y).item()))
    write_graph(L, params, graph_path)


def write_graph(L, params, graph_path):
    if shutil.which("dot") is None:
        print(f"\n(no graph picture: {DOT_INSTALL_HINT})")
        return
    if graph_path is None:
        graph_path = Path(tempfile.gettempdir()) / "tinynet_bce_graph.svg"
    print(f"\ngraph picture written to {render(L, graph_path, params)}")


def graph_path_problem(path: Path) -> str | None:
    """Why the graph cannot be written at ``path``, or None if it can."""
    if path.suffix.lower() not in (".svg", ".png"):
        return "the picture's name must end in .svg or .png"
    folder = path.resolve().parent
    if not folder.is_dir():
        return f"the folder {str(folder)!r} does not exist"
    if path.is_dir() or not os.access(folder, os.W_OK):
        return "cannot write there"
    return None


def part2_softmax_cross_entropy():
    title("2. Softmax cross-entropy: one fused node, gradient (softmax - onehot) / N")
    tn.manual_seed(0)
    logits = tn.randn(4, 3, requires_grad=True)      # N = 4 samples, 3 classes
    target = tn.tensor([0, 2, 1, 2])                 # class indices (int64)
    loss = F.cross_entropy(logits, target)
    print(f"loss = mean_n -log softmax(logits)[n, target_n] = {loss.item():.6f}")
    with trace_backward({"logits": logits}) as trace:
        loss.backward()
    print(trace)

    z = logits.numpy().astype(np.float64)            # the closed form, in plain NumPy
    softmax = np.exp(z - z.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    onehot = np.eye(3)[target.numpy()]
    expected = (softmax - onehot) / 4
    print("dL/dlogits =\n", logits.grad.numpy())
    print("(softmax - onehot) / N =\n", expected.astype(np.float32))
    check("the logits' gradient equals (softmax - onehot) / N",
          close(logits.grad.numpy(), expected))
    check("each row of the gradient sums to 0", close(logits.grad.numpy().sum(axis=1), 0.0))


def part3_log_zero_trap():
    title("3. The log(0) trap: logits [1000, 0, -1000], target class 2")
    target = tn.tensor([2])
    x = tn.tensor([[1000.0, 0.0, -1000.0]], requires_grad=True)
    with np.errstate(all="ignore"):                  # inf/nan are the point here: no warnings
        probs = x.exp() / x.exp().sum(axis=1, keepdims=True)   # exp(1000) = inf, inf/inf = nan
        naive = -probs.log()[0, 2]                   # log(exp(-1000)/...) = log 0 = -inf
        naive.backward()
    print(f"separate ops:  softmax = {probs.numpy()}  loss = {naive.item()}  "
          f"grad = {x.grad.numpy()}")
    check("separate softmax -> log -> pick gives inf or nan",
          not np.isfinite(naive.item()) and not np.isfinite(x.grad.numpy()).all())

    x.grad = None
    fused = F.cross_entropy(x, target)               # log-sum-exp: log p_2 = -1000 - 1000
    fused.backward()
    print(f"fused node:    loss = {fused.item()}  grad = {x.grad.numpy()}")
    check("F.cross_entropy gives the exact loss 2000", close(fused.item(), 2000.0))
    check("and the finite gradient softmax - onehot = [1, 0, -1]",
          close(x.grad.numpy(), [[1.0, 0.0, -1.0]]))
    stable = F.nll_loss(F.log_softmax(x, dim=1), target)
    print(f"log_softmax + nll_loss (also by log-sum-exp): loss = {stable.item()}")
    check("log_softmax then nll_loss is finite too", close(stable.item(), 2000.0))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", type=Path, default=None,
                        help="where to write the graph of part 1 (.svg or .png; default: a "
                             "file in the temporary folder), when Graphviz's dot is installed")
    args = parser.parse_args()
    if args.graph is not None:  # checked before any work: a bad path is one line, not a traceback
        problem = graph_path_problem(args.graph)
        if problem:
            parser.error(f"--graph {str(args.graph)!r}: {problem}")
    part1_binary_cross_entropy(args.graph)
    part2_softmax_cross_entropy()
    part3_log_zero_trap()
    if failures:
        print(f"\n{len(failures)} check(s) FAILED: " + "; ".join(failures))
        return 1
    print("\nall checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

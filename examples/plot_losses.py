"""Why cross-entropy and not squared error: the losses and their gradients, plotted.

    python examples/plot_losses.py [--out losses.png]

Left: the loss of one prediction p of P(y = 1): -log p when the label is 1, -log(1 - p) when
it is 0. A confident wrong answer costs without bound. Middle and right: for y = 1 as a
function of the logit z (p = sigmoid(z)), binary cross-entropy softplus(-z) against squared
error (sigmoid(z) - 1)^2, and their gradients dL/dz, computed by tinynet's autograd:

    BCE:  dL/dz = sigmoid(z) - 1                       (-> -1 when z is very wrong)
    MSE:  dL/dz = 2 (sigmoid(z) - 1) sigmoid(z) (1 - sigmoid(z))    (-> 0: learning stalls)

Needs matplotlib (pip install 'tinynet[plot]'). Without it the script prints that one line
and exits with status 0, so it never fails a run for want of an optional extra. It exits with
status 1 if autograd's gradients disagree with the closed forms above.
"""
import argparse
import sys

import numpy as np

import tinynet as tn
import tinynet.nn.functional as F

MISSING_MATPLOTLIB = "matplotlib is not installed: pip install 'tinynet[plot]'"


def losses_and_gradients(z_grid: np.ndarray) -> dict:
    """BCE and squared error at y = 1 for each logit z, and dL/dz of each, by autograd."""
    curves = {}
    for name in ("bce", "mse"):
        z = tn.tensor(z_grid, requires_grad=True)
        ones = tn.ones(*z.shape, dtype=z.dtype)
        if name == "bce":
            loss = F.binary_cross_entropy_with_logits(z, ones, reduction="none")
        else:
            loss = (z.sigmoid() - ones) ** 2
        loss.sum().backward()  # each loss depends on its own z only: the sum's gradient
        curves[name] = (loss.numpy(), z.grad.numpy())  # is each loss's own dL/dz
    return curves


def check_gradients(z_grid: np.ndarray, curves: dict) -> bool:
    s = 1 / (1 + np.exp(-z_grid))
    bce_ok = np.allclose(curves["bce"][1], s - 1, atol=1e-12)
    mse_ok = np.allclose(curves["mse"][1], 2 * (s - 1) * s * (1 - s), atol=1e-12)
    print(f"autograd dBCE/dz == sigmoid(z) - 1: {bce_ok}; "
          f"dMSE/dz == 2 (sigmoid(z) - 1) sigmoid(z) (1 - sigmoid(z)): {mse_ok}")
    return bool(bce_ok and mse_ok)


def plot(p: np.ndarray, z_grid: np.ndarray, curves: dict, out: str) -> None:
    import matplotlib
    matplotlib.use("Agg")  # no display needed: draw straight into the PNG
    import matplotlib.pyplot as plt

    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(14, 4.2))
    left.plot(p, -np.log(p), label="y = 1: -log p")
    left.plot(p, -np.log(1 - p), label="y = 0: -log(1 - p)")
    left.set(xlabel="predicted p = P(y = 1)", ylabel="loss",
             title="cross-entropy of one prediction")
    middle.plot(z_grid, curves["bce"][0], label="BCE: softplus(-z)")
    middle.plot(z_grid, curves["mse"][0], label="squared error: (sigmoid(z) - 1)²")
    middle.set(xlabel="logit z", ylabel="loss", title="y = 1: loss against the logit")
    right.plot(z_grid, curves["bce"][1], label="BCE: sigmoid(z) - 1")
    right.plot(z_grid, curves["mse"][1], label="squared error: 2(σ - 1)σ(1 - σ)")
    right.set(xlabel="logit z", ylabel="dL/dz (tinynet autograd)",
              title="y = 1: gradient against the logit")
    for ax in (left, middle, right):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="losses.png", help="the PNG to write")
    args = parser.parse_args()

    p = np.linspace(0.001, 0.999, 400)
    z_grid = np.linspace(-8.0, 8.0, 401)
    curves = losses_and_gradients(z_grid)  # float64 grid: float64 tensors
    ok = check_gradients(z_grid, curves)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print(MISSING_MATPLOTLIB)
        return 0 if ok else 1
    plot(p, z_grid, curves, args.out)
    print(f"wrote {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

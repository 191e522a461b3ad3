"""The programs of this folder and what "matches torch" means for each.

A row names the program file, where it comes from, which of its globals to read back after it
ran (as plain numbers), which stdout lines to parse, what to derive from those in NumPy, and the
checks that compare the tinynet run with the torch run. harness.py runs the programs.

Programs whose numbers are fixed by their data (fixed tensors, counting, float64 gradient
checks) must agree to rounding. Programs whose weights or batches come from the framework's
random generator cannot (the same seed gives different numbers in tinynet and torch), so their
final losses and accuracies must lie within a tolerance of torch's that is several times the
spread of torch's own results over seeds 0-4 (``harness.py --seed N``; the spreads are in the
README of this folder), or below a bound that only a trained model reaches.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

# --------------------------------------------------------------------------- comparisons

@dataclass(frozen=True)
class Check:
    """One comparison between the torch run's value ``key`` and the tinynet run's."""
    key: str
    kind: str            # "same", "close", "within", "below" (both runs), "zero" (both runs)
    tol: float = 0.0
    rtol: float = 0.0

    def describe(self) -> str:
        return {"same": f"{self.key} identical",
                "close": f"{self.key} to rtol {self.rtol:g}, atol {self.tol:g}",
                "within": f"{self.key} within {self.tol:g} of torch's",
                "below": f"{self.key} < {self.tol:g} in both",
                "zero": f"{self.key} < {self.tol:g} in both (a self-check)"}[self.kind]

    def run(self, ref: dict, got: dict) -> str | None:
        """None when the check passes, else a sentence with both numbers."""
        if self.key not in got:
            return f"{self.key}: not produced by the tinynet run"
        a, b = ref.get(self.key), got[self.key]
        if self.kind == "same":
            return None if a == b else f"{self.key}: torch {_short(a)} != tinynet {_short(b)}"
        try:
            a_arr, b_arr = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        except (TypeError, ValueError):
            return f"{self.key}: not numbers (torch {_short(a)}, tinynet {_short(b)})"
        if self.kind in ("below", "zero"):
            worst = float(np.max(b_arr)) if b_arr.size else float("nan")
            return None if worst < self.tol else f"{self.key}: tinynet {worst:.6g} >= {self.tol:g}"
        if a_arr.shape != b_arr.shape:
            return f"{self.key}: shape {a_arr.shape} in torch, {b_arr.shape} in tinynet"
        if self.kind == "close":
            ok = np.allclose(b_arr, a_arr, rtol=self.rtol, atol=self.tol, equal_nan=True)
        else:
            ok = bool(np.all(np.abs(b_arr - a_arr) <= self.tol))
        if ok:
            return None
        diff = float(np.max(np.abs(b_arr - a_arr))) if a_arr.size else float("nan")
        return (f"{self.key}: torch {_short(a)}, tinynet {_short(b)} "
                f"(max difference {diff:.3g}; allowed {self.describe()})")


def _short(value, limit: int = 80) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


@dataclass(frozen=True)
class Program:
    """A row of the suite: one file ``<name>.py`` of this folder and how to judge it."""
    name: str
    source: str                                    # where it comes from (short)
    values: dict = field(default_factory=dict)     # key -> expression in the program's globals
    stdout: dict = field(default_factory=dict)     # key -> regex over stdout (all matches)
    derive: Callable[[dict], dict] | None = None   # more keys, computed in NumPy from the above
    checks: tuple = ()
    env: dict = field(default_factory=dict)        # environment (data subset sizes)
    files: tuple = ()                              # "names.txt", "mnist.pkl.gz"
    deterministic: bool = False                    # numbers fixed by the data, not by the RNG


def meaning(program: Program) -> str:
    """What "matches torch" means for a program, in words."""
    groups: dict = {}  # checks that differ only in their key are said once
    for c in program.checks:
        groups.setdefault((c.kind, c.tol, c.rtol), []).append(c.key)
    parts = []
    for (kind, tol, rtol), keys in groups.items():
        parts.append(Check(", ".join(keys), kind, tol, rtol).describe())
    return "; ".join(parts)


def compare(program: Program, ref: dict, got: dict) -> list[str]:
    """The failed checks of ``program`` (empty when the tinynet run matches the torch run)."""
    return [msg for check in program.checks if (msg := check.run(ref, got)) is not None]


# --------------------------------------------------------------------------- derived values

def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def _autograd_self_check(v: dict) -> dict:
    """|w.grad - dL/dw| for L = BCE-with-logits(x @ w + b, 0) and x = ones(5), in NumPy."""
    w, b = np.asarray(v["w"]), np.asarray(v["b"])
    dz = (_sigmoid(np.ones(5) @ w + b) - 0.0) / 3
    return {"w.grad error": float(np.max(np.abs(np.outer(np.ones(5), dz) - v["w.grad"]))),
            "b.grad error": float(np.max(np.abs(dz - np.asarray(v["b.grad"]))))}


def _cross_entropy(logits, labels) -> float:
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(labels)), np.asarray(labels)].mean())


def _makemore_mlp_losses(v: dict) -> dict:
    """Train and dev loss of the trained MLP, recomputed in NumPy from its parameters."""
    C, W1, b1, W2, b2 = (np.asarray(v[k], dtype=np.float64) for k in ("C", "W1", "b1", "W2", "b2"))

    def loss(X, Y):
        h = np.tanh(C[np.asarray(X)].reshape(len(X), -1) @ W1 + b1)
        return _cross_entropy(h @ W2 + b2, Y)
    return {"train loss": loss(v["Xtr"], v["Ytr"]), "dev loss": loss(v["Xdev"], v["Ydev"])}


def _bigram_nll(v: dict) -> dict:
    return {"nll per bigram": -float(v["log_likelihood"]) / float(v["n"])}


def _last(key: str, new: str) -> Callable[[dict], dict]:
    """The last stdout match of ``key`` under the name ``new``."""
    def derive(v: dict) -> dict:
        found = v.get(key) or []
        return {new: found[-1]} if found else {}
    return derive


def _chain(*fns: Callable[[dict], dict]) -> Callable[[dict], dict]:
    def derive(v: dict) -> dict:
        out: dict = {}
        for fn in fns:
            out.update(fn({**v, **out}))
        return out
    return derive


def _mse_sum_of(weight_key: str, bias_key: str) -> Callable[[dict], dict]:
    """Both frameworks' fitted cubic, scored in NumPy on the tutorial's 2000 points."""
    def derive(v: dict) -> dict:
        x = np.linspace(-np.pi, np.pi, 2000)
        w = np.ravel(np.asarray(v[weight_key], dtype=np.float64))
        bias = float(np.ravel(np.asarray(v[bias_key]))[0])
        fit = bias + w[0] * x + w[1] * x ** 2 + w[2] * x ** 3
        return {"final loss (NumPy)": float(np.sum((fit - np.sin(x)) ** 2))}
    return derive


def _abcd_loss(v: dict) -> dict:
    x = np.linspace(-np.pi, np.pi, 2000)
    a, b, c, d = (float(v[k]) for k in "abcd")
    return {"final loss (NumPy)": float(np.sum((a + b * x + c * x ** 2 + d * x ** 3 - np.sin(x)) ** 2))}


# --------------------------------------------------------------------------- the suite

MNIST_SUBSET = {"PROGRAMS_TRAIN_SIZE": "6000", "PROGRAMS_TEST_SIZE": "1000"}


def _d2l_metrics(v: dict) -> dict:
    """d2l's train_ch3 result (train loss, train accuracy, test accuracy), and the test error."""
    out = dict(zip(("train_loss", "train_acc", "test_acc"), v["metrics"]))
    return out | {"test error": 1 - out["test_acc"]}


PROGRAMS = {p.name: p for p in [
    Program(
        "tutorial_tensors", "PyTorch tutorials, Learn the Basics: Tensors",
        values={"x_ones": "x_ones", "x_ones dtype": "dtype:x_ones", "x_np": "x_np",
                "tensor": "tensor", "t1": "t1", "y1": "y1", "y2": "y2", "y3": "y3",
                "z1": "z1", "z2": "z2", "z3": "z3", "agg_item": "agg_item", "t": "t",
                "t dtype": "dtype:t", "rand shape": "rand_tensor.shape",
                "x_rand dtype": "dtype:x_rand"},
        stdout={"numpy lines": r"^n: (.*)$", "item line": r"^(\S+ <class '\w+'>)$"},
        checks=tuple(Check(k, "same") for k in (
            "x_ones", "x_ones dtype", "x_np", "tensor", "t1", "y1", "y2", "y3", "z1", "z2",
            "z3", "agg_item", "t", "t dtype", "rand shape", "x_rand dtype", "numpy lines",
            "item line")),
        deterministic=True),
    Program(
        "tutorial_autograd", "PyTorch tutorials, Learn the Basics: Autograd",
        values={"w": "w", "b": "b", "w.grad": "w.grad", "b.grad": "b.grad",
                "inp.grad": "inp.grad", "out": "out"},
        stdout={"requires_grad lines": r"^(True|False)$"},
        derive=_autograd_self_check,
        checks=(Check("requires_grad lines", "same"), Check("inp.grad", "same"),
                Check("out", "same"), Check("w.grad error", "zero", 1e-6),
                Check("b.grad error", "zero", 1e-6)),
        deterministic=True),
    Program(
        "tutorial_quickstart", "PyTorch tutorials, Learn the Basics: Quickstart",
        values={"X.shape": "X.shape", "dataset size":
                "len(train_dataloader.dataset)", "batches": "len(train_dataloader)"},
        stdout={"accuracy, loss": r"Accuracy: ([\d.]+)%, Avg loss: ([\d.]+)",
                "prediction": r'^(Predicted: ".*", Actual: ".*")$'},
        derive=lambda v: ({"test accuracy %": v["accuracy, loss"][-1][0],
                           "test loss": v["accuracy, loss"][-1][1]}
                          if v.get("accuracy, loss") else {}),
        checks=(Check("X.shape", "same"),
                Check("dataset size", "same"), Check("batches", "same"),
                Check("test loss", "within", 0.04)),
        env={"PROGRAMS_TRAIN_SIZE": "3000", "PROGRAMS_TEST_SIZE": "1000"}),
    Program(
        "tutorial_buildmodel", "PyTorch tutorials, Learn the Basics: Build the Neural Network",
        values={"flat_image size": "flat_image.size()", "hidden1 size": "hidden1.size()",
                "logits shape": "logits.shape", "y_pred": "y_pred.shape",
                "parameters": "[(n, p.shape) for n, p in model.named_parameters()]",
                "probability sums": "pred_probab.sum(1)", "relu min": "hidden1.min()"},
        derive=lambda v: {"|sum - 1|": float(np.max(np.abs(np.asarray(v["probability sums"]) - 1))),
                          "-min after ReLU": -float(v["relu min"])},
        checks=(Check("flat_image size", "same"), Check("hidden1 size", "same"),
                Check("logits shape", "same"), Check("y_pred", "same"),
                Check("parameters", "same"), Check("|sum - 1|", "zero", 1e-6),
                Check("-min after ReLU", "zero", 1e-12)),
        deterministic=True),
    Program(
        "polynomial_autograd", "PyTorch tutorials, Learning PyTorch with Examples: autograd",
        values={k: k for k in "abcd"} | {"loss": "loss"},
        derive=_abcd_loss,
        checks=(Check("final loss (NumPy)", "below", 25.0),)),
    Program(
        "polynomial_nn", "PyTorch tutorials, Learning PyTorch with Examples: nn",
        values={"weight": "linear_layer.weight", "bias": "linear_layer.bias", "loss": "loss",
                "xx": "xx[:3]", "xx dtype": "dtype:xx"},
        derive=_mse_sum_of("weight", "bias"),
        checks=(Check("xx", "close", 1e-6, 1e-6), Check("xx dtype", "same"),
                Check("final loss (NumPy)", "within", 2.0))),
    Program(
        "polynomial_optim", "PyTorch tutorials, Learning PyTorch with Examples: optim (RMSprop)",
        values={"weight": "linear_layer.weight", "bias": "linear_layer.bias", "loss": "loss"},
        derive=_mse_sum_of("weight", "bias"),
        checks=(Check("final loss (NumPy)", "within", 0.2),)),
    Program(
        "dynamic_net", "PyTorch tutorials, Learning PyTorch with Examples: dynamic net",
        values={"loss": "loss"},
        stdout={"losses": r"^\d+ ([\d.e+-]+)$"},
        derive=_last("losses", "last printed loss"),
        checks=(Check("last printed loss", "below", 5000.0),)),
    Program(
        "nn_tutorial", "PyTorch tutorials: What is torch.nn really?",
        values={"n": "n", "c": "c", "x_train dtype": "dtype:x_train",
                "y_train dtype": "dtype:y_train", "valid batches": "len(valid_dl)"},
        stdout={"validation losses": r"^\d+ ([\d.]+)$"},
        derive=_last("validation losses", "final validation loss"),
        checks=(Check("n", "same"), Check("c", "same"), Check("x_train dtype", "same"),
                Check("y_train dtype", "same"), Check("valid batches", "same"),
                # lr 0.5 on 5000 images: the final loss swings with the shuffle order
                # (seeds 0-14: torch 0.37-0.90, tinynet 0.37-1.05); untrained, it is 2.30
                Check("final validation loss", "below", 1.5)),
        files=("mnist.pkl.gz",)),
    Program(
        "d2l_linreg_scratch", "Dive into Deep Learning 3.2 (r0.17), linear regression from scratch",
        values={"w": "w", "b": "b", "features.shape": "features.shape",
                "labels.shape": "labels.shape"},
        stdout={"epoch losses": r"^epoch \d+, loss ([\d.]+)$"},
        derive=lambda v: {"w error": float(np.max(np.abs(np.ravel(v["w"]) - [2, -3.4]))),
                          "final loss": v["epoch losses"][-1] if v.get("epoch losses") else None},
        checks=(Check("features.shape", "same"), Check("labels.shape", "same"),
                Check("w error", "below", 0.01), Check("final loss", "below", 1e-4))),
    Program(
        "d2l_linreg_concise", "Dive into Deep Learning 3.3 (r0.17), concise linear regression",
        values={"w": "w", "b": "b"},
        stdout={"epoch losses": r"^epoch \d+, loss ([\d.]+)$"},
        derive=lambda v: {"w error": float(np.max(np.abs(np.ravel(v["w"]) - [2, -3.4]))),
                          "final loss": v["epoch losses"][-1] if v.get("epoch losses") else None},
        checks=(Check("w error", "below", 0.01), Check("final loss", "below", 1e-3))),
    Program(
        "d2l_softmax_scratch", "Dive into Deep Learning 3.6 (r0.17), softmax regression from scratch",
        values={"train_loss": "train_loss", "train_acc": "train_acc", "test_acc": "test_acc"},
        checks=(Check("train_loss", "within", 0.03), Check("train_acc", "within", 0.04),
                Check("test_acc", "within", 0.08)),
        env=MNIST_SUBSET),
    Program(
        "d2l_mlp_scratch", "Dive into Deep Learning 4.2 (r0.17), MLP from scratch",
        values={"metrics": "d2l.last_metrics"},
        derive=_d2l_metrics,
        checks=(Check("train_loss", "within", 0.1), Check("test error", "below", 0.7)),
        env=MNIST_SUBSET),
    Program(
        "d2l_mlp_concise", "Dive into Deep Learning 4.3 (r0.17), concise MLP",
        values={"metrics": "d2l.last_metrics",
                "parameters": "[(n, p.shape) for n, p in net.named_parameters()]"},
        derive=_d2l_metrics,
        checks=(Check("parameters", "same"), Check("train_loss", "within", 0.1),
                Check("test error", "below", 0.7)),
        env=MNIST_SUBSET),
    Program(
        "micrograd_checks", "micrograd test_engine.py (torch halves) and lecture cell",
        values={"y": "ypt", "x.grad": "xpt.grad", "g": "gpt", "a.grad": "apt.grad",
                "b.grad": "bpt.grad", "o": "o", "x1.grad": "x1.grad", "w1.grad": "w1.grad",
                "x2.grad": "x2.grad", "w2.grad": "w2.grad", "x dtype": "dtype:xpt"},
        checks=(Check("x dtype", "same"),) + tuple(Check(k, "close", 1e-12, 1e-12) for k in (
            "y", "x.grad", "g", "a.grad", "b.grad", "o", "x1.grad", "w1.grad", "x2.grad",
            "w2.grad")),
        deterministic=True),
    Program(
        "makemore_bigram", "makemore part 1 (Karpathy): bigrams by counting and as a neural net",
        values={"N": "N", "N dtype": "dtype:N", "P": "P", "n": "n", "num": "num",
                "log_likelihood": "log_likelihood", "xenc dtype": "dtype:xenc",
                "loss": "loss"},
        derive=_bigram_nll,
        checks=(Check("N", "same"), Check("N dtype", "same"), Check("P", "close", 1e-7, 1e-6),
                Check("n", "same"), Check("num", "same"), Check("xenc dtype", "same"),
                Check("nll per bigram", "close", 0.0, 1e-5), Check("loss", "within", 0.01)),
        files=("names.txt",)),
    Program(
        "makemore_mlp", "makemore part 2 (Karpathy): the MLP language model",
        values={k: k for k in ("C", "W1", "b1", "W2", "b2", "Xtr", "Ytr", "Xdev", "Ydev")}
        | {"Xtr dtype": "dtype:Xtr"},
        derive=_makemore_mlp_losses,
        checks=(Check("Xtr", "same"), Check("Ytr", "same"), Check("Xtr dtype", "same"),
                Check("train loss", "within", 0.25), Check("dev loss", "within", 0.6)),
        files=("names.txt",)),
    Program(
        "feedforward_mnist", "yunjey/pytorch-tutorial: feedforward neural network on MNIST",
        stdout={"accuracy": r"test images: ([\d.]+) %"},
        derive=_last("accuracy", "test accuracy %"),
        checks=(Check("test accuracy %", "within", 3.0),),
        env=MNIST_SUBSET),
    Program(
        "seed_cross_entropy", "this project's seed tutorials: BCE one-liner and CE train step",
        values={"loss": "loss", "mean_loss": "mean_loss", "training_losses": "training_losses",
                "weight": "model.weight", "bias": "model.bias"},
        stdout={"bce pair": r"^([\d.]+) ([\d.]+)$"},
        derive=lambda v: ({"one-liner minus BCELoss": abs(v["bce pair"][0][0] - v["bce pair"][0][1])}
                          if v.get("bce pair") else {}),
        checks=(Check("loss", "close", 1e-6, 1e-5), Check("mean_loss", "close", 1e-6, 1e-5),
                Check("training_losses", "close", 1e-6, 1e-5),
                Check("weight", "close", 1e-6, 1e-5), Check("bias", "close", 1e-6, 1e-5),
                Check("one-liner minus BCELoss", "zero", 1e-6)),
        deterministic=True),
]}

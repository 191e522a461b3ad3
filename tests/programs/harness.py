"""Run the PyTorch learning programs of this folder with PyTorch, and with tinynet standing in
for ``torch`` by a module alias only, and compare what the two runs produced.

    python tests/programs/harness.py                          # all programs, both frameworks
    python tests/programs/harness.py -f tinynet nn_tutorial   # one program on tinynet, verbose
    python tests/programs/harness.py --markdown               # the table for the README

The program files are never edited. For the tinynet run, an import hook maps every module
name ``torch`` / ``torch.X.Y`` to ``tinynet`` / ``tinynet.X.Y`` (the same module objects), so
``import torch``, ``import torch.nn as nn``, ``from torch.utils.data import DataLoader`` and
``torch.utils.data.DataLoader`` all reach tinynet, or fail with tinynet's own error when it
lacks the name. ``_shims/`` (stand-ins for torchvision's dataset loading and for ``d2l``,
written against ``torch`` names) is on the path in both runs, so both read the same data.

A worker process per framework imports the framework once and forks a child per program
(fresh interpreter state, and a program's crash or hang stays in its child); each program
runs in its own temporary working folder with Python's, NumPy's and the framework's seeds
set to 0. What a run yields: whether it finished, the exception's last line and the line of
the program that raised it, stdout, and the values named in the table below read back as
plain numbers.

What "matches torch" means differs per program, and is stated in each row: programs whose
numbers are fixed by their data (fixed tensors, counts, float64 checks) must agree to
rounding; programs whose weights come from the framework's random generator cannot (the same
seed gives different numbers in tinynet and torch), so their final losses and accuracies must
fall within a tolerance of torch's that is several times the spread of torch's own results
over seeds 0-4 (measured with ``--seed``; see the README of this folder).
"""
from __future__ import annotations

import argparse
import gzip
import importlib
import importlib.abc
import importlib.util
import json
import os
import pickle
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

HERE = Path(__file__).resolve().parent
SHIMS = HERE / "_shims"
DATA = HERE / "data"
FRAMEWORKS = ("torch", "tinynet")


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
                Check("final validation loss", "below", 1.0)),
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


# --------------------------------------------------------------------------- the tinynet alias

class TorchAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``import torch.X`` gives the module ``tinynet.X`` (the same object, under both names)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "torch" or fullname.startswith("torch."):
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return importlib.import_module("tinynet" + spec.name[len("torch"):])

    def exec_module(self, module):
        pass  # tinynet's module is already executed


def install_alias() -> None:
    for name in [m for m in sys.modules if m == "torch" or m.startswith("torch.")]:
        del sys.modules[name]
    sys.meta_path.insert(0, TorchAlias())


# --------------------------------------------------------------------------- one run

def plain(value):
    """A tensor, array, number, shape or a nesting of them -> JSON-able Python values."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "detach"):
        value = value.detach()
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        value = value.numpy()
    return np.asarray(value).tolist()


def dtype_name(tensor) -> str:
    """'float32', 'int64', ... for a torch or tinynet tensor (torch prints 'torch.float32')."""
    return str(tensor.dtype).replace("torch.", "")


def _numbers(match):
    """A regex match (a string or a tuple of groups) with each group a float where it parses."""
    def num(s):
        try:
            return float(s)
        except ValueError:
            return s
    return [num(s) for s in match] if isinstance(match, tuple) else num(match)


def prepare_workdir(program: Program, root: Path) -> Path:
    """A fresh working folder holding the files the program opens."""
    workdir = Path(tempfile.mkdtemp(prefix=program.name + "-", dir=root))
    if "names.txt" in program.files:
        shutil.copy(DATA / "names.txt", workdir / "names.txt")
    if "mnist.pkl.gz" in program.files:
        (workdir / "data" / "mnist").mkdir(parents=True)
        shutil.copy(mnist_pickle(root), workdir / "data" / "mnist" / "mnist.pkl.gz")
    return workdir


def mnist_pickle(root: Path) -> Path:
    """data/mnist/mnist.pkl.gz in the layout of the nn tutorial's file, from 6000 MNIST images:
    ((x_train, y_train), (x_valid, y_valid), (x_test, y_test)), x float32 (N, 784) in [0, 1],
    y int64; 5000 for training, 1000 for validation, the test part empty."""
    path = root / "mnist.pkl.gz"
    if not path.exists():
        sys.path.insert(0, str(SHIMS))
        from torchvision.datasets import load_arrays  # NumPy only: reads the IDX files
        images, labels = load_arrays("mnist", True, 6000)
        x = images.reshape(len(images), 784).astype(np.float32) / np.float32(255)
        parts = ((x[:5000], labels[:5000]), (x[5000:], labels[5000:]), (x[:0], labels[:0]))
        with gzip.open(path, "wb", compresslevel=1) as f:
            pickle.dump(parts, f)
    return path


def execute(program: Program, framework: str, workdir: Path, seed: int = 0) -> dict:
    """Run one program in this process (called in a fresh child) and describe the run."""
    os.chdir(workdir)
    os.environ.update(program.env)
    sys.path.insert(0, str(SHIMS))
    if framework == "tinynet":
        install_alias()
    fw = importlib.import_module(framework)
    random.seed(seed)
    np.random.seed(seed)
    fw.manual_seed(seed)
    path = HERE / f"{program.name}.py"
    result: dict = {"framework": framework, "ok": False, "values": {}}
    out = open(workdir / "stdout.txt", "w")
    saved = sys.stdout
    sys.stdout = out
    start = time.perf_counter()
    try:
        namespace = _run_path(path)
        result["ok"] = True
    except BaseException as exc:  # the program's own failure is the measurement
        result["error"] = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        result["traceback"] = traceback.format_exc()
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
        if frames:
            result["where"] = f"{path.name}:{frames[-1].lineno}: {frames[-1].line}"
    finally:
        result["seconds"] = round(time.perf_counter() - start, 3)
        sys.stdout = saved
        out.close()
    stdout = (workdir / "stdout.txt").read_text()
    result["stdout"] = stdout
    values = {key: [_numbers(m) for m in re.findall(rx, stdout, re.M)]
              for key, rx in program.stdout.items()}
    if result["ok"]:
        for key, expr in program.values.items():
            try:
                if expr.startswith("dtype:"):
                    values[key] = dtype_name(eval(expr[6:], namespace))
                else:
                    values[key] = plain(eval(expr, namespace))
            except Exception as exc:  # reading back is the harness's job: report, go on
                result.setdefault("readback_errors", []).append(f"{key}: {exc!r}")
    if program.derive is not None:
        try:
            values.update(program.derive(values))
        except Exception as exc:
            result.setdefault("readback_errors", []).append(f"derived values: {exc!r}")
    result["values"] = values
    return result


def _run_path(path: Path) -> dict:
    import runpy
    return runpy.run_path(str(path), run_name="__main__")


# --------------------------------------------------------------------------- workers

def worker(framework: str, names: list[str], out_dir: Path, timeout: float, seed: int) -> None:
    """Import the framework once, then run each program in a forked child."""
    fw = importlib.import_module(framework)  # the expensive part, shared by the children
    if framework == "torch":
        # PyTorch's first optimizer imports torch._dynamo (seconds): pay it once, here. Nothing
        # is computed, so no thread pool exists yet to be broken by fork.
        fw.optim.SGD([fw.nn.Parameter(fw.zeros(1))], lr=0.1)
    root = Path(tempfile.mkdtemp(prefix=f"programs-{framework}-"))
    try:
        for name in names:
            program = PROGRAMS[name]
            if "mnist.pkl.gz" in program.files:
                mnist_pickle(root)  # once, before forking
            target = out_dir / f"{name}.json"
            if hasattr(os, "fork"):
                _forked(program, framework, root, target, timeout, seed)
            else:
                _subprocess(program, framework, target, timeout, seed)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _forked(program, framework, root, target, timeout, seed) -> None:
    workdir = prepare_workdir(program, root)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: run, write, leave without cleanup handlers
        code = 0
        try:
            result = execute(program, framework, workdir, seed)
            target.write_text(json.dumps(result))
        except BaseException:
            traceback.print_exc()
            code = 1
        os._exit(code)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            _write_failure(target, framework, f"timed out after {timeout:.0f} s")
            return
        time.sleep(0.02)
    if not target.exists():
        _write_failure(target, framework, f"the process died (wait status {status})")


def _subprocess(program, framework, target, timeout, seed) -> None:
    cmd = [sys.executable, str(Path(__file__)), "--child", framework, program.name,
           "--out", str(target), "--seed", str(seed)]
    try:
        subprocess.run(cmd, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        _write_failure(target, framework, f"timed out after {timeout:.0f} s")
    if not target.exists():
        _write_failure(target, framework, "the process died")


def _write_failure(target: Path, framework: str, error: str) -> None:
    target.write_text(json.dumps({"framework": framework, "ok": False, "error": error,
                                  "values": {}, "stdout": ""}))


def start(framework: str, names: list[str], timeout: float = 120, seed: int = 0):
    """Start a worker process; ``collect`` waits for it and returns {name: result}."""
    out_dir = Path(tempfile.mkdtemp(prefix=f"programs-results-{framework}-"))
    # One thread each: the runs are small, and PyTorch's spinning thread pool on a busy
    # 2-core machine made some programs 50 times slower.
    env = dict(os.environ, MPLBACKEND="Agg", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1")
    root = str(HERE.parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    cmd = [sys.executable, str(Path(__file__)), "--worker", framework, *names,
           "--out", str(out_dir), "--timeout", str(timeout), "--seed", str(seed)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    return proc, out_dir, names


def collect(handle) -> dict[str, dict]:
    proc, out_dir, names = handle
    log, _ = proc.communicate()
    results = {}
    for name in names:
        path = out_dir / f"{name}.json"
        if path.exists():
            results[name] = json.loads(path.read_text())
        else:
            results[name] = {"ok": False, "values": {}, "stdout": "",
                             "error": f"the worker did not run it; its output:\n{log[-2000:]}"}
    shutil.rmtree(out_dir, ignore_errors=True)
    return results


def run(framework: str, names: list[str], timeout: float = 120, seed: int = 0) -> dict:
    return collect(start(framework, names, timeout, seed))


# --------------------------------------------------------------------------- command line

def summary_row(name: str, ref: dict | None, got: dict) -> tuple[str, str, str]:
    """(runs unchanged, matches torch, first problem) for one program."""
    runs = "yes" if got["ok"] else "no"
    if not got["ok"]:
        where = got.get("where", "")
        return runs, "no", f"{got.get('error', '').splitlines()[-1] if got.get('error') else ''}" \
            + (f" (at {where})" if where else "")
    if ref is None:
        return runs, "no torch", ""
    if not ref["ok"]:
        return runs, "torch failed", ref.get("error", "")
    problems = compare(PROGRAMS[name], ref["values"], got["values"])
    problems += got.get("readback_errors", [])
    return runs, "yes" if not problems else "no", "; ".join(problems)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="programs (default: all)")
    parser.add_argument("-f", "--framework", choices=FRAMEWORKS,
                        help="run on one framework only and print its output")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--markdown", action="store_true", help="print the README table")
    parser.add_argument("--json", help="write all results to this file")
    parser.add_argument("--worker", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    parser.add_argument("--child", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    names = args.names or list(PROGRAMS)
    unknown = [n for n in names if n not in PROGRAMS]
    if unknown:
        parser.error(f"unknown programs {unknown}; known: {', '.join(PROGRAMS)}")
    if args.worker:
        worker(args.worker, names, Path(args.out), args.timeout, args.seed)
        return 0
    if args.child:
        root = Path(tempfile.mkdtemp(prefix="programs-child-"))
        program = PROGRAMS[names[0]]
        result = execute(program, args.child, prepare_workdir(program, root), args.seed)
        Path(args.out).write_text(json.dumps(result))
        return 0
    if args.framework:
        results = run(args.framework, names, args.timeout, args.seed)
        for name, r in results.items():
            print(f"=== {name} on {args.framework}: {'ran' if r['ok'] else 'FAILED'} "
                  f"({r.get('seconds', '?')} s)")
            if len(names) == 1:
                print(r.get("stdout", ""))
            if not r["ok"]:
                print(r.get("traceback") or r.get("error"))
            print(json.dumps({k: _short(v, 120) for k, v in r["values"].items()}, indent=1))
        if args.json:
            Path(args.json).write_text(json.dumps(results))
        return 0
    handles = {fw: start(fw, names, args.timeout, args.seed) for fw in FRAMEWORKS}
    results = {fw: collect(h) for fw, h in handles.items()}
    if args.json:
        Path(args.json).write_text(json.dumps(results))
    rows = [(name, *summary_row(name, results["torch"][name], results["tinynet"][name]))
            for name in names]
    if args.markdown:
        print("| program | source | runs unchanged | matches torch | \"matches\" means | "
              "first problem on tinynet |")
        print("| --- | --- | --- | --- | --- | --- |")
        for name, runs, matches, problem in rows:
            print(f"| `{name}` | {PROGRAMS[name].source} | {runs} | {matches} | "
                  f"{meaning(PROGRAMS[name])} | "
                  f"{problem.replace('|', '/')} |")
    else:
        for name, runs, matches, problem in rows:
            t, n = results["torch"][name], results["tinynet"][name]
            print(f"{name:22} torch {'ok' if t['ok'] else 'FAIL':4} {t.get('seconds', '-')!s:>6}s"
                  f"  tinynet runs {runs:3} {n.get('seconds', '-')!s:>6}s  matches {matches:8}"
                  f"  {problem}")
    unchanged = sum(r[1] == "yes" for r in rows)
    matching = sum(r[2] == "yes" for r in rows)
    print(f"\n{unchanged} of {len(rows)} run unchanged on tinynet; {matching} match torch")
    return 0


if __name__ == "__main__":
    sys.exit(main())

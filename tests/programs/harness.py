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
the program that raised it, stdout, and the values its row names, read back as plain
numbers.

What is read back from each program, and what "matches torch" means for it, is in suite.py.
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
from pathlib import Path

import numpy as np

from suite import PROGRAMS, Program, _short, compare, meaning  # noqa: F401 (re-exported)

HERE = Path(__file__).resolve().parent
SHIMS = HERE / "_shims"
DATA = HERE / "data"
FRAMEWORKS = ("torch", "tinynet")


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

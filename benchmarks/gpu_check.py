"""One command for a machine with an NVIDIA GPU: tinynet's CuPy tests, a short training
run on the GPU and the GPU benchmark, with one summary at the end.

    python benchmarks/gpu_check.py                      # CuPy already installed
    python benchmarks/gpu_check.py --wheels .whl        # test extras from local wheels
    python benchmarks/gpu_check.py --data-dir ~/data    # a folder holding mnist/

Without a GPU (or without CuPy) it says so and exits 0: there is nothing to check. The
test extras (pytest, array-api-compat, array-api-strict) are pure Python; ``--wheels DIR``
installs them with ``pip install --no-index`` from a folder of wheels, for machines with
no network. Each step runs in its own process with a time limit; the exit status is 1 if
a step failed.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXTRAS = ["pytest", "hypothesis", "array_api_compat", "array_api_strict"]


def gpu_status() -> tuple[bool, str]:
    """(usable, description) of the GPU as CuPy sees it."""
    if importlib.util.find_spec("cupy") is None:
        return False, "CuPy is not installed (pip install 'tinynet[cuda12]' or [cuda13])"
    try:
        import cupy
        count = cupy.cuda.runtime.getDeviceCount()
        if count == 0:
            return False, "CuPy sees no CUDA GPU"
        name = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
        return True, f"{count} GPU(s), the first a {name}; CuPy {cupy.__version__}"
    except Exception as exc:  # no driver, broken install
        return False, f"CuPy is installed but CUDA is unusable: {exc}"


def install_extras(wheels: str | None) -> None:
    missing = [name for name in EXTRAS if importlib.util.find_spec(name) is None]
    if not missing:
        return
    if wheels is None:
        print(f"note: {', '.join(missing)} not installed; pass --wheels DIR to install them "
              "from local wheels (the CuPy tests need pytest)")
        return
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index",
                    "--find-links", wheels] + [n.replace("_", "-") for n in missing],
                   check=False)


def run_step(name: str, command: list[str], timeout: int, env: dict) -> dict:
    print(f"\n=== {name}: {' '.join(command)}", flush=True)
    start = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, timeout=timeout,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        status, output = ("ok" if done.returncode == 0 else f"exit {done.returncode}"), \
            done.stdout
    except subprocess.TimeoutExpired as exc:
        status, output = f"timed out after {timeout} s", (exc.stdout or b"").decode()
    print(output[-6000:], flush=True)
    last = [line for line in output.strip().splitlines() if line.strip()][-1:] or [""]
    return {"step": name, "status": status, "seconds": time.perf_counter() - start,
            "last line": last[0][:110]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--wheels", help="a folder of wheels for the test extras (pip --no-index)")
    p.add_argument("--data-dir", default=os.environ.get("TINYNET_DATA_DIR"),
                   help="the folder holding mnist/ (default $TINYNET_DATA_DIR)")
    p.add_argument("--epochs", type=int, default=2, help="epochs of the training run")
    p.add_argument("--timeout", type=int, default=300, help="seconds allowed per step")
    args = p.parse_args(argv)

    usable, description = gpu_status()
    print(f"GPU: {description}")
    if not usable:
        print("no usable NVIDIA GPU here: nothing to check (exit 0)")
        return 0
    install_extras(args.wheels)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               PYTHONUNBUFFERED="1")
    if args.data_dir:
        env["TINYNET_DATA_DIR"] = args.data_dir
    py = sys.executable
    steps = [
        ("CuPy tests", [py, "-m", "pytest", "-q", "-x", "-k", "cupy", "-p", "no:cacheprovider",
                        "tests"]),
        ("train_mnist on the GPU", [py, "examples/train_mnist.py", "--device", "cuda",
                                    "--epochs", str(args.epochs)]),
        ("train_mnist CNN on the GPU", [py, "examples/train_mnist.py", "--device", "cuda",
                                        "--model", "cnn", "--epochs", "1"]),
        ("benchmark on the GPU", [py, "benchmarks/bench_mnist.py", "--device", "cuda",
                                  "--epochs", "2", "--no-memory"]),
    ]
    results = [run_step(name, command, args.timeout, env) for name, command in steps]
    print(f"\n=== summary ({description})")
    print("| step | status | seconds | last line |\n| --- | --- | --- | --- |")
    for r in results:
        print(f"| {r['step']} | {r['status']} | {r['seconds']:.0f} | {r['last line']} |")
    return 0 if all(r["status"] == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

"""The teaching examples run, as a user would run them, and their own checks pass."""
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


BACKENDS = ["numpy", pytest.param("strict", marks=pytest.mark.skipif(
    importlib.util.find_spec("array_api_strict") is None, reason="array-api-strict missing"))]


def run(args, cwd, backend="numpy", timeout=120):
    env = dict(os.environ, TINYNET_BACKEND=backend)
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.mark.parametrize("backend", BACKENDS)
def test_autograd_walkthrough_checks_pass(tmp_path, backend):
    graph = tmp_path / "bce.svg"
    done = run([str(EXAMPLES / "autograd_walkthrough.py"), "--graph", str(graph)], tmp_path,
               backend)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stderr, done.stderr
    out = done.stdout
    assert "FAILED" not in out and "all checks passed" in out
    assert out.count("[ok]") == 9
    assert "dL/d(input) passed to each input" in out  # the trace table
    assert "Sigmoid: -2.649" in out  # signed: dL/dp = -1/p, not its norm 2.649
    assert "w: [-0.6225, -1.245, 0.6225], x: -" in out  # labelled inputs, readable vectors
    assert "SoftmaxCrossEntropy" in out
    assert "loss = 2000.0" in out
    if shutil.which("dot") is None:
        assert "apt install graphviz" in out
    else:
        assert graph.read_text().lstrip().startswith("<?xml")


@pytest.mark.parametrize("graph,message", [
    ("no/such/folder/bce.svg", "does not exist"),
    ("bce.txt", "must end in .svg or .png"),
    (".", "must end in .svg or .png"),
])
def test_autograd_walkthrough_bad_graph_path_is_one_line(tmp_path, graph, message):
    done = run([str(EXAMPLES / "autograd_walkthrough.py"), "--graph", graph], tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert f"--graph {graph!r}: " in done.stderr and message in done.stderr
    assert done.stdout == ""  # refused before any work


@pytest.mark.parametrize("backend", BACKENDS)
def test_plot_losses_writes_a_png(tmp_path, backend):
    pytest.importorskip("matplotlib")
    png = tmp_path / "losses.png"
    done = run([str(EXAMPLES / "plot_losses.py"), "--out", str(png)], tmp_path, backend)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ": True" in done.stdout and "False" not in done.stdout  # autograd == closed forms
    assert png.read_bytes().startswith(b"\x89PNG")


def test_plot_losses_without_matplotlib_says_how_to_install(tmp_path):
    hide = ("import sys, runpy; sys.modules['matplotlib'] = None; "
            f"sys.argv = ['plot_losses.py', '--out', 'losses.png']; "
            f"runpy.run_path({str(EXAMPLES / 'plot_losses.py')!r}, run_name='__main__')")
    done = run(["-c", hide], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "matplotlib is not installed: pip install 'tinynet[plot]'" in done.stdout
    assert not (tmp_path / "losses.png").exists()

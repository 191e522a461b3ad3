"""examples/train_mnist.py end to end on real MNIST (skipped when the data is not at hand),
and its command line, checkpoints, resume and Ctrl-C."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinynet as tn

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "examples" / "train_mnist.py"
DATA = os.environ.get("TINYNET_DATA_DIR", "")
needs_mnist = pytest.mark.skipif(
    not os.path.isdir(os.path.join(DATA, "mnist")),
    reason="real MNIST not found: set TINYNET_DATA_DIR to a folder holding mnist/")


def run(*flags, check=True, cwd=None):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    result = subprocess.run([sys.executable, str(SCRIPT), "--quiet", *flags], env=env,
                            capture_output=True, text=True, cwd=cwd, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def test_help():
    out = run("--help").stdout
    for flag in ("--model", "--hidden", "--epochs", "--batch-size", "--lr", "--momentum",
                 "--weight-decay", "--optimizer", "--dataset", "--device", "--seed",
                 "--data-dir", "--save", "--resume", "--log", "--plot"):
        assert flag in out


@pytest.mark.parametrize("flags,message", [
    (["--lr", "-0.1"], "--lr must be positive, got -0.1"),
    (["--model", "resnet"], "invalid choice: 'resnet'"),
    (["--data-dir", "/no/such/folder"], "'/no/such/folder' is not a folder"),
    (["--epochs", "0"], "--epochs must be positive"),
    (["--hidden", "512,x"], "--hidden must be comma-separated integers"),
    (["--hidden", ""], "--hidden must be comma-separated integers"),
    (["--hidden", "512,,10"], "--hidden must be comma-separated integers"),
    (["--lr", "inf"], "--lr must be a finite number"),
    (["--save", "/no/such/folder/run.ckpt"], "--save '/no/such/folder/run.ckpt': cannot write"),
    (["--log", "/"], "--log '/': cannot write there"),
])
def test_bad_flags_exit_2_with_one_line(flags, message):
    result = run(*flags, check=False)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


@needs_mnist
def test_resume_with_other_flags_is_refused(tmp_path):
    ckpt = tmp_path / "run.ckpt"
    run(*SMALL, "--epochs", "1", "--save", str(ckpt))
    result = run(*SMALL, "--epochs", "2", "--optimizer", "adam", "--resume", str(ckpt),
                 check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--optimizer sgd (now adam)" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_missing_data_fails_fast_with_guidance(tmp_path):
    env = dict(os.environ, TINYNET_DATA_DIR=str(tmp_path))
    result = subprocess.run([sys.executable, str(SCRIPT), "--quiet", "--data-dir",
                             str(tmp_path)], env=env, capture_output=True, text=True,
                            timeout=300, input="")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "TINYNET_DATA_DIR" in result.stderr and "mnist" in result.stderr


@needs_mnist
def test_one_epoch_mlp_reaches_96_percent(tmp_path):
    log = tmp_path / "metrics.jsonl"
    run("--epochs", "1", "--log", str(log))
    row = json.loads(log.read_text().splitlines()[-1])
    assert row["test_acc"] >= 0.96, row


@needs_mnist
def test_one_epoch_logreg_reaches_90_percent(tmp_path):
    log = tmp_path / "metrics.jsonl"
    run("--model", "logreg", "--epochs", "1", "--log", str(log))
    row = json.loads(log.read_text().splitlines()[-1])
    assert row["test_acc"] >= 0.90, row


def _params(path):
    return {k: np.asarray(v.numpy() if isinstance(v, tn.Tensor) else v)
            for k, v in tn.load(str(path))["model"].items()}


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


SMALL = ["--hidden", "64", "--batch-size", "256"]


@needs_mnist
def test_resume_equals_uninterrupted(tmp_path):
    flags = SMALL + ["--schedule", "constant"]
    run(*flags, "--epochs", "2", "--save", str(tmp_path / "full.ckpt"))
    run(*flags, "--epochs", "1", "--save", str(tmp_path / "half.ckpt"))
    out = run(*flags, "--epochs", "2", "--resume", str(tmp_path / "half.ckpt"),
              "--save", str(tmp_path / "resumed.ckpt")).stdout
    assert "resumed" in out
    _assert_same(_params(tmp_path / "full.ckpt"), _params(tmp_path / "resumed.ckpt"))


@needs_mnist
def test_ctrl_c_saves_and_resume_matches(tmp_path):
    flags = SMALL + ["--epochs", "3"]
    run(*flags, "--save", str(tmp_path / "full.ckpt"))
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    ckpt = tmp_path / "run.ckpt"
    proc = subprocess.Popen([sys.executable, str(SCRIPT), "--quiet", *flags, "--save",
                             str(ckpt)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:  # wait for the end of epoch 1, then interrupt epoch 2
        if line.startswith("epoch  1/3"):
            proc.send_signal(signal.SIGINT)
            break
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    assert "interrupted during epoch 2" in err and "--resume" in err
    assert tn.load(str(ckpt))["epoch"] == 1
    run(*flags, "--resume", str(ckpt), "--save", str(tmp_path / "resumed.ckpt"))
    _assert_same(_params(tmp_path / "full.ckpt"), _params(tmp_path / "resumed.ckpt"))


@needs_mnist
def test_plot_and_log(tmp_path):
    pytest.importorskip("matplotlib")
    out = run(*SMALL, "--model", "logreg", "--epochs", "1", "--plot",
              str(tmp_path / "curves.png"), "--log", str(tmp_path / "m.jsonl")).stdout
    assert (tmp_path / "curves.png").stat().st_size > 1000
    assert "final test accuracy" in out
    assert set(json.loads((tmp_path / "m.jsonl").read_text())) >= {
        "epoch", "train_loss", "train_acc", "test_loss", "test_acc", "seconds"}


@needs_mnist
def test_logistic_regression_teaching_script_learns():
    """examples/logistic_regression.py, the one-page training loop, runs and learns."""
    script = ROOT / "examples" / "logistic_regression.py"
    result = subprocess.run([sys.executable, str(script), "--epochs", "1"], capture_output=True,
                            text=True, timeout=300, env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    accuracy = float(result.stdout.split("test accuracy")[-1].strip().rstrip("%"))
    assert accuracy >= 90.0, result.stdout

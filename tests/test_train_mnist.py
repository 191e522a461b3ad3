"""examples/train_mnist.py end to end on real MNIST (skipped when the data is not at hand):
its command line, progress bars, checkpoints, resume and Ctrl-C, data-folder mistakes,
divergence, plots, loss curves in TensorBoard and W&B, and models exported for PyTorch and
onnxruntime."""
import argparse
import fcntl
import importlib.util
import json
import os
import pty
import re
import shlex
import signal
import struct
import subprocess
import sys
import termios
from pathlib import Path

import numpy as np
import pytest

import tinynet as tn

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "examples" / "train_mnist.py"
sys.path.insert(0, str(ROOT / "examples"))
import mnist_cli  # noqa: E402  (the script's own modules, for the tests that need no run)
import mnist_report  # noqa: E402
import train_mnist  # noqa: E402

DATA = os.environ.get("TINYNET_DATA_DIR", "")
needs_mnist = pytest.mark.skipif(
    not os.path.isdir(os.path.join(DATA, "mnist")),
    reason="real MNIST not found: set TINYNET_DATA_DIR to a folder holding mnist/")


def installed(*packages):
    return all(importlib.util.find_spec(p) is not None for p in packages)


def run(*flags, check=True, cwd=None, env=None, quiet=True):
    env = dict(os.environ if env is None else env, PYTHONUNBUFFERED="1")
    result = subprocess.run([sys.executable, str(SCRIPT), *(["--quiet"] if quiet else []),
                             *flags], env=env, capture_output=True, text=True, cwd=cwd,
                            timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


QUICK = ["--model", "logreg", "--limit", "2000"]  # about a second per epoch
SMALL = ["--hidden", "64", "--batch-size", "256", "--limit", "6000"]


# ---- the command line (--help, checks) ------------------------------------------------------
def test_help_documents_every_flag_once_with_examples_and_ctrl_c():
    parser = mnist_cli.build_parser(train_mnist.DEFAULT_EPOCHS, sorted(train_mnist.DATASETS))
    for action in parser._actions:
        assert action.help, f"{action.option_strings} has no help"
        assert action.help.count("default") <= 1, action.help
        assert action.default in (None, False, argparse.SUPPRESS), action.option_strings
    out = run("--help").stdout
    for flag in ("--model", "--hidden", "--epochs", "--batch-size", "--lr", "--momentum",
                 "--weight-decay", "--optimizer", "--dataset", "--device", "--seed",
                 "--data-dir", "--save", "--resume", "--log", "--plot", "--val-split",
                 "--tensorboard", "--wandb", "--export", "--safetensors"):
        assert flag in out
    assert "{sgd,adam,adamw}" in out and "AdamW, decoupled weight decay" in out
    assert "examples:" in out and "Ctrl-C stops cleanly" in out
    assert "(default: 0.9)" in out and out.count("(default: 128)") == 1


@pytest.mark.parametrize("flags,message", [
    (["--lr", "-0.1"], "--lr must be positive, got -0.1"),
    (["--model", "resnet"], "invalid choice: 'resnet'"),
    (["--data-dir", "/no/such/folder"], "'/no/such/folder' is not a folder"),
    (["--epochs", "0"], "--epochs must be positive"),
    (["--hidden", "512,x"], "--hidden must be comma-separated integers"),
    (["--hidden", ""], "--hidden must be comma-separated integers"),
    (["--lr", "inf"], "--lr must be a finite number"),
    (["--momentum", "1.5"], "--momentum must be in [0, 1), got 1.5"),
    (["--momentum", "1"], "--momentum must be in [0, 1), got 1.0"),
    (["--seed", "-1"], "--seed must be >= 0, got -1"),
    (["--val-split", "1"], "--val-split must be in [0, 1)"),
    (["--device", "tpu"], "--device must be cpu, cuda or cuda:N, got 'tpu'"),
    (["--save", "/no/such/folder/run.ckpt"], "--save '/no/such/folder/run.ckpt': cannot write"),
    (["--log", "/"], "--log '/': cannot write there"),
    (["--plot", "curves.jpg"], "--plot 'curves.jpg': the file name must end in .png or .pdf "
                               "or .svg"),
    (["--export", "model.pt"], "--export 'model.pt': the file name must end in .onnx"),
])
def test_bad_flags_exit_2_with_one_line(flags, message, tmp_path):
    result = run(*flags, check=False, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_adam_means_adam_and_adamw_means_adamw():
    model = train_mnist.build_model(argparse.Namespace(model="logreg"))
    for name, cls in (("sgd", tn.optim.SGD), ("adam", tn.optim.Adam),
                      ("adamw", tn.optim.AdamW)):
        args = mnist_cli.parse_args(["--optimizer", name], train_mnist.DEFAULT_EPOCHS,
                                    ["mnist"])
        optimizer, _ = train_mnist.build_optimizer(args, model, 10)
        assert type(optimizer) is cls
        assert optimizer.param_groups[0]["lr"] == (0.1 if name == "sgd" else 1e-3)


# ---- 1. the device: --device, else the environment's backend, said in the header ------------
@needs_mnist
def test_device_follows_tinynet_backend_unless_given(tmp_path):
    env = dict(os.environ, TINYNET_BACKEND="strict")
    out = run(*QUICK, "--epochs", "1", env=env).stdout
    assert "device  strict (TINYNET_BACKEND=strict)" in out and "final test accuracy" in out
    out = run(*QUICK, "--epochs", "1", "--device", "cpu", env=env).stdout
    assert "device  cpu (--device cpu; it overrides TINYNET_BACKEND=strict)" in out
    env = {k: v for k, v in os.environ.items() if k != "TINYNET_BACKEND"}
    assert "device  cpu (the default;" in run(*QUICK, "--epochs", "1", env=env).stdout


# ---- 2. progress bars: a live count, a smoothed loss, an eval bar; off in logs ---------------
@needs_mnist
def test_progress_bars_count_batches_and_show_a_smoothed_loss_on_a_terminal(tmp_path):
    master, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 150, 0, 0))
    proc = subprocess.Popen([sys.executable, str(SCRIPT), *SMALL, "--limit", "20000",
                             "--batch-size", "128", "--epochs", "1"], stdout=subprocess.PIPE,
                            stderr=terminal, text=True, env=dict(os.environ), cwd=tmp_path)
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the script closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.wait(timeout=300) == 0
    frames = b"".join(chunks).decode().replace("\n", "\r").split("\r")
    train = [f for f in frames if f.startswith("epoch 1/1:")]
    with_loss = [f for f in train if "(smoothed)" in f]
    assert with_loss, train
    for frame in with_loss:  # the count moves with the loss, never a stale 0/157
        done = int(re.search(r"\| *(\d+)/157 ", frame).group(1))
        assert done >= 20, frame
        assert re.search(r"loss \d+\.\d{4} \(smoothed\), [\d,]+ ex/s", frame), frame
    assert any(f.startswith("test:") for f in frames)  # the evaluation has a bar too


@needs_mnist
def test_no_bars_when_stderr_is_not_a_terminal():
    result = run(*QUICK, "--epochs", "1", quiet=False)  # stderr is a pipe here, as in CI
    assert result.stderr == "" and "final test accuracy" in result.stdout


# ---- 3. --resume takes the run's flags from the checkpoint ----------------------------------
def _params(path):
    return {k: np.asarray(v.numpy() if isinstance(v, tn.Tensor) else v)
            for k, v in tn.load(str(path))["model"].items()}


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@needs_mnist
def test_resume_takes_lr_momentum_weight_decay_and_seed_from_the_checkpoint(tmp_path):
    flags = SMALL + ["--schedule", "constant", "--lr", "0.05", "--momentum", "0.5",
                     "--weight-decay", "0.001", "--seed", "3", "--optimizer", "sgd"]
    run(*flags, "--epochs", "2", "--save", str(tmp_path / "full.ckpt"))
    run(*flags, "--epochs", "1", "--save", str(tmp_path / "half.ckpt"))
    # only --epochs (a constant rate may extend a run): everything else from the checkpoint
    out = run("--resume", str(tmp_path / "half.ckpt"), "--epochs", "2",
              "--save", str(tmp_path / "resumed.ckpt")).stdout
    assert "resumed" in out and "sgd lr 0.05 (constant)" in out
    _assert_same(_params(tmp_path / "full.ckpt"), _params(tmp_path / "resumed.ckpt"))
    assert tn.load(str(tmp_path / "resumed.ckpt"))["config"]["seed"] == 3


@needs_mnist
def test_a_resumed_cnn_keeps_its_batchnorm_statistics(tmp_path):
    """The checkpoint holds the running statistics (buffers) with the weights, and a run
    resumed from it ends where the uninterrupted run ends, statistics included."""
    flags = ["--model", "cnn", "--limit", "1000", "--batch-size", "100", "--schedule",
             "constant"]
    run(*flags, "--epochs", "2", "--save", str(tmp_path / "full.ckpt"))
    run(*flags, "--epochs", "1", "--save", str(tmp_path / "half.ckpt"))
    state = _params(tmp_path / "full.ckpt")
    assert {"2.running_mean", "2.running_var", "2.num_batches_tracked"} <= set(state)
    assert state["2.num_batches_tracked"] == 20 and np.abs(state["2.running_mean"]).max() > 0
    assert _params(tmp_path / "half.ckpt")["2.num_batches_tracked"] == 10
    out = run("--resume", str(tmp_path / "half.ckpt"), "--epochs", "2", "--save",
              str(tmp_path / "resumed.ckpt")).stdout
    assert "resumed" in out
    _assert_same(state, _params(tmp_path / "resumed.ckpt"))


@needs_mnist
def test_resume_refuses_flags_that_contradict_the_checkpoint_naming_them(tmp_path):
    ckpt = tmp_path / "run.ckpt"
    run(*QUICK, "--epochs", "1", "--save", str(ckpt))
    result = run("--resume", str(ckpt), "--optimizer", "adam", "--lr", "0.2", "--epochs", "3",
                 check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for conflict in ("--optimizer adam (the checkpoint has --optimizer sgd)",
                     "--lr 0.2 (the checkpoint has --lr 0.1)",
                     "--epochs 3 (the checkpoint has --epochs 1)"):  # cosine spans the run
        assert conflict in result.stderr
    assert "--model" not in result.stderr  # taken from the checkpoint, not contradicted
    out = run("--resume", str(ckpt), "--model", "logreg", "--lr", "0.1").stdout
    assert "nothing to train" in out  # the same values given explicitly are fine


@needs_mnist
def test_ctrl_c_saves_and_the_printed_command_resumes_exactly(tmp_path):
    flags = SMALL + ["--epochs", "3", "--lr", "0.05"]
    run(*flags, "--save", str(tmp_path / "full.ckpt"))
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    ckpt = tmp_path / "run.ckpt"
    # The script starts with SIGINT as a terminal gives it, even when these tests run in a
    # background job, whose children inherit an ignored SIGINT.
    proc = subprocess.Popen([sys.executable, str(SCRIPT), "--quiet", *flags, "--save",
                             str(ckpt)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for line in proc.stdout:  # wait for the end of epoch 1, then interrupt epoch 2
        if line.startswith("epoch  1/3"):
            proc.send_signal(signal.SIGINT)
            break
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    assert "interrupted during epoch 2" in err and tn.load(str(ckpt))["epoch"] == 1
    command = shlex.split(err.strip().splitlines()[-1])  # exactly what the user is told
    assert command[:2] == ["python", str(SCRIPT)]  # the script as it was started
    assert command[2:] == ["--resume", str(ckpt), "--save", str(ckpt), "--quiet"]
    done = subprocess.run([sys.executable, *command[1:]], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    _assert_same(_params(tmp_path / "full.ckpt"), _params(ckpt))


# ---- 4. the data folder: the script's flags in messages, nothing created ---------------------
@needs_mnist
def test_data_dir_one_level_too_deep_says_pass_its_parent(tmp_path):
    inner = os.path.join(DATA, "mnist")
    result = run("--data-dir", inner, check=False, cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"--data-dir {inner!r} holds the MNIST files itself; pass its parent: " \
           f"--data-dir {os.path.abspath(DATA)}" in result.stderr
    assert not os.path.exists(os.path.join(inner, "mnist"))
    env = dict(os.environ, TINYNET_DATA_DIR=inner)
    result = run(check=False, env=env, cwd=tmp_path)
    assert result.returncode == 2 and f"TINYNET_DATA_DIR={os.path.abspath(DATA)}" in result.stderr


def test_missing_data_names_the_scripts_flag_and_creates_nothing(tmp_path):
    (tmp_path / "data").mkdir()
    env = dict(os.environ, TINYNET_DATA_DIR=str(tmp_path / "data"))
    result = subprocess.run([sys.executable, str(SCRIPT), "--quiet", "--data-dir",
                             str(tmp_path / "data")], env=env, capture_output=True,
                            text=True, timeout=300, input="", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "could not download" in result.stderr
    assert "--data-dir" in result.stderr and "TINYNET_DATA_DIR" in result.stderr
    assert "root=" not in result.stderr and str(tmp_path / "data" / "mnist") in result.stderr
    assert os.listdir(tmp_path / "data") == []  # no empty mnist/ left behind


# ---- 5. divergence stops at the first non-finite loss ----------------------------------------
@needs_mnist
def test_a_diverging_run_stops_with_an_error(tmp_path):
    result = run(*QUICK, "--epochs", "3", "--lr", "1e9", "--log", str(tmp_path / "m.jsonl"),
                 check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert re.search(r"error: the training loss became (nan|inf) at step \d+ \(in epoch 1\): "
                     r"the run diverged and was stopped\. Lower --lr", result.stderr)
    assert "Warning" not in result.stderr and "epoch  1/3" not in result.stdout
    assert not (tmp_path / "m.jsonl").exists()


# ---- 6. plots: checked up front, the format of the suffix, whole epochs, a title -------------
@needs_mnist
@pytest.mark.parametrize("suffix,magic", [(".pdf", b"%PDF"), (".svg", b"<?xml"),
                                          (".png", b"\x89PNG")])
def test_plot_writes_the_format_of_its_suffix(tmp_path, suffix, magic):
    pytest.importorskip("matplotlib")
    path = tmp_path / f"curves{suffix}"
    out = run(*QUICK, "--epochs", "1", "--plot", str(path)).stdout
    assert path.read_bytes().startswith(magic) and f"curves saved to {path}" in out
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_the_figure_has_whole_epochs_and_names_the_run():
    pytest.importorskip("matplotlib")
    history = [{"epoch": e, "train_loss": 1 / e, "train_acc": 0.9, "val_loss": 1.1 / e,
                "val_acc": 0.89, "test_loss": 1.2 / e, "test_acc": 0.88} for e in (1, 2, 3)]
    args = argparse.Namespace(model="mlp", hidden=[64, 32], dataset="fashion-mnist")
    fig = mnist_report.curves_figure(history, args)
    assert fig._suptitle.get_text() == "mlp 784-64-32-10 on Fashion-MNIST"
    for axis in fig.axes:
        ticks = [t for t in axis.get_xticks() if 1 <= t <= 3]
        assert ticks and all(float(t).is_integer() for t in ticks)
        assert [line.get_label() for line in axis.get_lines()] == ["train", "val", "test"]


def test_plot_without_matplotlib_is_refused_before_training(tmp_path):
    fake = tmp_path / "fake" / "matplotlib"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named matplotlib')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path / "fake"), str(ROOT)]))
    result = run("--plot", str(tmp_path / "c.png"), check=False, env=env)
    assert result.returncode == 2 and result.stdout == ""
    assert "--plot needs the matplotlib package: pip install 'tinynet[plot]'" in result.stderr


# ---- 8. the final test accuracy, and the best epoch on a validation split --------------------
@needs_mnist
def test_val_split_picks_the_best_epoch_and_the_test_set_is_only_reported(tmp_path):
    log = tmp_path / "m.jsonl"
    out = run(*QUICK, "--epochs", "2", "--val-split", "0.1", "--log", str(log)).stdout
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert "held out for validation" in out and "(200 held out" in out
    final = re.search(r"final test accuracy (\d+\.\d+)%", out)
    assert float(final.group(1)) == pytest.approx(100 * rows[-1]["test_acc"], abs=0.006)
    best = max(rows, key=lambda r: r["val_acc"])
    assert f"best epoch by validation accuracy: {best['epoch']} " \
           f"({100 * best['val_acc']:.2f}% on 200 held-out training images" in out
    assert "best" not in out.split("final test accuracy")[1].splitlines()[0]


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
    assert set(row) >= {"epoch", "train_loss", "train_acc", "test_loss", "test_acc", "seconds"}


# ---- loss curves in TensorBoard and W&B ------------------------------------------------------
@needs_mnist
@pytest.mark.skipif(not installed("tensorboardX", "tensorboard", "wandb"),
                    reason="needs pip install 'tinynet[tensorboard,wandb]'")
def test_tensorboard_and_wandb_get_the_loss_of_every_step(tmp_path):
    from readers import tensorboard_scalars, wandb_history
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(WANDB_DIR=str(tmp_path), WANDB_SILENT="true")  # no WANDB_MODE: offline
    log = tmp_path / "m.jsonl"
    out = run(*QUICK, "--epochs", "2", "--tensorboard", str(tmp_path / "tb"), "--wandb",
              "--log", str(log), env=env, cwd=tmp_path).stdout
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    steps = 16  # 2,000 images in batches of 128
    scalars = tensorboard_scalars(tmp_path / "tb")
    assert [s for s, _ in scalars["train/loss"]] == list(range(1, 2 * steps + 1))
    sizes = [128] * (steps - 1) + [2000 - 128 * (steps - 1)]  # the epoch's mean is per image
    assert np.average([v for _, v in scalars["train/loss"][:steps]], weights=sizes) == \
        pytest.approx(rows[0]["train_loss"], rel=1e-5)
    assert scalars["train/lr"][0] == (1, pytest.approx(0.1))  # the cosine schedule's peak
    assert scalars["train/lr"][-1][1] < 0.001
    assert [(s, round(v, 6)) for s, v in scalars["test/accuracy"]] == \
        [(steps * (i + 1), round(r["test_acc"], 6)) for i, r in enumerate(rows)]
    assert [s for s, _ in scalars["test/loss"]] == [steps, 2 * steps]
    run_dir, history = wandb_history(tmp_path)
    assert f"W&B: offline run in {run_dir} (upload: wandb sync {run_dir})" in out
    losses = [(r["_step"], r["train/loss"]) for r in history if "train/loss" in r]
    assert [s for s, _ in losses] == list(range(1, 2 * steps + 1))
    assert [v for _, v in losses] == pytest.approx([v for _, v in scalars["train/loss"]])
    epochs = [(r["_step"], r["epoch"], r["test/accuracy"]) for r in history if "epoch" in r]
    assert epochs == [(steps * (i + 1), i + 1, pytest.approx(r["test_acc"]))
                      for i, r in enumerate(rows)]


# ---- models that leave tinynet ---------------------------------------------------------------
needs_export_extras = pytest.mark.skipif(
    not installed("onnx", "onnxruntime", "safetensors", "torch"),
    reason="needs pip install 'tinynet[onnx,safetensors]' and torch")


def check_exports(tmp_path, stem: str, model_args: argparse.Namespace, twin, tolerance: float):
    """The run's ``stem``.safetensors, loaded into tinynet's model of ``model_args``, gives
    the outputs that onnxruntime computes from ``stem``.onnx and that PyTorch's ``twin``
    (the same layers) computes after loading the same file with strict=True."""
    import onnxruntime
    import torch
    from safetensors.torch import load_file
    images = np.random.default_rng(0).random((5, 1, 28, 28), dtype=np.float32)  # as loaded
    model = train_mnist.build_model(model_args)
    model.load_state_dict(tn.load(tmp_path / f"{stem}.safetensors"))
    model.eval()
    expected = model(tn.tensor(images)).numpy()
    session = onnxruntime.InferenceSession(str(tmp_path / f"{stem}.onnx"))
    np.testing.assert_allclose(session.run(None, {"input": images})[0], expected,
                               rtol=tolerance, atol=1e-5)
    twin.eval().load_state_dict(load_file(str(tmp_path / f"{stem}.safetensors")), strict=True)
    np.testing.assert_allclose(twin(torch.from_numpy(images)).detach().numpy(), expected,
                               rtol=tolerance, atol=1e-5)


@needs_mnist
@needs_export_extras
def test_export_runs_in_onnxruntime_and_pytorch_loads_the_weights(tmp_path):
    import torch
    out = run(*SMALL, "--epochs", "1", "--export", str(tmp_path / "m.onnx"),
              "--safetensors", str(tmp_path / "m.safetensors")).stdout
    assert "exported to" in out and "weights saved to" in out
    twin = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 64), torch.nn.ReLU(),
                               torch.nn.Dropout(0.2), torch.nn.Linear(64, 10))
    check_exports(tmp_path, "m", argparse.Namespace(model="mlp", hidden=[64], dropout=0.2),
                  twin, 1e-5)


@needs_mnist
@needs_export_extras
def test_the_cnn_exports_with_its_batchnorm_statistics(tmp_path):
    import torch
    run("--model", "cnn", "--limit", "500", "--epochs", "1", "--export", str(tmp_path / "c.onnx"),
        "--safetensors", str(tmp_path / "c.safetensors"))
    twin = torch.nn.Sequential(*[layer for c_in, c_out in ((1, 16), (16, 32), (32, 64))
                                 for layer in (torch.nn.Conv2d(c_in, c_out, 3, padding=1,
                                                               bias=False),
                                               torch.nn.MaxPool2d(2),
                                               torch.nn.BatchNorm2d(c_out), torch.nn.ReLU())],
                               torch.nn.Flatten(), torch.nn.Linear(576, 10))
    check_exports(tmp_path, "c", argparse.Namespace(model="cnn"), twin, 1e-4)


@needs_mnist
def test_logistic_regression_teaching_script_learns():
    """examples/logistic_regression.py, the one-page training loop, runs and learns."""
    script = ROOT / "examples" / "logistic_regression.py"
    result = subprocess.run([sys.executable, str(script), "--epochs", "1"], capture_output=True,
                            text=True, timeout=300, env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    accuracy = float(result.stdout.split("test accuracy")[-1].strip().rstrip("%"))
    assert accuracy >= 90.0, result.stdout

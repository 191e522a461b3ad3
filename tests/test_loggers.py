"""Metrics reach TensorBoard and Weights & Biases, read back by the tools' own readers."""
import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import tinynet as tn
from conftest import error_without
from readers import tensorboard_scalars, wandb_history

ROOT = Path(__file__).resolve().parent.parent
needs_tensorboard = pytest.mark.skipif(
    importlib.util.find_spec("tensorboardX") is None
    or importlib.util.find_spec("tensorboard") is None,
    reason="tensorboardX or tensorboard not installed (pip install 'tinynet[tensorboard]')")
needs_wandb = pytest.mark.skipif(importlib.util.find_spec("wandb") is None,
                                 reason="wandb not installed (pip install 'tinynet[wandb]')")


@needs_tensorboard
def test_tensorboard_logger_writes_scalars_tensorboard_reads(tmp_path):
    from tinynet.loggers import TensorBoardLogger
    with TensorBoardLogger(tmp_path / "run", config={"lr": 0.1}) as logger:
        for step in range(5):
            loss = tn.tensor(2.0) / (step + 1)  # a Tensor, as a training loop has it
            logger.log({"train/loss": loss, "train/lr": 0.1}, step)
        logger.log({"test/accuracy": 0.875}, step=4)
    assert logger.location == str(tmp_path / "run")
    scalars = tensorboard_scalars(tmp_path / "run")
    assert [s for s, _ in scalars["train/loss"]] == [0, 1, 2, 3, 4]
    assert [v for _, v in scalars["train/loss"]] == pytest.approx([2, 1, 2 / 3, 0.5, 0.4])
    assert scalars["test/accuracy"] == [(4, 0.875)]
    with pytest.raises(ValueError, match="'x' must be one number.*shape \\(2,\\)"):
        TensorBoardLogger(tmp_path / "other").log({"x": tn.ones(2)}, 0)


@needs_wandb
def test_wandb_logger_is_offline_by_default_and_its_run_reads_back(tmp_path):
    code = textwrap.dedent("""
        import tinynet as tn
        from tinynet.loggers import WandbLogger
        logger = WandbLogger(project="tinynet-test", config={"lr": 0.1}, dir=".")
        for step in range(3):
            logger.log({"train/loss": tn.tensor(1.0) / (step + 1)}, step)
        logger.log({"test/accuracy": 0.5, "epoch": 1}, step=3)
        logger.close()
        print(logger.mode, logger.location)
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(PYTHONPATH=str(ROOT), WANDB_SILENT="true")  # and no WANDB_MODE: the default
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, timeout=180,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    mode, location = done.stdout.split()
    run, rows = wandb_history(tmp_path)
    assert mode == "offline" and os.path.samefile(location, run)
    losses = [(r["_step"], r["train/loss"]) for r in rows if "train/loss" in r]
    assert losses == [(0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3))]
    assert [(r["_step"], r["test/accuracy"], r["epoch"]) for r in rows
            if "test/accuracy" in r] == [(3, 0.5, 1)]


@pytest.mark.parametrize("package,logger,extra", [
    ("tensorboardX", "TensorBoardLogger('runs')", "tensorboard"),
    ("wandb", "WandbLogger()", "wandb"),
])
def test_a_missing_extra_is_named(tmp_path, package, logger, extra):
    message = error_without(tmp_path, package, f"from tinynet.loggers import *; {logger}")
    assert f"pip install 'tinynet[{extra}]'" in message

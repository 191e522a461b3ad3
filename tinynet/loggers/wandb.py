"""Scalars to a Weights & Biases run, offline unless asked otherwise.

    logger = WandbLogger(project="mnist", config={"lr": 0.1})
    logger.log({"train/loss": loss}, step=100)
    logger.close()
    # later, with an account: wandb sync <logger.location>

Offline mode needs no account and no network: the run is written to a folder
(``wandb/offline-run-...`` under ``dir``, default ``$WANDB_DIR`` or the current folder)
and can be uploaded later with ``wandb sync``. The mode is ``mode`` if given, else the
environment variable ``WANDB_MODE`` (``online``, ``offline``, ``disabled``), else offline:
a training script never waits on a network it may not have.
"""
from __future__ import annotations

import os
from typing import Any

from ..extras import require
from .scalars import as_float


class WandbLogger:
    """Log scalars to a W&B run started by ``wandb.init``.

    Args:
        project: the W&B project the run belongs to.
        config: the run's settings (flags, hyperparameters), shown beside its charts.
        dir: where the ``wandb/`` folder of runs is made (default ``$WANDB_DIR`` or ".").
        mode: ``"offline"``, ``"online"`` or ``"disabled"`` (default: see the module doc).
        name: a display name for the run.
    """

    def __init__(self, project: str = "tinynet", config: dict | None = None,
                 dir: str | os.PathLike | None = None, mode: str | None = None,
                 name: str | None = None) -> None:
        wandb = require("wandb", "wandb", "WandbLogger")
        self.mode = mode or os.environ.get("WANDB_MODE") or "offline"
        self.run = wandb.init(project=project, config=config, name=name, mode=self.mode,
                              dir=None if dir is None else os.fspath(dir))
        # run.dir is <run folder>/files; the run folder is what `wandb sync` takes
        self.location = os.path.abspath(os.path.dirname(self.run.dir))

    def log(self, metrics: dict[str, Any], step: int) -> None:
        """One row at ``step`` with each name -> value (a number or a one-element Tensor).
        Steps must not decrease: W&B drops rows logged at an earlier step."""
        self.run.log({name: as_float(name, value) for name, value in metrics.items()},
                     step=int(step))

    def close(self) -> None:
        """Finish the run: everything logged is written to its folder."""
        self.run.finish()

    def __enter__(self) -> WandbLogger:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

"""Scalars to TensorBoard event files, written by tensorboardX's ``SummaryWriter``.

    logger = TensorBoardLogger("runs/mnist")
    logger.log({"train/loss": loss, "train/lr": 0.1}, step=100)
    logger.close()
    # then: tensorboard --logdir runs

tensorboardX writes the event format (a record file of protobuf ``Event`` messages) that
TensorBoard reads; it needs only NumPy and protobuf. Each ``log`` call adds one point per
metric at ``step``; a name with a slash (``train/loss``) groups the charts by its prefix.
"""
from __future__ import annotations

import json
import os
from typing import Any

from ..extras import require
from .scalars import as_float


class TensorBoardLogger:
    """Write scalars under ``logdir`` (created if missing), as TensorBoard expects.

    Args:
        logdir: the run's folder; ``tensorboard --logdir`` on it or on its parent shows it.
        config: optional settings of the run (flags, hyperparameters), stored once as text.
        flush_secs: how often buffered points reach the file (``close`` flushes them all).
    """

    def __init__(self, logdir: str | os.PathLike, config: dict | None = None,
                 flush_secs: int = 10) -> None:
        tensorboardX = require("tensorboardX", "tensorboard", "TensorBoardLogger")
        self.location = os.fspath(logdir)
        self.writer = tensorboardX.SummaryWriter(logdir=self.location, flush_secs=flush_secs)
        if config:
            text = json.dumps(config, indent=2, default=str)
            self.writer.add_text("config", "    " + text.replace("\n", "\n    "))

    def log(self, metrics: dict[str, Any], step: int) -> None:
        """One point at ``step`` for each name -> value (a number or a one-element Tensor)."""
        for name, value in metrics.items():
            self.writer.add_scalar(name, as_float(name, value), global_step=int(step))

    def close(self) -> None:
        """Flush everything to disk and close the event file."""
        self.writer.close()

    def __enter__(self) -> TensorBoardLogger:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

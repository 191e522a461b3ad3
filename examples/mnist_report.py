"""What train_mnist.py shows and writes: progress bars, the training loss as it is read
from the device, the metrics sent to a JSON-lines log, TensorBoard and W&B, the summary,
the plot and the exported model."""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys

from tqdm import tqdm

import tinynet as tn

READ_EVERY = 20  # training steps between two reads of the losses from the device


def progress_bar(total: int, desc: str, enabled: bool) -> tqdm:
    """A bar on stderr that the caller advances with ``update()``, so its count is always
    the number of batches done (tqdm's iterator wrapper redraws a stale one when the
    postfix changes); ``leave=False``: it vanishes when done, the epoch's line stays."""
    return tqdm(total=total, desc=desc, unit="batch", leave=False, disable=not enabled,
                mininterval=0.5, file=sys.stderr, dynamic_ncols=True)


class Diverged(RuntimeError):
    """The training loss became nan or inf."""


class LossMeter:
    """The training loss of every step, kept on the device and read in blocks of
    ``READ_EVERY`` steps (one transfer each, not one per step). Each read checks that the
    losses are finite, sends them to the metric sinks, and updates a smoothed loss
    (an exponential moving average with bias correction) for the progress bar."""

    def __init__(self, sinks: MetricSinks, epoch: int, beta: float = 0.98) -> None:
        self.sinks, self.epoch, self.beta = sinks, epoch, beta
        self.pending: list = []  # (step, loss Tensor, batch size, learning rate)
        self.total = self.count = 0.0
        self.average, self.reads = 0.0, 0

    def add(self, step: int, loss: tn.Tensor, size: int, lr: float) -> bool:
        """Keep one step's loss; True when this call read the pending block."""
        self.pending.append((step, loss.detach(), size, lr))
        if len(self.pending) < READ_EVERY:
            return False
        self.read()
        return True

    def read(self) -> None:
        if not self.pending:
            return
        with tn.no_grad():
            values = tn.stack([loss for _, loss, _, _ in self.pending]).numpy().tolist()
        for (step, _, size, lr), value in zip(self.pending, values):
            if not math.isfinite(value):
                raise Diverged(f"the training loss became {value} at step {step} (in epoch "
                               f"{self.epoch}): the run diverged and was stopped")
            self.total += value * size
            self.count += size
            self.reads += 1
            self.average = self.beta * self.average + (1 - self.beta) * value
            self.sinks.log({"train/loss": value, "train/lr": lr}, step)
        self.pending.clear()

    @property
    def smoothed(self) -> float:
        return self.average / (1 - self.beta ** self.reads) if self.reads else math.nan

    @property
    def mean(self) -> float:
        """The epoch's mean training loss over the samples read so far."""
        return self.total / self.count


class MetricSinks:
    """Where the metrics go: a JSON-lines file (one row per epoch), and the TensorBoard
    and W&B loggers of tinynet.loggers (the training loss and learning rate at every step,
    the epoch's metrics at the epoch's last step)."""

    def __init__(self, args: argparse.Namespace, config: dict) -> None:
        self.jsonl, self.loggers = args.log, []
        if args.tensorboard:
            from tinynet.loggers import TensorBoardLogger
            self.loggers.append(TensorBoardLogger(args.tensorboard, config=config))
            print(f"TensorBoard: event files in {args.tensorboard} "
                  f"(view: tensorboard --logdir {args.tensorboard})")
        if args.wandb:
            from tinynet.loggers import WandbLogger
            logger = WandbLogger(project=args.wandb_project, config=config)
            self.loggers.append(logger)
            print(f"W&B: {logger.mode} run in {logger.location}" +
                  (f" (upload: wandb sync {logger.location})" if logger.mode == "offline" else ""))

    def log(self, metrics: dict, step: int) -> None:
        for logger in self.loggers:
            logger.log(metrics, step)

    def epoch(self, row: dict, step: int) -> None:
        if self.jsonl:
            with open(self.jsonl, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
        metrics = {f"{split}/{name}": row[f"{split}_{key}"]
                   for split in ("train", "val", "test") for key, name in
                   (("loss", "epoch_loss" if split == "train" else "loss"), ("acc", "accuracy"))
                   if f"{split}_{key}" in row}
        self.log(dict(metrics, epoch=row["epoch"]), step)

    def close(self) -> None:
        for logger in self.loggers:
            logger.close()


# ---- the run's description, before and after ------------------------------------------------
def describe_model(args: argparse.Namespace) -> str:
    if args.model == "logreg":
        return "logreg 784-10"
    if args.model == "cnn":
        return "cnn conv 16-32-64 (3x3, max-pool 2, BatchNorm, ReLU), dense 576-10"
    return f"{args.model} " + "-".join(map(str, [784] + args.hidden + [10]))


def dataset_title(args: argparse.Namespace) -> str:
    return {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}.get(args.dataset, args.dataset)


def describe_run(args: argparse.Namespace, model: tn.nn.Module, device_reason: str,
                 batches: int, n_test: int) -> str:
    """The header: the model, the data, the device and why, the schedule of the run."""
    n_params = sum(p.numel() for p in model.parameters())
    n_train = args.n_train + args.val_count
    held_out = f" ({args.val_count:,} held out for validation)" if args.val_count else ""
    return (f"model   {describe_model(args)}, {n_params:,} parameters\n"
            f"data    {dataset_title(args)}: {n_train:,} training images{held_out}, "
            f"{n_test:,} test images\n"
            f"device  {tn.get_backend().device} ({device_reason})\n"
            f"run     {args.epochs} epoch{'s' * (args.epochs != 1)} of {batches} batches of "
            f"{args.batch_size}, {args.optimizer} lr {args.lr:g} ({args.schedule})")


def summarize(history: list[dict], args: argparse.Namespace, world: int = 1) -> None:
    """The final test accuracy (the model we end with; picking the best epoch by its test
    accuracy would be selection on the test set), with the number of processes that trained
    it when there were several, and, with --val-split, the best epoch by validation
    accuracy."""
    if not history:
        return
    last = history[-1]
    per_epoch = sorted(row["train_seconds"] for row in history)[len(history) // 2]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"final test accuracy {100 * last['test_acc']:.2f}% (loss {last['test_loss']:.4f}) "
          f"after {last['epoch']} epoch{'s' * (last['epoch'] != 1)}; {per_epoch:.2f} s per "
          "training epoch (median); "
          f"peak memory {peak_mb:.0f} MB"
          + (f" per process; {world} processes (mpiexec -n {world})" if world > 1 else ""))
    if "val_acc" in history[0]:
        best = max(history, key=lambda row: row["val_acc"])
        print(f"best epoch by validation accuracy: {best['epoch']} "
              f"({100 * best['val_acc']:.2f}% on {args.val_count:,} held-out training images; "
              f"test accuracy then {100 * best['test_acc']:.2f}%)")


def curves_figure(history: list[dict], args: argparse.Namespace):
    """Loss and accuracy per epoch for each split, whole epochs on the x axis, titled with
    the run's model and data set."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    epochs = [row["epoch"] for row in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for split in ("train", "val", "test"):
        if f"{split}_loss" in history[0]:
            left.plot(epochs, [r[f"{split}_loss"] for r in history], marker="o", label=split)
            right.plot(epochs, [100 * r[f"{split}_acc"] for r in history], marker="o",
                       label=split)
    left.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    right.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for axis in (left, right):
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.grid(alpha=0.3)
        axis.legend()
    fig.suptitle(f"{describe_model(args)} on {dataset_title(args)}")
    fig.tight_layout()
    return fig


def plot_curves(history: list[dict], path: str, args: argparse.Namespace) -> None:
    """The curves, in the format the suffix names (png, pdf, svg), written whole or not."""
    import matplotlib.pyplot as plt
    fig = curves_figure(history, args)
    suffix = os.path.splitext(path)[1].lower()
    tmp = f"{path}.tmp{suffix}"
    fig.savefig(tmp, dpi=100, format=suffix[1:])
    plt.close(fig)
    os.replace(tmp, path)
    print(f"curves saved to {path}")


def export_model(model: tn.nn.Module, example: tn.Tensor, args: argparse.Namespace) -> None:
    """--safetensors and --export: the trained model, for PyTorch and for onnxruntime."""
    if args.safetensors:
        tn.save(model.state_dict(), args.safetensors)
        print(f"weights saved to {args.safetensors} (safetensors; PyTorch: "
              "safetensors.torch.load_file, see docs/interchange.md)")
    if args.export:
        tn.onnx.export(model, example, args.export)
        print(f"model exported to {args.export} (ONNX opset {tn.onnx.OPSET}, input "
              f"{tuple(example.shape[1:])} per image; onnxruntime runs it, see "
              "docs/interchange.md)")

"""Train logistic regression, an MLP or a CNN on MNIST or Fashion-MNIST with tinynet.

    python examples/train_mnist.py                          # MLP 784-512-512-10 on MNIST
    python examples/train_mnist.py --model cnn              # a CNN with BatchNorm: 99.3%+
    python examples/train_mnist.py --model logreg --epochs 10
    python examples/train_mnist.py --dataset fashion-mnist --log metrics.jsonl --plot curves.png
    python examples/train_mnist.py --device cuda            # the same model on a GPU (CuPy)

The defaults reach about 98.5% test accuracy on MNIST and about 90% on Fashion-MNIST:
SGD with Nesterov momentum, a cosine learning-rate schedule, weight decay and dropout.
Ctrl-C stops cleanly: the state at the start of the interrupted epoch is saved, and
``--resume PATH`` continues from it to exactly the result of an uninterrupted run.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import time

from tqdm import tqdm

import tinynet as tn
import tinynet.nn.functional as F
from tinynet import nn
from tinynet.data import DataLoader, FashionMNIST, MNIST

DATASETS = {"mnist": MNIST, "fashion-mnist": FashionMNIST}
DEFAULT_EPOCHS = {"mlp": 20, "logreg": 10, "cnn": 6}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        """One line and exit status 2, not the whole usage block (see --help for that)."""
        self.exit(2, f"{self.prog}: error: {message}\n")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = _Parser(
        description="Train a classifier on MNIST or Fashion-MNIST with tinynet.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add = parser.add_argument
    add("--model", choices=["mlp", "logreg", "cnn"], default="mlp",
        help="an MLP with ReLU hidden layers, logistic (softmax) regression, or a CNN "
             "(three conv-maxpool-BatchNorm-ReLU blocks, 16-32-64 channels)")
    add("--hidden", default="512,512", help="hidden layer sizes of the MLP, comma-separated")
    add("--dropout", type=float, default=0.2, help="dropout after each hidden layer (MLP)")
    add("--epochs", type=int, default=None,
        help="passes over the training set (default: 20 for mlp, 10 for logreg, 6 for cnn)")
    add("--batch-size", type=int, default=128)
    add("--optimizer", choices=["sgd", "adam"], default="sgd")
    add("--lr", type=float, default=None,
        help="peak learning rate (default: 0.1 for sgd, 0.001 for adam)")
    add("--momentum", type=float, default=0.9, help="SGD momentum (Nesterov)")
    add("--weight-decay", type=float, default=5e-4)
    add("--schedule", choices=["cosine", "constant"], default="cosine",
        help="learning rate per step: cosine decay to 0 over the run, or constant")
    add("--dataset", choices=sorted(DATASETS), default="mnist")
    add("--data-dir", default=None,
        help="folder holding mnist/ or fashion-mnist/ (default: $TINYNET_DATA_DIR, else "
             "~/.cache/tinynet, where the files are downloaded if missing)")
    add("--device", choices=["cpu", "cuda"], default="cpu")
    add("--seed", type=int, default=0, help="seeds the weights, the batch order and dropout")
    add("--save", metavar="PATH", help="write a checkpoint here after every epoch (atomic)")
    add("--resume", metavar="PATH", help="continue training from a checkpoint")
    add("--log", metavar="PATH", help="append one JSON line of metrics per epoch")
    add("--plot", metavar="PATH", help="save loss and accuracy curves (needs matplotlib)")
    add("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    args.epochs = DEFAULT_EPOCHS[args.model] if args.epochs is None else args.epochs
    args.lr = (0.1 if args.optimizer == "sgd" else 1e-3) if args.lr is None else args.lr
    try:
        args.hidden = [int(n) for n in args.hidden.split(",")]
    except ValueError:
        parser.error(f"--hidden must be comma-separated integers, got {args.hidden!r}")
    numbers = {"--lr": args.lr, "--momentum": args.momentum,
               "--weight-decay": args.weight_decay, "--dropout": args.dropout}
    for flag, value in numbers.items():
        if not math.isfinite(value):
            parser.error(f"{flag} must be a finite number, got {value}")
    for flag in ("--save", "--log", "--plot"):
        path = getattr(args, flag[2:])
        if path is not None and not _writable(path):
            parser.error(f"{flag} {path!r}: cannot write there (the folder must exist and "
                         "the path must not be a folder)")
    checks = [(args.lr > 0, f"--lr must be positive, got {args.lr}"),
              (args.epochs > 0, f"--epochs must be positive, got {args.epochs}"),
              (args.batch_size > 0, f"--batch-size must be positive, got {args.batch_size}"),
              (args.momentum >= 0, f"--momentum must be >= 0, got {args.momentum}"),
              (args.weight_decay >= 0, f"--weight-decay must be >= 0, got {args.weight_decay}"),
              (0 <= args.dropout < 1, f"--dropout must be in [0, 1), got {args.dropout}"),
              (all(n > 0 for n in args.hidden), f"--hidden sizes must be positive"),
              (args.data_dir is None or os.path.isdir(args.data_dir),
               f"--data-dir {args.data_dir!r} is not a folder"),
              (args.resume is None or os.path.isfile(args.resume),
               f"--resume {args.resume!r}: no such file")]
    for ok, message in checks:
        if not ok:
            parser.error(message)
    return args


def _writable(path: str) -> bool:
    folder = os.path.dirname(os.path.abspath(path))
    return os.path.isdir(folder) and not os.path.isdir(path) and os.access(folder, os.W_OK)


def build_model(args: argparse.Namespace) -> nn.Module:
    if args.model == "logreg":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    if args.model == "cnn":  # (B, 784) rows -> 28x28 -> 14x14 -> 7x7 -> 3x3 images
        layers: list[nn.Module] = [nn.Unflatten(1, (1, 28, 28))]
        for c_in, c_out in ((1, 16), (16, 32), (32, 64)):
            # Pooling before BatchNorm and ReLU: they run on a quarter of the pixels.
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),  # BN has a bias
                       nn.MaxPool2d(2), nn.BatchNorm2d(c_out), nn.ReLU()]
        return nn.Sequential(*layers, nn.Flatten(), nn.Linear(64 * 3 * 3, 10))
    layers: list[nn.Module] = [nn.Flatten()]
    width = 784
    for size in args.hidden:
        layers += [nn.Linear(width, size), nn.ReLU()]
        if args.dropout > 0:
            layers.append(nn.Dropout(args.dropout))
        width = size
    layers.append(nn.Linear(width, 10))
    return nn.Sequential(*layers)


def build_optimizer(args, model, total_steps):
    if args.optimizer == "sgd":
        optimizer = tn.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum,
                                 weight_decay=args.weight_decay,
                                 nesterov=args.momentum > 0)
    else:
        optimizer = tn.optim.AdamW(model.parameters(), lr=args.lr,
                                   weight_decay=args.weight_decay)
    schedule = None  # constant
    if args.schedule == "cosine":
        schedule = tn.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    return optimizer, schedule


def evaluate(model: nn.Module, loader: DataLoader) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over a data set, in eval mode, recording no graph."""
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    with tn.no_grad():
        for x, y in loader:
            logits = model(x)
            total_loss += F.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).long().sum().item()
            count += len(y)
    model.train()
    return total_loss / count, correct / count


def train_epoch(model, loader, optimizer, schedule, epoch, args):
    """One pass over the training set. Returns (mean loss, accuracy)."""
    loss_sum, correct = tn.zeros(()), tn.zeros((), dtype=tn.int64)  # summed on the device
    seen, start = 0, time.perf_counter()
    bar = tqdm(loader, desc=f"epoch {epoch}/{args.epochs}", unit="batch", leave=False,
               disable=args.quiet, mininterval=0.5, file=sys.stderr)
    for step, (x, y) in enumerate(bar):
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if schedule is not None:
            schedule.step()
        with tn.no_grad():
            loss_sum = loss_sum + loss * len(y)
            correct = correct + (logits.argmax(1) == y).long().sum()
        seen += len(y)
        if step % 50 == 0 and not args.quiet:  # an occasional read: no sync every step
            rate = seen / max(time.perf_counter() - start, 1e-9)
            bar.set_postfix(loss=f"{loss.item():.4f}", ex_per_s=f"{rate:,.0f}")
    return loss_sum.item() / seen, correct.item() / seen


def snapshot(obj):
    """A copy of a nested state (tensors copied), taken at an epoch boundary."""
    if isinstance(obj, tn.Tensor):
        return tn.tensor(obj)
    if isinstance(obj, dict):
        return type(obj)((k, snapshot(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(snapshot(v) for v in obj)
    return obj


RESUME_MUST_MATCH = ("model", "hidden", "dropout", "optimizer", "schedule", "dataset",
                     "batch_size")


def run_config(args: argparse.Namespace) -> dict:
    """The flags a checkpoint must be resumed with (the cosine schedule spans --epochs)."""
    keys = RESUME_MUST_MATCH + (("epochs",) if args.schedule == "cosine" else ())
    return {key: getattr(args, key) for key in keys}


def check_resume_config(saved: dict, args: argparse.Namespace) -> str | None:
    """None if the checkpoint's flags match these, else a one-line explanation."""
    now = run_config(args)
    diff = [f"--{key.replace('_', '-')} {saved.get(key)} (now {now[key]})"
            for key in now if saved.get(key) != now[key]]
    return None if not diff else "the checkpoint was made with " + ", ".join(diff)


def training_state(args, model, optimizer, schedule, loader, epoch, history):
    return {"epoch": epoch, "config": run_config(args),
            "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "schedule": schedule.state_dict() if schedule else {}, "loader": loader.state_dict(),
            "rng": tn.get_rng_state(), "history": history}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        tn.set_backend(args.device)
    except RuntimeError as error:
        print(f"error: --device {args.device}: {error}", file=sys.stderr)
        return 2
    tn.manual_seed(args.seed)
    try:
        train_set = DATASETS[args.dataset](root=args.data_dir, train=True)
        test_set = DATASETS[args.dataset](root=args.data_dir, train=False)
    except (OSError, RuntimeError, ValueError) as error:
        print(f"error: could not load {args.dataset}: {error}", file=sys.stderr)
        return 2
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                              seed=args.seed, flatten=True)
    test_loader = DataLoader(test_set, batch_size=1000, flatten=True)
    model = build_model(args)
    optimizer, schedule = build_optimizer(args, model, args.epochs * len(train_loader))

    first_epoch, history = 1, []
    if args.resume:
        try:
            state = tn.load(args.resume)
            mismatch = check_resume_config(state["config"], args)
            if mismatch:
                raise ValueError(mismatch)
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            if schedule is not None:
                schedule.load_state_dict(state["schedule"])
            train_loader.load_state_dict(state["loader"])
            tn.set_rng_state(state["rng"])
        except (KeyError, RuntimeError, ValueError) as error:
            reason = " ".join(str(error).split())  # one line
            print(f"error: cannot resume from {args.resume}: {reason}", file=sys.stderr)
            return 2
        first_epoch, history = int(state["epoch"]) + 1, list(state["history"])
        print(f"resumed from {args.resume} after epoch {first_epoch - 1}")

    n_params = sum(p.numel() for p in model.parameters())
    print(f"{args.model} ({n_params:,} parameters) on {args.dataset}, device "
          f"{tn.get_backend().device}, {args.epochs} epochs of {len(train_loader)} batches")
    # The state at the last epoch boundary: what Ctrl-C saves, whenever it comes.
    boundary = snapshot(training_state(args, model, optimizer, schedule, train_loader,
                                       first_epoch - 1, history))
    try:
        for epoch in range(first_epoch, args.epochs + 1):
            start = time.perf_counter()
            train_loss, train_acc = train_epoch(model, train_loader, optimizer, schedule,
                                                epoch, args)
            train_seconds = time.perf_counter() - start
            test_loss, test_acc = evaluate(model, test_loader)
            row = {"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc,
                   "test_loss": test_loss, "test_acc": test_acc,
                   "seconds": round(time.perf_counter() - start, 3),
                   "train_seconds": round(train_seconds, 3),
                   "lr": optimizer.param_groups[0]["lr"]}
            history.append(row)
            boundary = snapshot(training_state(args, model, optimizer, schedule, train_loader,
                                               epoch, history))
            tqdm.write(f"epoch {epoch:2d}/{args.epochs}  train loss {train_loss:.4f}  "
                       f"acc {100 * train_acc:.2f}%  |  test loss {test_loss:.4f}  "
                       f"acc {100 * test_acc:.2f}%  |  {row['seconds']:.1f} s")
            if args.log:
                with open(args.log, "a", encoding="utf-8") as f:
                    f.write(json.dumps(row) + "\n")
            if args.save:
                tn.save(boundary, args.save)
    except KeyboardInterrupt:
        path = args.save or f"{args.dataset}-{args.model}-interrupted.ckpt"
        tn.save(boundary, path)
        done = boundary["epoch"]
        print(f"\ninterrupted during epoch {done + 1}: saved the state after epoch {done} "
              f"to {path}; continue with --resume {path}", file=sys.stderr)
        return 130

    summarize(history, args)
    return 0


def summarize(history: list[dict], args: argparse.Namespace) -> None:
    if not history:
        print("nothing to train: the checkpoint has already reached --epochs")
        return
    last = history[-1]
    per_epoch = sorted(row["train_seconds"] for row in history)[len(history) // 2]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"final test accuracy {100 * last['test_acc']:.2f}% (loss {last['test_loss']:.4f}) "
          f"after {last['epoch']} epochs; best {100 * max(r['test_acc'] for r in history):.2f}%"
          f"; {per_epoch:.2f} s per training epoch (median); peak memory {peak_mb:.0f} MB")
    if args.plot:
        plot_curves(history, args.plot)


def plot_curves(history: list[dict], path: str) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"note: --plot needs matplotlib (pip install 'tinynet[plot]'); {path} not written")
        return
    epochs = [row["epoch"] for row in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label in (("train_loss", "train"), ("test_loss", "test")):
        left.plot(epochs, [row[key] for row in history], marker="o", label=label)
    for key, label in (("train_acc", "train"), ("test_acc", "test")):
        right.plot(epochs, [100 * row[key] for row in history], marker="o", label=label)
    left.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    right.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for axis in (left, right):
        axis.grid(alpha=0.3)
        axis.legend()
    fig.tight_layout()
    tmp = f"{path}.tmp.png"
    fig.savefig(tmp, dpi=100)
    os.replace(tmp, path)
    print(f"curves saved to {path}")


if __name__ == "__main__":
    sys.exit(main())

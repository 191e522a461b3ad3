"""Train logistic regression, an MLP or a CNN on MNIST or Fashion-MNIST with tinynet.

    python examples/train_mnist.py                          # MLP 784-512-512-10 on MNIST
    python examples/train_mnist.py --model cnn              # a CNN with BatchNorm: 99.3%+
    python examples/train_mnist.py --model logreg --epochs 10
    python examples/train_mnist.py --dataset fashion-mnist --val-split 0.1 --plot curves.png
    python examples/train_mnist.py --tensorboard runs/mlp --export model.onnx
    python examples/train_mnist.py --help                   # every flag, with its default
    OMP_NUM_THREADS=1 mpiexec -n 2 python examples/train_mnist.py   # on 2 processes (MPI)

The defaults reach about 98.5% test accuracy on MNIST and about 90% on Fashion-MNIST:
SGD with Nesterov momentum, a cosine learning-rate schedule, weight decay and dropout.
Ctrl-C stops cleanly: the state after the last finished epoch is saved, and
``--resume PATH`` continues from it, with the run's flags, to exactly the result of an
uninterrupted run. The command line lives in mnist_cli.py; the data, model and optimizer in mnist_setup.py;
what the run shows and writes (bars, metrics, plots, exported models) in mnist_report.py.

Under ``mpiexec -n N`` (``pip install 'tinynet[mpi]'``), each of the N processes trains on
its share of every batch (``--batch-size`` is the global batch, split N ways) and
DistributedDataParallel averages the gradients (docs/distributed.md); only rank 0 prints,
logs and writes files.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

import tinynet as tn
import tinynet.distributed as dist
import tinynet.nn.functional as F
from tinynet import nn
from tinynet.nn.parallel import DistributedDataParallel
from tinynet.utils.data import DataLoader, DistributedSampler

from mnist_cli import (adopt_checkpoint_config, choose_device, parse_args, resume_command,
                       run_config)
from mnist_report import (Diverged, LossMeter, MetricSinks, describe_run, export_model,
                          plot_curves, progress_bar, summarize)
from mnist_setup import (DATASETS, DEFAULT_EPOCHS, CtrlC, build_model,  # noqa: F401
                         build_optimizer, load_data, only_rank_0_writes)


def evaluate(model: nn.Module, loader: DataLoader, desc: str, bars: bool) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over a data set, in eval mode, recording no graph."""
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    bar = progress_bar(len(loader), desc, bars)
    with tn.no_grad():
        for x, y in loader:
            logits = model(x)
            total_loss += F.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).long().sum().item()
            count += len(y)
            bar.update()
    bar.close()
    model.train()
    return total_loss / count, correct / count


def show_loss(bar, meter, seen, start, refresh):
    rate = seen / max(time.perf_counter() - start, 1e-9)
    bar.set_postfix_str(f"loss {meter.smoothed:.4f} (smoothed), {rate:,.0f} ex/s",
                        refresh=refresh)


def train_epoch(model, loader, optimizer, schedule, epoch, args, meter, step, ctrl_c=None):
    """One pass over the training set (this rank's share of it); the losses go to ``meter``.
    Returns (accuracy, the number of steps done since the run began)."""
    correct = tn.zeros((), dtype=tn.int64)  # summed on the device
    seen, start = 0, time.perf_counter()
    bar = progress_bar(len(loader), f"epoch {epoch}/{args.epochs}", args.bars)
    for x, y in loader:
        if ctrl_c is not None and ctrl_c.pressed_on_any_rank():
            raise KeyboardInterrupt
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1
        was_read = meter.add(step, loss, len(y), optimizer.param_groups[0]["lr"])
        if schedule is not None:
            schedule.step()
        with tn.no_grad():
            correct = correct + (logits.argmax(1) == y).long().sum()
        seen += len(y)
        bar.update()
        if was_read:  # the smoothed loss, shown at the bar's next redraw
            show_loss(bar, meter, seen, start, refresh=False)
    meter.read()
    show_loss(bar, meter, seen, start, refresh=True)  # the epoch's last state, even when
    bar.close()                                        # it ran faster than one redraw
    totals = tn.tensor([meter.total, meter.count, correct.item(), seen], dtype=tn.float64)
    dist.all_reduce(totals)  # the epoch's loss and accuracy over all ranks
    meter.total, meter.count, correct_total, seen_total = totals.tolist()
    return correct_total / seen_total, step


def snapshot(obj):
    """A copy of a nested state (tensors copied), taken at an epoch boundary."""
    if isinstance(obj, tn.Tensor):
        return tn.tensor(obj)
    if isinstance(obj, dict):
        return type(obj)((k, snapshot(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(snapshot(v) for v in obj)
    return obj


def training_state(args, model, optimizer, schedule, epoch, history):
    return {"epoch": epoch, "config": run_config(args),
            "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "schedule": schedule.state_dict() if schedule else {},
            "rng": tn.get_rng_state(), "history": history}  # the RNG state fixes the next order


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv, DEFAULT_EPOCHS, sorted(DATASETS))
    args.bars = not args.quiet and sys.stderr.isatty()  # no bars in CI logs
    dist.init_process_group("mpi")  # under mpiexec -n N: N ranks; else a world of one
    world = dist.get_world_size()
    if dist.get_rank() > 0:
        args = only_rank_0_writes(args)
    if args.batch_size % world:
        return fail(f"--batch-size {args.batch_size} does not split evenly over {world} "
                    "processes")
    device, why = choose_device(args)
    try:
        tn.set_backend(device)
    except (RuntimeError, ValueError) as error:
        return fail(f"device {device} ({why}): {error}")
    state = None
    if args.resume:  # the run's flags come from the checkpoint, before anything is built
        try:
            state = tn.load(args.resume)
            problem = adopt_checkpoint_config(state["config"], args)
        except (KeyError, RuntimeError, ValueError) as error:
            problem = " ".join(str(error).split())  # one line
        if problem:
            return fail(f"cannot resume from {args.resume}: {problem}")
    tn.manual_seed(args.seed)
    try:
        train_data, val_data, test_data = load_data(args)
    except OSError as error:
        return fail(str(error))
    sampler = None
    if world > 1:  # rank r: every N-th sample of one order per epoch, B/N of every batch
        sampler = DistributedSampler(train_data, seed=args.seed)
    train_loader = DataLoader(train_data, batch_size=args.batch_size // world,
                              shuffle=sampler is None, sampler=sampler)
    val_loader = DataLoader(val_data, batch_size=1000) if val_data else None
    test_loader = DataLoader(test_data, batch_size=1000)
    model = build_model(args)
    optimizer, schedule = build_optimizer(args, model, args.epochs * len(train_loader))

    first_epoch, history = 1, []
    if state is not None:
        try:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            if schedule is not None:
                schedule.load_state_dict(state["schedule"])
            tn.set_rng_state(state["rng"])
        except (KeyError, RuntimeError, ValueError) as error:
            return fail(f"cannot resume from {args.resume}: {' '.join(str(error).split())}")
        first_epoch, history = int(state["epoch"]) + 1, list(state["history"])
        print(f"resumed from {args.resume} after epoch {first_epoch - 1}")
    net = DistributedDataParallel(model)  # rank 0's weights everywhere; gradients averaged

    print(describe_run(args, model, why, len(train_loader), len(test_data))
          + (f", split over {world} processes" if world > 1 else ""))
    try:
        sinks = MetricSinks(args, run_config(args))
    except Exception as error:  # raised by TensorBoard's or W&B's package: their message
        return fail(f"cannot start the metric loggers: {type(error).__name__}: {error}")
    try:  # NumPy's overflow warnings are noise: the loss is checked for nan and inf
        with np.errstate(all="ignore"):
            code = train(args, net, optimizer, schedule, train_loader, val_loader,
                         test_loader, first_epoch, history, sinks)
    finally:
        sinks.close()
    if code == 0:
        summarize(history, args, world)
        if args.plot and history:
            plot_curves(history, args.plot, args)
        if args.export or args.safetensors:
            export_model(model, next(iter(test_loader))[0][:1], args)
    dist.destroy_process_group()
    return code


def train(args, net, optimizer, schedule, train_loader, val_loader, test_loader,
          first_epoch, history, sinks) -> int:
    """The epochs, with a checkpoint at every boundary; 130 on Ctrl-C, 1 if it diverged.
    ``net`` is the model wrapped in DistributedDataParallel, ``net.module`` the model."""
    model, world = net.module, dist.get_world_size()
    ctrl_c = CtrlC() if world > 1 else None
    step = (first_epoch - 1) * len(train_loader)
    if first_epoch > args.epochs:
        print(f"nothing to train: the checkpoint has already reached --epochs {args.epochs}")
    # The state at the last epoch boundary: what Ctrl-C saves, whenever it comes.
    boundary = snapshot(training_state(args, model, optimizer, schedule,
                                       first_epoch - 1, history))
    try:
        for epoch in range(first_epoch, args.epochs + 1):
            if isinstance(train_loader.sampler, DistributedSampler):
                train_loader.sampler.set_epoch(epoch)  # a new order, the same on all ranks
            start = time.perf_counter()
            meter = LossMeter(sinks, epoch)
            train_acc, step = train_epoch(net, train_loader, optimizer, schedule, epoch,
                                          args, meter, step, ctrl_c)
            row = {"epoch": epoch, "train_loss": meter.mean, "train_acc": train_acc,
                   "train_seconds": round(time.perf_counter() - start, 3)}
            text = f"epoch {epoch:2d}/{args.epochs}  train loss {meter.mean:.4f}  " \
                   f"acc {100 * train_acc:.2f}%"
            for split, loader in (("val", val_loader), ("test", test_loader)):
                if loader is not None:
                    loss, acc = evaluate(model, loader, split, args.bars)
                    row[f"{split}_loss"], row[f"{split}_acc"] = loss, acc
                    text += f"  |  {split} loss {loss:.4f}  acc {100 * acc:.2f}%"
            row.update(seconds=round(time.perf_counter() - start, 3),
                       lr=optimizer.param_groups[0]["lr"])
            history.append(row)
            boundary = snapshot(training_state(args, model, optimizer, schedule,
                                               epoch, history))
            print(f"{text}  |  {row['seconds']:.1f} s")
            sinks.epoch(row, step)
            if args.save:
                tn.save(boundary, args.save)
    except KeyboardInterrupt:
        if dist.get_rank() > 0:
            return 130  # rank 0 saves
        path = args.save or f"{args.dataset}-{args.model}-interrupted.ckpt"
        tn.save(boundary, path)
        done = boundary["epoch"]
        command = (f"mpiexec -n {world} " if world > 1 else "") + resume_command(args, path)
        print(f"\ninterrupted during epoch {done + 1}: saved the state after epoch {done} "
              f"to {path}; continue with:\n  {command}", file=sys.stderr)
        return 130
    except Diverged as error:
        kept = (f"; {args.save} holds the state after epoch {boundary['epoch']}"
                if args.save and boundary["epoch"] else "")
        fail(f"{error}. Lower --lr (this run: {args.lr:g}){kept}")
        if world > 1:  # another rank may see it a step later, inside a collective: end all
            sys.stderr.flush()
            os._exit(1)
        return 1
    return 0


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())

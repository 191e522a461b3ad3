"""What a run of train_mnist.py is made of: the data sets, the model, the optimizer and its
schedule, and what changes when several ranks train together under mpiexec."""
from __future__ import annotations

import argparse
import os
import signal
import sys

import numpy as np

import tinynet as tn
import tinynet.distributed as dist
from tinynet import nn
from tinynet.data import FashionMNIST, MNIST
from tinynet.data.datasets import default_root
from tinynet.utils.data import Subset

from mnist_cli import data_root, explain_load_error, misplaced_data

DATASETS = {"mnist": MNIST, "fashion-mnist": FashionMNIST}
DEFAULT_EPOCHS = {"mlp": 20, "logreg": 10, "cnn": 6}  # the models build_model knows


def build_model(args) -> nn.Module:
    """The model of ``args.model`` on (B, 1, 28, 28) images."""
    if args.model == "logreg":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    if args.model == "cnn":  # 28x28 -> 14x14 -> 7x7 -> 3x3 images
        layers: list[nn.Module] = []
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
                                 weight_decay=args.weight_decay, nesterov=args.momentum > 0)
    elif args.optimizer == "adam":  # weight decay as an L2 term in the gradient
        optimizer = tn.optim.Adam(model.parameters(), lr=args.lr,
                                  weight_decay=args.weight_decay)
    else:  # adamw: weight decay applied to the weights directly
        optimizer = tn.optim.AdamW(model.parameters(), lr=args.lr,
                                   weight_decay=args.weight_decay)
    schedule = None  # constant
    if args.schedule == "cosine":
        schedule = tn.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    return optimizer, schedule


def load_data(args):
    """(train, validation or None, test) Datasets: the first --limit images of each split,
    and --val-split of the training images held out at random."""
    dataset = DATASETS[args.dataset]
    root, source = data_root(args, default_root())
    problem = misplaced_data(root, source, dataset)
    if problem:
        raise OSError(problem)
    try:
        train_set, test_set = dataset(root=root, train=True), dataset(root=root, train=False)
    except (OSError, RuntimeError, ValueError) as error:
        raise OSError(explain_load_error(error, root, dataset)) from None
    kept = np.arange(min(args.limit or len(train_set), len(train_set)))
    val = None
    args.val_count = round(len(kept) * args.val_split)
    if args.val_count:
        order = np.random.default_rng(args.seed).permutation(len(kept))
        held, kept = np.sort(order[:args.val_count]), np.sort(order[args.val_count:])
        val = Subset(train_set, held)
    args.n_train = len(kept)
    test = Subset(test_set, np.arange(min(args.limit, len(test_set)))) if args.limit \
        else test_set
    return Subset(train_set, kept), val, test


class CtrlC:
    """Ctrl-C on several ranks (mpiexec passes it to each): a rank only notes it, and at
    every step all ranks ask whether any of them has (a one-number all_reduce), so that
    they stop together, at the same step, and none waits in a collective for the others."""

    def __init__(self) -> None:
        self.pressed = 0.0
        signal.signal(signal.SIGINT, self.note)

    def note(self, signum, frame) -> None:
        self.pressed = 1.0

    def pressed_on_any_rank(self) -> bool:
        anywhere = tn.tensor([self.pressed])
        dist.all_reduce(anywhere, op=dist.ReduceOp.MAX)
        return anywhere.item() > 0


def only_rank_0_writes(args: argparse.Namespace) -> argparse.Namespace:
    """The flags of a rank other than 0: it trains in silence, writing no file."""
    sys.stdout = open(os.devnull, "w", encoding="utf-8")
    return argparse.Namespace(**dict(vars(args), bars=False, log=None, tensorboard=None,
                                     wandb=False, save=None, plot=None, export=None,
                                     safetensors=None))

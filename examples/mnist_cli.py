"""The command line of train_mnist.py: its flags, their checks, and the rules for --resume.

Flags come in two kinds. *Run flags* (the model, the data, the optimizer, the seed) decide
the numbers a run produces; a checkpoint stores them, and ``--resume`` takes them from it,
so ``--resume PATH`` alone continues a run exactly. *Session flags* (where files go, the
device, progress bars) may differ from one session of a run to the next.
"""
from __future__ import annotations

import argparse
import importlib
import math
import os
import shlex
import sys

# Run flags and their defaults; None for the two whose default depends on another flag.
RUN_DEFAULTS = {"model": "mlp", "hidden": "512,512", "dropout": 0.2, "epochs": None,
                "batch_size": 128, "optimizer": "sgd", "lr": None, "momentum": 0.9,
                "weight_decay": 5e-4, "schedule": "cosine", "dataset": "mnist", "seed": 0,
                "val_split": 0.0, "limit": 0}
SESSION_FLAGS = ("data_dir", "device", "save", "log", "plot", "tensorboard", "wandb",
                 "wandb_project", "export", "safetensors", "quiet")
DEFAULT_LR = {"sgd": 0.1, "adam": 1e-3, "adamw": 1e-3}
PLOT_FORMATS = (".png", ".pdf", ".svg")

EPILOG = """\
examples:
  python examples/train_mnist.py                          MLP 784-512-512-10, about 98.5%
  python examples/train_mnist.py --model logreg           softmax regression, about 92%
  python examples/train_mnist.py --model cnn              a CNN with BatchNorm, 99.3%+
  python examples/train_mnist.py --dataset fashion-mnist --val-split 0.1 --plot curves.png
  python examples/train_mnist.py --tensorboard runs/mlp   then: tensorboard --logdir runs
  python examples/train_mnist.py --wandb                  W&B run, offline unless WANDB_MODE
  python examples/train_mnist.py --export model.onnx --safetensors model.safetensors
  TINYNET_BACKEND=cupy python examples/train_mnist.py     on a GPU, like --device cuda

Ctrl-C stops cleanly: the state after the last finished epoch is saved (to --save PATH,
else to DATASET-MODEL-interrupted.ckpt), and --resume PATH continues the run from it with
the flags stored in the checkpoint, to exactly the result of an uninterrupted run.
"""


class Parser(argparse.ArgumentParser):
    def error(self, message: str):
        """One line and exit status 2, not the whole usage block (see --help for that)."""
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser(models: dict[str, int], datasets: list[str]) -> Parser:
    """``models``: model name -> its default number of epochs."""
    parser = Parser(description="Train a classifier on MNIST or Fashion-MNIST with tinynet.",
                    epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    epochs = ", ".join(f"{n} for {m}" for m, n in models.items())
    add("--model", choices=list(models), help="mlp: ReLU hidden layers with dropout; logreg: "
        "softmax regression; cnn: three conv-maxpool-BatchNorm-ReLU blocks of 16, 32 and 64 "
        "channels (default: mlp)")
    add("--hidden", metavar="SIZES", help="hidden layer sizes of the MLP, comma-separated "
        "(default: 512,512)")
    add("--dropout", type=float, metavar="P", help="dropout after each hidden layer of the "
        "MLP, in [0, 1) (default: 0.2)")
    add("--epochs", type=int, metavar="N", help=f"passes over the training set (default: {epochs})")
    add("--batch-size", type=int, metavar="N", help="training batch size (default: 128)")
    add("--optimizer", choices=list(DEFAULT_LR), help="sgd: SGD with Nesterov momentum; adam: "
        "Adam with L2 weight decay; adamw: AdamW, decoupled weight decay (default: sgd)")
    add("--lr", type=float, help="peak learning rate (default: 0.1 for sgd, 0.001 for adam "
        "and adamw)")
    add("--momentum", type=float, help="SGD momentum, in [0, 1) (default: 0.9)")
    add("--weight-decay", type=float, metavar="WD", help="weight decay (default: 0.0005)")
    add("--schedule", choices=["cosine", "constant"], help="learning rate per step: cosine "
        "decay to 0 over the run, or constant (default: cosine)")
    add("--dataset", choices=datasets, help="handwritten digits, or Zalando's 28x28 pictures "
        "of clothing (default: mnist)")
    add("--seed", type=int, help="seeds the weights, the batch order, dropout and the "
        "validation split; >= 0 (default: 0)")
    add("--val-split", type=float, metavar="FRACTION", help="hold out this fraction of the "
        "training set to pick the best epoch on, never the test set (default: 0, none)")
    add("--limit", type=int, metavar="N", help="use only the first N images of the training "
        "and the test set: a quick trial run (default: all)")
    add("--data-dir", metavar="DIR", help="the folder that holds mnist/ or fashion-mnist/ "
        "(default: $TINYNET_DATA_DIR, else ~/.cache/tinynet, downloaded there if missing)")
    add("--device", help="cpu, cuda or cuda:N (CuPy) (default: $TINYNET_BACKEND if set, "
        "else cpu)")
    add("--save", metavar="PATH", help="write a checkpoint here after every epoch")
    add("--resume", metavar="PATH", help="continue the run saved in this checkpoint, with its "
        "flags")
    add("--log", metavar="PATH", help="append one JSON line of metrics per epoch")
    add("--plot", metavar="PATH", help="save loss and accuracy curves as .png, .pdf or .svg "
        "(needs matplotlib)")
    add("--tensorboard", metavar="DIR", help="write TensorBoard event files here (view with "
        "tensorboard --logdir DIR; needs tinynet[tensorboard])")
    add("--wandb", action="store_true", help="log to Weights & Biases, offline unless "
        "WANDB_MODE says otherwise (needs tinynet[wandb])")
    add("--wandb-project", metavar="NAME", help="W&B project (default: tinynet-mnist)")
    add("--export", metavar="PATH.onnx", help="write the trained model as ONNX (needs "
        "tinynet[onnx])")
    add("--safetensors", metavar="PATH.safetensors", help="write the trained weights as "
        "safetensors, for PyTorch (needs tinynet[safetensors])")
    add("--quiet", action="store_true", help="no progress bars (they are off anyway when "
        "stderr is not a terminal)")
    return parser


def parse_args(argv: list[str] | None, models: dict[str, int],
               datasets: list[str]) -> argparse.Namespace:
    """The flags, checked, with defaults filled in. ``args.explicit`` is the set of run
    flags given on the command line (what --resume must not contradict)."""
    parser = build_parser(models, datasets)
    args = parser.parse_args(argv)
    args.explicit = {key for key in RUN_DEFAULTS if getattr(args, key) is not None}
    args.given = {key for key in SESSION_FLAGS if getattr(args, key) not in (None, False)}
    for key, default in RUN_DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, default)
    fill_dependent_defaults(args, models)
    try:
        args.hidden = [int(n) for n in args.hidden.split(",")]
    except ValueError:
        parser.error(f"--hidden must be comma-separated integers, got {args.hidden!r}")
    args.wandb_project = args.wandb_project or "tinynet-mnist"
    problem = check_run_flags(args) or check_session_flags(args)
    if problem:
        parser.error(problem)
    return args


def fill_dependent_defaults(args: argparse.Namespace, models: dict[str, int]) -> None:
    if "epochs" not in args.explicit:
        args.epochs = models[args.model]
    if "lr" not in args.explicit:
        args.lr = DEFAULT_LR[args.optimizer]


def check_run_flags(args: argparse.Namespace) -> str | None:
    """The first problem with the run flags, as a one-line message, or None."""
    for flag in ("lr", "momentum", "weight_decay", "dropout", "val_split"):
        if not math.isfinite(getattr(args, flag)):
            return f"--{flag.replace('_', '-')} must be a finite number, got {getattr(args, flag)}"
    checks = [(args.lr > 0, f"--lr must be positive, got {args.lr}"),
              (args.epochs > 0, f"--epochs must be positive, got {args.epochs}"),
              (args.batch_size > 0, f"--batch-size must be positive, got {args.batch_size}"),
              (0 <= args.momentum < 1, f"--momentum must be in [0, 1), got {args.momentum}"),
              (args.weight_decay >= 0, f"--weight-decay must be >= 0, got {args.weight_decay}"),
              (0 <= args.dropout < 1, f"--dropout must be in [0, 1), got {args.dropout}"),
              (all(n > 0 for n in args.hidden), "--hidden sizes must be positive"),
              (args.seed >= 0, f"--seed must be >= 0, got {args.seed}"),
              (0 <= args.val_split < 1, f"--val-split must be in [0, 1), got {args.val_split}"),
              (args.limit >= 0, f"--limit must be >= 0 (0: all), got {args.limit}")]
    return next((message for ok, message in checks if not ok), None)


def check_session_flags(args: argparse.Namespace) -> str | None:
    """The first problem with paths, devices and optional packages, or None. Checked before
    any work, so that a run never trains for an hour and then fails to write its output."""
    for flag in ("save", "log", "plot", "export", "safetensors"):
        path = getattr(args, flag)
        if path is not None and not writable(path):
            return (f"--{flag} {path!r}: cannot write there (the folder must exist and the "
                    "path must not be a folder)")
    suffixes = {"plot": PLOT_FORMATS, "export": (".onnx",), "safetensors": (".safetensors",)}
    for flag, allowed in suffixes.items():
        path = getattr(args, flag)
        if path is not None and os.path.splitext(path)[1].lower() not in allowed:
            return f"--{flag} {path!r}: the file name must end in {' or '.join(allowed)}"
    if args.tensorboard is not None and os.path.exists(args.tensorboard) \
            and not os.path.isdir(args.tensorboard):
        return f"--tensorboard {args.tensorboard!r} is a file, not a folder"
    if args.device is not None and args.device not in ("cpu", "cuda", "strict") \
            and not (args.device.startswith("cuda:") and args.device[5:].isdigit()):
        return f"--device must be cpu, cuda or cuda:N, got {args.device!r}"
    if args.data_dir is not None and not os.path.isdir(args.data_dir):
        return f"--data-dir {args.data_dir!r} is not a folder"
    if args.resume is not None and not os.path.isfile(args.resume):
        return f"--resume {args.resume!r}: no such file"
    needs = [("plot", "matplotlib", "plot"), ("tensorboard", "tensorboardX", "tensorboard"),
             ("wandb", "wandb", "wandb"), ("export", "onnx", "onnx"),
             ("safetensors", "safetensors", "safetensors")]
    for flag, package, extra in needs:
        if getattr(args, flag) not in (None, False) and not importable(package):
            return (f"--{flag.replace('_', '-')} needs the {package} package: "
                    f"pip install 'tinynet[{extra}]'")
    return None


def writable(path: str) -> bool:
    folder = os.path.dirname(os.path.abspath(path))
    return os.path.isdir(folder) and not os.path.isdir(path) and os.access(folder, os.W_OK)


def importable(package: str) -> bool:
    try:
        importlib.import_module(package)
        return True
    except ImportError:
        return False


# ---- --resume: the run flags come from the checkpoint ---------------------------------------
def run_config(args: argparse.Namespace) -> dict:
    """The run flags, as a checkpoint stores them."""
    return {key: getattr(args, key) for key in RUN_DEFAULTS}


def adopt_checkpoint_config(saved: dict, args: argparse.Namespace) -> str | None:
    """Set the run flags from a checkpoint's config. Returns a one-line error if a flag given
    on the command line contradicts it, else None. With a constant learning rate,
    ``--epochs`` may extend a run; a cosine schedule spans exactly the saved epochs."""
    conflicts = []
    for key in RUN_DEFAULTS:
        if key not in saved:
            continue  # a checkpoint from before this flag existed: the flag's value stays
        extendable = key == "epochs" and saved.get("schedule") == "constant"
        if key in args.explicit and getattr(args, key) != saved[key] and not extendable:
            flag = "--" + key.replace("_", "-")
            conflicts.append(f"{flag} {show(getattr(args, key))} (the checkpoint has "
                             f"{flag} {show(saved[key])})")
        elif not (extendable and key in args.explicit):
            setattr(args, key, saved[key])
    if conflicts:
        return ("these flags contradict the run being resumed: " + "; ".join(conflicts) +
                ". Leave them out: --resume takes the run's flags from the checkpoint")
    return None


def show(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def resume_command(args: argparse.Namespace, path: str) -> str:
    """The command that continues this run from ``path``: the run flags come from the
    checkpoint; the session flags given this time are repeated."""
    words = [sys.argv[0] or "train_mnist.py", "--resume", path]
    for key in SESSION_FLAGS:
        if key in args.given:
            value = getattr(args, key)
            words += [f"--{key.replace('_', '-')}"] + ([] if value is True else [str(value)])
    return "python " + shlex.join(words)


# ---- the device and the data: what was chosen, and why --------------------------------------
def choose_device(args: argparse.Namespace) -> tuple[str, str]:
    """The device to train on, and why (for the header): --device, else TINYNET_BACKEND."""
    env = os.environ.get("TINYNET_BACKEND")
    if args.device:
        note = f"; it overrides TINYNET_BACKEND={env}" if env else ""
        return args.device, f"--device {args.device}{note}"
    if env:
        return env, f"TINYNET_BACKEND={env}"
    return "cpu", "the default; --device cuda or TINYNET_BACKEND=cupy runs on a GPU"


def data_root(args: argparse.Namespace, default_root: str) -> tuple[str, str]:
    """The folder that should hold mnist/ (fashion-mnist/), and which setting named it."""
    if args.data_dir is not None:
        return args.data_dir, "--data-dir"
    if os.environ.get("TINYNET_DATA_DIR"):
        return os.environ["TINYNET_DATA_DIR"], "TINYNET_DATA_DIR"
    return default_root, "the default data folder"


def has_files(folder: str, names) -> bool:
    return all(os.path.isfile(os.path.join(folder, name)) or
               os.path.isfile(os.path.join(folder, name + ".gz")) for name in names)


def misplaced_data(root: str, source: str, dataset) -> str | None:
    """A message when ``root`` holds the data set's four files itself instead of in its
    subfolder (``--data-dir`` one level too deep, the usual slip), else None. Caught before
    the data set is opened, which would otherwise try to download into ``root/mnist``."""
    folder = os.path.join(root, dataset.folder)
    if has_files(folder, dataset.files) or not has_files(root, dataset.files):
        return None
    title = f"{source} {root!r}" if source != "the default data folder" else repr(root)
    if os.path.basename(os.path.normpath(os.path.abspath(root))) == dataset.folder:
        parent = os.path.dirname(os.path.normpath(os.path.abspath(root)))
        fix = (f"--data-dir {parent}" if source == "--data-dir" else f"TINYNET_DATA_DIR={parent}")
        return (f"{title} holds the {dataset.__name__} files itself; pass its parent: {fix} "
                f"(the files are read from DIR/{dataset.folder}/)")
    return (f"{title} holds the {dataset.__name__} files itself, but they are read from "
            f"its subfolder {dataset.folder}/: move them to {folder}")


def explain_load_error(error: Exception, root: str, dataset) -> str:
    """The data set's error (why each mirror failed, or what is wrong with a file), with
    this script's way to fix it: --data-dir, not the library's root= argument."""
    lines = str(error).splitlines()
    detail = [lines[0]] + [line for line in lines[1:] if line.startswith("  ")]
    names = ", ".join(dataset.files)
    return "\n".join(detail + [
        f"Put the four files {names} (each may end in .gz) in "
        f"{os.path.join(root, dataset.folder)}, or point --data-dir (or the environment "
        f"variable TINYNET_DATA_DIR) at a folder whose {dataset.folder}/ subfolder holds them."])

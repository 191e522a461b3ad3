"""Optimizers and learning-rate schedules, with PyTorch's names, defaults and update rules.

    optimizer = tn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = tn.optim.lr_scheduler.StepLR(optimizer, step_size=10)

Every update runs in place on the parameters' backend arrays (``p.array``), so it works
unchanged on NumPy, CuPy and the strict test backend, and keeps float32 in float32.
"""
from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "lr_scheduler"]


def __getattr__(name: str):
    """A clear AttributeError, naming the PyTorch name, for what tinynet lacks."""
    from ..missing import missing_name
    if name.startswith("__"):
        raise AttributeError(name)
    raise missing_name("tinynet.optim", name)

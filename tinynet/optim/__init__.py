"""Optimizers and learning-rate schedules, with PyTorch's names, defaults and update rules.

    optimizer = tn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = tn.optim.lr_scheduler.StepLR(optimizer, step_size=10)

Every update runs in place on the parameters' backend arrays (``p.array``), so it works
unchanged on NumPy, CuPy and the strict test backend, and keeps float32 in float32.
"""
from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "lr_scheduler"]

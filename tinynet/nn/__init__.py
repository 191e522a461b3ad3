"""tinynet.nn: Module, layers, losses, initialisation (``init``), ``functional`` and ``parallel``
(DistributedDataParallel)."""
from . import functional, init, parallel
from .layers import (Dropout, Flatten, Identity, Linear, LogSoftmax, ReLU, Sequential, Sigmoid,
                     Softmax, Tanh)
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from .module import Module
from .parameter import Parameter

__all__ = ["functional", "init", "parallel", "Module", "Parameter", "Linear", "ReLU", "Sigmoid", "Tanh",
           "Softmax", "LogSoftmax", "Dropout", "Flatten", "Identity", "Sequential",
           "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "MSELoss"]


def __getattr__(name: str):
    """A clear AttributeError, naming the PyTorch name, for what tinynet lacks."""
    from ..missing import missing_name
    if name.startswith("__"):
        raise AttributeError(name)
    raise missing_name("tinynet.nn", name)

"""tinynet.nn: Module, layers (dense, convolution, pooling, normalization), losses,
initialisation (``init``), ``functional`` and ``parallel`` (DistributedDataParallel)."""
from . import functional, init, parallel
from .conv import AvgPool2d, Conv2d, MaxPool2d
from .layers import (Dropout, Flatten, Identity, Linear, LogSoftmax, ReLU, Sequential, Sigmoid,
                     Softmax, Tanh, Unflatten)
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from .module import Module
from .normalization import BatchNorm1d, BatchNorm2d
from .parameter import Parameter

__all__ = ["functional", "init", "parallel", "Module", "Parameter", "Linear", "ReLU", "Sigmoid",
           "Tanh", "Softmax", "LogSoftmax", "Dropout", "Flatten", "Unflatten", "Identity",
           "Sequential", "Conv2d", "MaxPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d",
           "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "MSELoss"]


def __getattr__(name: str):
    """A clear AttributeError, naming the PyTorch name, for what tinynet lacks."""
    from ..missing import missing_name
    if name.startswith("__"):
        raise AttributeError(name)
    raise missing_name("tinynet.nn", name)

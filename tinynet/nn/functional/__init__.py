"""tinynet.nn.functional (``F``): softmax, the losses, and the layers as functions.

    import tinynet.nn.functional as F
    loss = F.cross_entropy(logits, labels)

Names, defaults and semantics are PyTorch's. The functions check their arguments and apply
graph nodes from ``tinynet.ops``: the losses are in loss.py, the layers in layers.py,
convolution, pooling and batch normalization in conv.py, and the argument checks in checks.py.
"""
from ...functions import relu, sigmoid, tanh
from .conv import avg_pool2d, batch_norm, conv2d, max_pool2d
from .layers import dropout, linear, log_softmax, one_hot, softmax
from .loss import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy,
                   mse_loss, nll_loss)

__all__ = ["relu", "sigmoid", "tanh", "softmax", "log_softmax", "linear", "dropout", "one_hot",
           "cross_entropy", "nll_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "mse_loss", "conv2d", "max_pool2d",
           "avg_pool2d", "batch_norm"]


def __getattr__(name: str):
    """A clear AttributeError, naming the PyTorch name, for what tinynet lacks."""
    from ...missing import missing_name
    if name.startswith("__"):
        raise AttributeError(name)
    raise missing_name("tinynet.nn.functional", name)

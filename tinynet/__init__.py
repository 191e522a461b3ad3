"""tinynet: a small neural-network framework with reverse-mode autograd, written to be read.

    import tinynet as tn
    x = tn.tensor([[1.0, 2.0]], requires_grad=True)
    y = (x * x).sum()
    y.backward()          # x.grad == 2 * x
"""
from .autograd import enable_grad, is_grad_enabled, no_grad
from .backend import get_backend, get_rng_state, manual_seed, set_backend, set_rng_state
from .creation import (arange, bool_, float16, float32, float64, full, int32, int64, ones,
                       ones_like, rand, randn, tensor, uint8, zeros, zeros_like)
from .functions import (abs, argmax, cat, clamp, clip, exp, flatten, log, matmul, maximum,
                        mean, permute, relu, reshape, sigmoid, sqrt, stack, sum, tanh,
                        transpose, where)
from .gradcheck import GradcheckError, gradcheck
from .serialization import load, save
from .tensor import Tensor
from .trace import trace_backward
from . import data, nn, optim, viz  # noqa: E402  (tn.data.MNIST, tn.nn.Linear, tn.optim.SGD)
from .interchange import onnx  # noqa: E402  (tn.onnx.export; imports the onnx package lazily)

__version__ = "0.1.0"

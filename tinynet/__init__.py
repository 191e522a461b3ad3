"""tinynet: a small neural-network framework with reverse-mode autograd, written to be read.

    import tinynet as tn
    x = tn.tensor([[1.0, 2.0]], requires_grad=True)
    y = (x * x).sum()
    y.backward()          # x.grad == 2 * x

Names and semantics follow PyTorch, so ``import tinynet as torch`` runs much PyTorch code
unchanged. A few names (``bool``, ``int``, ``float``, ``sum``, ``max``, ``min``, ``abs``,
``pow``) shadow Python's built-ins here, as in PyTorch; this file binds them last.
"""
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .backend import get_backend, get_rng_state, set_backend, set_rng_state
from .creation import (arange, as_tensor, empty, empty_like, eye, from_numpy, full,
                       full_like, is_tensor, linspace, numel, ones, ones_like, tensor, zeros,
                       zeros_like)
from .device import backends, cuda, device, get_default_device, set_default_device
from .dtypes import (BUILTIN_SHADOWING, bool_, double, float16, float32, float64,
                     get_default_dtype, half, int8, int16, int32, int64, long,
                     set_default_dtype, short, uint8)
from .functions import (add, argmax, argmin, div, mul, sub, cat, clamp, clip, clone, cos, exp, flatten, log,
                        log10, log_softmax, matmul, maximum, mean, minimum, mm, permute, relu,
                        reshape, sigmoid, sin, softmax, sqrt, squeeze, stack, t, tanh,
                        transpose, unsqueeze, where)
from .gradcheck import GradcheckError, gradcheck
from .random import (Generator, manual_seed, multinomial, normal, rand, rand_like, randint,
                     randn, randn_like, randperm)
from .serialization import load, save
from .tensor import Tensor
from .trace import trace_backward
from . import data, nn, optim, utils, viz  # noqa: E402  (tn.data.MNIST, tn.nn.Linear, ...)
from .interchange import onnx  # noqa: E402  (tn.onnx.export; imports the onnx package lazily)
from .missing import __getattr__ as _missing  # noqa: E402


def __getattr__(name: str):
    """``tn.distributed`` is imported on first use (it is what talks to MPI); any other name
    tinynet lacks gets a clear error naming the PyTorch name (missing.py)."""
    if name == "distributed":
        import importlib
        return importlib.import_module(".distributed", __name__)
    return _missing(name)


__version__ = "0.2.0"

# Last: the names that shadow built-ins (nothing below may use the built-ins).
from .functions import abs, max, min, pow, sum  # noqa: E402
globals().update(BUILTIN_SHADOWING)  # tn.float (float32), tn.int (int32), tn.bool

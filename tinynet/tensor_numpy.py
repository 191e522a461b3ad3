"""NumPy on tensors: ``np.log(t)`` gives a Tensor on the graph, ``np.asarray(t)`` the
values (CPU tensors only, as for CuPy arrays), and anything else a clear TypeError.

``TensorNumpy`` is a base class of ``Tensor`` (tensor.py). NumPy hands a call with a
Tensor argument to ``__array_ufunc__`` (elementwise functions such as np.log, np.add) or
to ``__array_function__`` (np.sum, np.mean, ...); both map the functions that tinynet
has to the tinynet op, so the result stays differentiable.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .backend import backend_of

# NumPy ufunc name -> how to compute it on Tensors (every argument already a Tensor or
# a Python number, the first one a Tensor).
UFUNCS = {
    "add": lambda a, b: a + b, "subtract": lambda a, b: a - b,
    "multiply": lambda a, b: a * b, "true_divide": lambda a, b: a / b,
    "divide": lambda a, b: a / b, "power": lambda a, b: a ** b,
    "negative": lambda a: -a, "positive": lambda a: a,
    "exp": lambda a: a.exp(), "log": lambda a: a.log(), "log10": lambda a: a.log10(),
    "sqrt": lambda a: a.sqrt(), "square": lambda a: a * a, "absolute": lambda a: a.abs(),
    "tanh": lambda a: a.tanh(), "sin": lambda a: a.sin(), "cos": lambda a: a.cos(),
    "maximum": lambda a, b: a.max(b), "minimum": lambda a, b: a.min(b),
    "matmul": lambda a, b: a @ b,
    "equal": lambda a, b: a == b, "not_equal": lambda a, b: a != b,
    "less": lambda a, b: a < b, "less_equal": lambda a, b: a <= b,
    "greater": lambda a, b: a > b, "greater_equal": lambda a, b: a >= b,
}

# NumPy function name -> the Tensor method with NumPy's keywords (axis, keepdims).
FUNCTIONS = {
    "sum": lambda a, axis=None, keepdims=False: a.sum(axis=axis, keepdims=keepdims),
    "mean": lambda a, axis=None, keepdims=False: a.mean(axis=axis, keepdims=keepdims),
    "max": lambda a, axis=None, keepdims=False: a.max(axis=axis, keepdims=keepdims),
    "amax": lambda a, axis=None, keepdims=False: a.max(axis=axis, keepdims=keepdims),
    "min": lambda a, axis=None, keepdims=False: a.min(axis=axis, keepdims=keepdims),
    "amin": lambda a, axis=None, keepdims=False: a.min(axis=axis, keepdims=keepdims),
    "argmax": lambda a, axis=None: a.argmax(axis=axis),
    "argmin": lambda a, axis=None: a.argmin(axis=axis),
    "reshape": lambda a, shape: a.reshape(shape),
    "transpose": lambda a, axes=None: a.permute(axes) if axes else a.T,
    "clip": lambda a, a_min=None, a_max=None: a.clip(a_min, a_max),
    "dot": lambda a, b: a @ b,
    "shape": lambda a: a.shape, "ndim": lambda a: a.ndim, "size": lambda a: a.numel(),
}


class TensorNumpy:
    __slots__ = ()

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """The values as a NumPy array, for NumPy and plotting libraries (CPU only)."""
        backend = backend_of(self.array)
        if backend.name != "numpy":
            raise TypeError(f"can't convert a tensor on {self.device} to a NumPy array "
                            "implicitly; call .numpy() (or .cpu()) first")
        if self._requires_grad:
            raise RuntimeError("can't convert a tensor that requires grad to a NumPy array "
                               "(its gradient would be lost): use t.detach().numpy(), or "
                               "NumPy functions that tinynet maps (np.log(t) gives a Tensor)")
        array = self.array if dtype is None else self.array.astype(dtype)
        return array.copy() if copy else array

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        fn = UFUNCS.get(ufunc.__name__)
        if fn is None or method != "__call__" or kwargs:
            call = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
            raise TypeError(f"NumPy's {call} is not supported on tinynet tensors; use the "
                            "tinynet function (tn.exp, t.sum(), ...), or t.detach().numpy() "
                            "for NumPy math outside the graph")
        return fn(*[self._as_operand(x) for x in inputs])

    def __array_function__(self, func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
        fn = FUNCTIONS.get(func.__name__)
        if fn is None:
            raise TypeError(f"np.{func.__name__} is not supported on tinynet tensors; use "
                            "the tinynet function, or t.detach().numpy() for NumPy math "
                            "outside the graph")
        return fn(*[self._as_operand(x) for x in args], **kwargs)

    def _as_operand(self, x: Any) -> Any:
        """A NumPy array argument becomes a Tensor on this tensor's backend; Tensors and
        numbers are used as they are."""
        if isinstance(x, np.ndarray):
            return self._wrap(backend_of(self.array).asarray(x))
        return x

"""The Tensor: an array, its gradient, and the graph node that produced it.

This file holds what makes a Tensor: its attributes, ``backward``, and conversions. Its
base classes hold the rest, one family each: the math in ``TensorMath`` (tensor_math.py),
the shape methods in ``TensorShape`` (tensor_shape.py), in-place updates in
``TensorInPlace`` (tensor_inplace.py), conversions in ``TensorConvert``
(tensor_convert.py) and NumPy functions on tensors in ``TensorNumpy`` (tensor_numpy.py). Every method that computes is a call of an op in ``tinynet.ops``
after its arguments are checked.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .device import device
from .autograd import Function, run_backward, shared_stamp
from .backend import HOST_ARRAY, backend_of, get_backend, host_array, host_dtype
from .tensor_convert import TensorConvert
from .tensor_inplace import TensorInPlace
from .tensor_math import TensorMath
from .tensor_numpy import TensorNumpy
from .tensor_shape import TensorShape


_new = object.__new__


class Tensor(TensorMath, TensorShape, TensorInPlace, TensorConvert, TensorNumpy):
    """An n-dimensional array that can record how it was computed.

    Attributes:
        array: the backend array (NumPy, CuPy, array-api-strict) holding the values.
        data: the same values as a Tensor outside the graph (PyTorch's ``.data``).
        grad: dL/d(this tensor) after ``backward``, a Tensor, or None.

    Args:
        data: an array of a backend (NumPy, CuPy, array-api-strict), wrapped without a copy;
            or host data (list, number, NumPy array) put on the active backend. Use
            ``tinynet.tensor`` for dtype and device control.
        requires_grad: whether ``backward`` should compute ``.grad`` for this tensor.
    """

    __slots__ = ("array", "grad", "_requires_grad", "_node", "_stamp", "name", "__weakref__")

    def __init__(self, data: Any, requires_grad: bool = False):
        if isinstance(data, Tensor):
            data = data.array
        elif isinstance(data, np.generic):  # NumPy reductions return scalars, not 0-d arrays
            data = np.asarray(data)
        elif not isinstance(data, np.ndarray):
            try:
                backend_of(data)
            except TypeError:
                data = get_backend().asarray(host_array(data))
        self.array = data
        self.grad: Tensor | None = None
        self._node: Function | None = None
        self._stamp: list | None = None  # when it was last written in place (autograd.py)
        self.name: str | None = None
        self._requires_grad = False
        if requires_grad:
            self.requires_grad = True

    @staticmethod
    def _wrap(data: Any) -> "Tensor":
        """A Tensor around an array an op has just made: no checks, for the hot path.
        (The engine calls it on an input, ``x._wrap(array)``, so it never names Tensor.)"""
        if type(data) is not HOST_ARRAY and isinstance(data, np.generic):
            data = np.asarray(data)  # NumPy reductions return scalars, not 0-d arrays
        t = _new(Tensor)
        t.array, t.grad, t._node, t._stamp, t.name, t._requires_grad = (data, None, None,
                                                                         None, None, False)
        return t

    # ---- attributes ------------------------------------------------------------------
    @property
    def data(self) -> "Tensor":
        """The values as a Tensor cut from the graph, sharing storage, as in PyTorch:
        ``p.data += -lr * p.grad`` updates p in place and records nothing. (``array`` is
        the backend array itself.)"""
        view = Tensor._wrap(self.array)
        view._stamp = shared_stamp(self)  # a write through the view is a write to self
        return view

    @data.setter
    def data(self, value: Any) -> None:
        """``p.data = t`` makes p hold t's values (any shape), keeping p's graph flags."""
        self.array = value.array if isinstance(value, Tensor) else Tensor(value).array

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if flag and self.dtype.kind != "f":
            raise RuntimeError(f"only floating point tensors can require gradients, "
                               f"this one has dtype {self.dtype}")
        self._requires_grad = bool(flag)

    def requires_grad_(self, flag: bool = True) -> "Tensor":
        self.requires_grad = flag
        return self

    @property
    def shape(self) -> tuple:
        return tuple(self.array.shape)

    @property
    def ndim(self) -> int:
        return self.array.ndim

    @property
    def dtype(self) -> np.dtype:
        dtype = self.array.dtype  # a NumPy dtype on NumPy and CuPy: no call for the common case
        return dtype if isinstance(dtype, np.dtype) else host_dtype(dtype)

    @property
    def device(self) -> device:
        return device(backend_of(self.array).device)

    @property
    def is_cuda(self) -> bool:
        return backend_of(self.array).name == "cupy"

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    @property
    def grad_fn(self) -> Function | None:
        return self._node

    def size(self, dim: int | None = None):
        return self.shape if dim is None else self.shape[dim]

    def numel(self) -> int:
        return math.prod(self.shape)

    nelement = numel

    def dim(self) -> int:
        return self.array.ndim

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    # ---- autograd ----------------------------------------------------------------------
    def backward(self, gradient: Any = None, retain_graph: bool = False, *,
                 grad: Any = None) -> None:
        """Compute d(self)/d(leaf) for every leaf that requires grad, adding it to ``.grad``.

        ``gradient`` (or ``grad``) is dL/d(self); it may be omitted only when self holds
        a single element.
        """
        grad = gradient if grad is None else grad
        if not self.requires_grad:
            raise RuntimeError("backward() called on a tensor that does not require grad "
                               "and has no graph: no input of its computation had "
                               "requires_grad=True (or it was computed under no_grad)")
        backend = backend_of(self.array)
        if grad is None:
            if self.array.size != 1:
                raise RuntimeError(f"backward() without a grad argument needs a tensor with "
                                   f"one element, got shape {self.shape}; pass "
                                   "grad=ones of that shape or reduce it first (.sum())")
            gy = backend.xp.ones_like(self.array)
        else:
            gy = grad.array if isinstance(grad, Tensor) else backend.asarray(grad)
            if tuple(gy.shape) != self.shape:
                raise RuntimeError(f"backward(grad): grad has shape {tuple(gy.shape)} but the "
                                   f"tensor has shape {self.shape}")
            gy = backend.astype(backend.xp.asarray(gy, copy=True), self.array.dtype)
        if self._node is None:  # a leaf: its gradient is grad itself
            self.grad = Tensor(gy) if self.grad is None else Tensor(self.grad.array + gy)
            return
        run_backward(self, gy, retain_graph)

    def detach(self) -> "Tensor":
        """The same data (shared, not copied), cut from the graph."""
        view = Tensor._wrap(self.array)
        view._stamp = shared_stamp(self)
        return view

    def zero_grad(self) -> None:
        self.grad = None

    def __repr__(self) -> str:
        body = np.array2string(self.numpy(), separator=", ", prefix="tensor(")
        extra = "" if self.device == "cpu" else f", device='{str(self.device)}'"
        if self.dtype not in (np.float32, np.int64, np.bool_):
            extra += f", dtype={self.dtype}"
        if self._node is not None:
            extra += f", grad_fn={self._node!r}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

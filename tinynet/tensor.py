"""The Tensor: an array, its gradient, and the graph node that produced it.

Every method that computes something is a one-line call of an op in ``tinynet.ops``;
this file only normalises arguments (axes, shapes, scalars, indices) and checks them.
"""
from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from . import ops
from . import autograd
from .autograd import Function, run_backward
from .backend import backend_for_device, backend_of, get_backend, host_dtype

MaxResult = namedtuple("MaxResult", ["values", "indices"])


class Tensor:
    """An n-dimensional array that can record how it was computed.

    Args:
        data: an array of a backend (NumPy, CuPy, array-api-strict), wrapped without a copy;
            or host data (list, number, NumPy array) put on the active backend. Use
            ``tinynet.tensor`` for dtype and device control.
        requires_grad: whether ``backward`` should compute ``.grad`` for this tensor.
    """

    __slots__ = ("data", "grad", "_requires_grad", "_node", "name", "__weakref__")
    __array_priority__ = 1000  # ndarray <op> Tensor calls Tensor's reflected operator

    def __init__(self, data: Any, requires_grad: bool = False):
        if isinstance(data, Tensor):
            data = data.data
        elif isinstance(data, np.generic):  # NumPy reductions return scalars, not 0-d arrays
            data = np.asarray(data)
        elif not isinstance(data, np.ndarray):
            try:
                backend_of(data)
            except TypeError:
                from .creation import _host_array
                data = get_backend().asarray(_host_array(data))
        self.data = data
        self.grad: Tensor | None = None
        self._node: Function | None = None
        self.name: str | None = None
        self._requires_grad = False
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _wrap(cls, data: Any) -> "Tensor":
        """A Tensor around an array an op has just made: no checks, for the hot path."""
        if isinstance(data, np.generic):  # NumPy reductions return scalars, not 0-d arrays
            data = np.asarray(data)
        t = object.__new__(cls)
        t.data, t.grad, t._node, t.name, t._requires_grad = data, None, None, None, False
        return t

    # ---- attributes ------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if flag and not _is_float(self.data):
            raise RuntimeError(f"only floating point tensors can require gradients, "
                               f"this one has dtype {self.dtype}")
        self._requires_grad = bool(flag)

    def requires_grad_(self, flag: bool = True) -> "Tensor":
        self.requires_grad = flag
        return self

    @property
    def shape(self) -> tuple:
        return tuple(self.data.shape)

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return host_dtype(self.data.dtype)

    @property
    def device(self) -> str:
        return backend_of(self.data).device

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    @property
    def grad_fn(self) -> Function | None:
        return self._node

    def size(self, dim: int | None = None):
        return self.shape if dim is None else self.shape[dim]

    def numel(self) -> int:
        return int(np.prod(self.shape))

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    # ---- autograd ----------------------------------------------------------------------
    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Compute d(self)/d(leaf) for every leaf that requires grad, adding it to ``.grad``.

        ``grad`` is dL/d(self); it may be omitted only when self holds a single element.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() called on a tensor that does not require grad "
                               "and has no graph: no input of its computation had "
                               "requires_grad=True (or it was computed under no_grad)")
        backend = backend_of(self.data)
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward() without a grad argument needs a tensor with "
                                   f"one element, got shape {self.shape}; pass "
                                   "grad=ones of that shape or reduce it first (.sum())")
            gy = backend.xp.ones_like(self.data)
        else:
            gy = grad.data if isinstance(grad, Tensor) else backend.asarray(grad)
            if tuple(gy.shape) != self.shape:
                raise RuntimeError(f"backward(grad): grad has shape {tuple(gy.shape)} but the "
                                   f"tensor has shape {self.shape}")
            gy = backend.astype(backend.xp.asarray(gy, copy=True), self.data.dtype)
        if self._node is None:  # a leaf: its gradient is grad itself
            self.grad = Tensor(gy) if self.grad is None else Tensor(self.grad.data + gy)
            return
        run_backward(self, gy, retain_graph)

    def detach(self) -> "Tensor":
        """The same data, cut from the graph."""
        return Tensor(self.data)

    def zero_grad(self) -> None:
        self.grad = None

    # ---- conversion ----------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The values as a NumPy array on the host (shares memory on the CPU)."""
        return backend_of(self.data).to_numpy(self.data)

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.numpy().reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def to(self, target: Any) -> "Tensor":
        """Move to a device (``"cpu"``, ``"cuda"``, ``"strict"``) or cast to a dtype."""
        if _is_dtype(target):
            if np.dtype(target) == self.dtype:
                return self
            return ops.Cast.apply(self, dtype=np.dtype(target))
        backend = backend_for_device(target)
        if backend is backend_of(self.data):
            return self
        return ops.ToDevice.apply(self, target=backend)

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self) -> "Tensor":
        return self.to("cuda")

    def float(self) -> "Tensor":
        return self.to(np.float32)

    def double(self) -> "Tensor":
        return self.to(np.float64)

    def long(self) -> "Tensor":
        return self.to(np.int64)

    def int(self) -> "Tensor":
        return self.to(np.int32)

    def __repr__(self) -> str:
        body = np.array2string(self.numpy(), separator=", ", prefix="tensor(")
        extra = "" if self.device == "cpu" else f", device='{self.device}'"
        if self.dtype not in (np.float32, np.int64, np.bool_):
            extra += f", dtype={self.dtype}"
        if self._node is not None:
            extra += f", grad_fn=<{self._node.name}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        return bool(self.item())

    def __index__(self) -> int:
        return int(self.item())

    __hash__ = object.__hash__

    # ---- arithmetic --------------------------------------------------------------------
    def __add__(self, other):
        return ops.Add.apply(*_pair(self, other))

    def __radd__(self, other):
        return ops.Add.apply(*_pair(self, other, reflected=True))

    def __sub__(self, other):
        return ops.Sub.apply(*_pair(self, other))

    def __rsub__(self, other):
        return ops.Sub.apply(*_pair(self, other, reflected=True))

    def __mul__(self, other):
        return ops.Mul.apply(*_pair(self, other))

    def __rmul__(self, other):
        return ops.Mul.apply(*_pair(self, other, reflected=True))

    def __truediv__(self, other):
        return ops.Div.apply(*_pair(self, other))

    def __rtruediv__(self, other):
        return ops.Div.apply(*_pair(self, other, reflected=True))

    def __pow__(self, other):
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            return ops.PowScalar.apply(_float_if_int(self, other), p=other)
        return ops.Pow.apply(*_pair(self, other))

    def __rpow__(self, other):
        return ops.Pow.apply(*_pair(self, other, reflected=True))

    def __matmul__(self, other):
        return ops.MatMul.apply(*_pair(self, other))

    def __rmatmul__(self, other):
        return ops.MatMul.apply(*_pair(self, other, reflected=True))

    def __neg__(self):
        return ops.Neg.apply(self)

    # in place (``w -= lr * w.grad``): only outside the graph, as in PyTorch
    def __iadd__(self, other):
        _check_in_place(self, "+=")
        self.data += _pair(self, other)[1].data
        return self

    def __isub__(self, other):
        _check_in_place(self, "-=")
        self.data -= _pair(self, other)[1].data
        return self

    def __imul__(self, other):
        _check_in_place(self, "*=")
        self.data *= _pair(self, other)[1].data
        return self

    def __itruediv__(self, other):
        _check_in_place(self, "/=")
        self.data /= _pair(self, other)[1].data
        return self

    # comparisons give boolean tensors, outside the graph
    def __lt__(self, other):
        return Tensor(self.data < _pair(self, other)[1].data)

    def __le__(self, other):
        return Tensor(self.data <= _pair(self, other)[1].data)

    def __gt__(self, other):
        return Tensor(self.data > _pair(self, other)[1].data)

    def __ge__(self, other):
        return Tensor(self.data >= _pair(self, other)[1].data)

    def __eq__(self, other):
        return Tensor(self.data == _pair(self, other)[1].data)

    def __ne__(self, other):
        return Tensor(self.data != _pair(self, other)[1].data)

    # ---- elementwise math ------------------------------------------------------------------
    def exp(self):
        return ops.Exp.apply(self)

    def log(self):
        return ops.Log.apply(self)

    def sqrt(self):
        return ops.Sqrt.apply(self)

    def abs(self):
        return ops.Abs.apply(self)

    def tanh(self):
        return ops.Tanh.apply(self)

    def sigmoid(self):
        return ops.Sigmoid.apply(self)

    def relu(self):
        return ops.ReLU.apply(self)

    def clip(self, min: float | None = None, max: float | None = None):
        if min is None and max is None:
            raise ValueError("clip needs at least one of min and max")
        return ops.Clip.apply(self, lo=min, hi=max)

    clamp = clip

    def softmax(self, dim: int = -1):
        from .nn.functional import softmax
        return softmax(self, dim)

    def log_softmax(self, dim: int = -1):
        from .nn.functional import log_softmax
        return log_softmax(self, dim)

    # ---- reductions ------------------------------------------------------------------------
    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=False):
        axes = _axes(self, axis, dim)
        return ops.Sum.apply(self, axes=axes, keepdims=keepdims or keepdim)

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=False):
        if self.dtype.kind not in "fc":
            raise TypeError(f"mean() needs a floating point tensor, got dtype {self.dtype}")
        axes = _axes(self, axis, dim)
        return ops.Mean.apply(self, axes=axes, keepdims=keepdims or keepdim)

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        """The maximum over all elements, or along one axis.

        As in PyTorch, ``t.max(1)`` and ``t.max(dim=1)`` return ``(values, indices)``;
        as in NumPy, ``t.max(axis=1)`` returns the values only. Ties share the gradient.
        """
        keep = keepdim or keepdims
        values = ops.Max.apply(self, axes=_axes(self, axis, dim), keepdims=keep)
        if dim is None:
            return values
        return MaxResult(values, self.argmax(dim, keep))

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        result = (-self).max(dim, keepdim, axis=axis, keepdims=keepdims)
        if isinstance(result, MaxResult):
            return MaxResult(-result.values, result.indices)
        return -result

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> "Tensor":
        xp = backend_of(self.data).xp
        if dim is None:
            return Tensor(xp.argmax(xp.reshape(self.data, (-1,))))
        axis = _axes(self, dim, None)[0]
        return Tensor(xp.argmax(self.data, axis=axis, keepdims=keepdim))

    # ---- shape -------------------------------------------------------------------------
    def reshape(self, *shape):
        shape = _shape_args(shape)
        if -1 not in shape and int(np.prod(shape)) != self.data.size:
            raise ValueError(f"cannot reshape a tensor of shape {self.shape} "
                             f"({self.data.size} elements) to {shape}")
        return ops.Reshape.apply(self, shape=shape)

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        if self.ndim == 0:
            return self.reshape(1)
        (start,), (end,) = _axes(self, start_dim, None), _axes(self, end_dim, None)
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} "
                             f"for a tensor of shape {self.shape}")
        shape = self.shape
        return self.reshape(shape[:start] + (-1,) + shape[end + 1:])

    def permute(self, *dims):
        dims = _axes(self, _shape_args(dims), None)
        if sorted(dims) != list(range(self.ndim)):
            raise ValueError(f"permute{dims} is not a permutation of the {self.ndim} axes of "
                             f"a tensor of shape {self.shape}")
        return ops.Permute.apply(self, axes=dims)

    def transpose(self, dim0: int = -2, dim1: int = -1):
        if self.ndim < 2:
            return self
        a, b = _axes(self, (dim0, dim1), None)
        order = list(range(self.ndim))
        order[a], order[b] = order[b], order[a]
        return ops.Permute.apply(self, axes=tuple(order))

    @property
    def T(self):
        return ops.Permute.apply(self, axes=tuple(reversed(range(self.ndim))))

    def squeeze(self, dim: int | None = None):
        if dim is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        axis = _axes(self, dim, None)[0]
        if self.shape[axis] != 1:
            return self
        return self.reshape(self.shape[:axis] + self.shape[axis + 1:])

    def unsqueeze(self, dim: int):
        axis = dim if dim >= 0 else dim + self.ndim + 1
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def __getitem__(self, index):
        index, advanced = _normalise_index(self, index)
        return ops.GetItem.apply(self, index=index, advanced=advanced)


# ---- argument helpers ------------------------------------------------------------------
def _check_in_place(t: Tensor, op: str) -> None:
    """In-place changes would corrupt values saved for backward: allow them only where no
    graph is recorded (under no_grad) or on tensors that take no part in one."""
    from .autograd import is_grad_enabled
    if t.requires_grad and (is_grad_enabled() or t._node is not None):
        raise RuntimeError(f"in-place {op} on a tensor that requires grad: do parameter "
                           "updates inside `with tn.no_grad():`")



def _is_float(a) -> bool:
    return backend_of(a).xp.isdtype(a.dtype, "real floating")


def _is_dtype(x) -> bool:
    if isinstance(x, np.dtype) or (isinstance(x, type) and issubclass(x, np.generic)):
        return True
    if isinstance(x, str):
        try:
            np.dtype(x)
            return x not in ("cpu", "cuda") and not x.startswith("cuda")
        except TypeError:
            return False
    return False


def _float_if_int(t: Tensor, scalar) -> Tensor:
    """int tensor op float scalar gives float32, as in PyTorch."""
    if isinstance(scalar, float) and t.dtype.kind in "iub":
        return t.to(np.float32)
    return t


def _pair(t: Tensor, other, reflected: bool = False):
    """(t, other) as two Tensors on t's backend; a Python number takes t's dtype, so a
    float32 tensor times 2.0 stays float32."""
    if not isinstance(other, Tensor):
        backend = backend_of(t.data)
        if isinstance(other, (int, float, bool)):
            t = _float_if_int(t, other) if not isinstance(other, bool) else t
            other = Tensor(backend.asarray(other, dtype=backend.dtype(t.dtype)))
        else:
            try:
                backend_of(other)
            except TypeError:
                from .creation import _host_array
                other = backend.asarray(_host_array(other))
            other = Tensor(other)
    return (other, t) if reflected else (t, other)


def _axes(t: Tensor, axis, dim):
    """``axis``/``dim`` (int, tuple or None) -> a tuple of non-negative axes, or None."""
    if axis is not None and dim is not None:
        raise TypeError("give either axis or dim, not both")
    axis = dim if axis is None else axis
    if axis is None:
        return None
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    result = []
    for a in axes:
        a = int(a)
        if not -max(t.ndim, 1) <= a < max(t.ndim, 1):
            raise IndexError(f"axis {a} is out of range for a tensor of shape {t.shape} "
                             f"(expected in [{-max(t.ndim, 1)}, {max(t.ndim, 1) - 1}])")
        result.append(a % max(t.ndim, 1))
    if len(set(result)) != len(result):
        raise ValueError(f"repeated axis in {axis}")
    return tuple(result)


def _shape_args(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(n) for n in shape)


def _normalise_index(t: Tensor, index):
    """Index parts -> backend arrays where needed; checks integer arrays' bounds."""
    backend = backend_of(t.data)
    parts = index if isinstance(index, tuple) else (index,)
    out, advanced, axis = [], False, 0
    consumed = sum(1 for p in parts if p is not None and p is not Ellipsis)
    for part in parts:
        if part is Ellipsis:
            axis += t.ndim - consumed  # the axes that ... stands for
            out.append(part)
            continue
        if isinstance(part, Tensor):
            part = part.data
        elif isinstance(part, (list, np.ndarray)):
            part = backend.asarray(np.asarray(part))
        if isinstance(part, (int, np.integer)) and not isinstance(part, bool):
            if axis < t.ndim and not -t.shape[axis] <= part < t.shape[axis]:
                raise IndexError(f"index {part} is out of range for axis {axis} of a tensor "
                                 f"of shape {t.shape}")
        elif not (part is None or part is Ellipsis or isinstance(part, slice)):
            try:
                backend_of(part)
            except TypeError:
                raise TypeError(f"unsupported index {part!r}: use ints, slices, integer "
                                "arrays or tuples of these") from None
            advanced = True
            if part.dtype != backend.xp.bool and axis < t.ndim and part.size:
                n = t.shape[axis]
                xp = backend.xp
                low, high = int(xp.min(part)), int(xp.max(part))
                if low < -n or high >= n:
                    bad = high if high >= n else low
                    raise IndexError(f"index {bad} is out of range for axis {axis} of a "
                                     f"tensor of shape {t.shape}")
        if part is not None:
            axis += 1
        out.append(part)
    if not advanced and Ellipsis not in out and consumed < t.ndim:
        out.append(Ellipsis)  # t[i, j] on a 3-d tensor means t[i, j, ...] (explicit for xp)
    return (tuple(out) if len(out) > 1 or isinstance(index, tuple) else out[0]), advanced


autograd.Tensor = Tensor  # the engine makes Tensors; it cannot import this module

"""The Tensor's shape methods: reshape, view, flatten, permute, transpose, squeeze,
unsqueeze and indexing. ``TensorShape`` is a base class of ``Tensor`` (tensor.py)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import ops
from .arguments import axes, axis_of, shape_args
from .backend import backend_of


class TensorShape:
    __slots__ = ()

    def reshape(self, *shape):
        shape = shape_args(shape)
        if -1 not in shape and math.prod(shape) != self.array.size:
            raise ValueError(f"cannot reshape a tensor of shape {self.shape} "
                             f"({self.array.size} elements) to {shape}")
        return ops.Reshape.apply(self, shape=shape)

    view = reshape

    def view_as(self, other):
        return self.reshape(other.shape)

    reshape_as = view_as

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        if self.ndim == 0:
            return self.reshape(1)
        (start,), (end,) = axes(self, start_dim, None), axes(self, end_dim, None)
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} "
                             f"for a tensor of shape {self.shape}")
        shape = self.shape
        return self.reshape(shape[:start] + (-1,) + shape[end + 1:])

    def permute(self, *dims):
        dims = axes(self, shape_args(dims), None)
        if sorted(dims) != list(range(self.ndim)):
            raise ValueError(f"permute{dims} is not a permutation of the {self.ndim} axes of "
                             f"a tensor of shape {self.shape}")
        return ops.Permute.apply(self, axes=dims)

    def transpose(self, dim0: int = -2, dim1: int = -1):
        a, b = axis_of(self, dim0), axis_of(self, dim1)
        if a == b or self.ndim < 2:  # swapping an axis with itself changes nothing
            return self
        order = list(range(self.ndim))
        order[a], order[b] = order[b], order[a]
        return ops.Permute.apply(self, axes=tuple(order))

    def t(self):
        """The transpose of a matrix (a vector or a scalar is returned as it is)."""
        if self.ndim > 2:
            raise ValueError(f"t() expects a tensor with <= 2 dimensions, but it has "
                             f"{self.ndim} (shape {self.shape}); use transpose(d0, d1)")
        return self.transpose(0, -1) if self.ndim == 2 else self

    @property
    def T(self):
        return ops.Permute.apply(self, axes=tuple(reversed(range(self.ndim))))

    def squeeze(self, dim: int | None = None):
        if dim is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        axis = axis_of(self, dim)
        if self.shape[axis] != 1:
            return self
        return self.reshape(self.shape[:axis] + self.shape[axis + 1:])

    def unsqueeze(self, dim: int):
        axis = dim if dim >= 0 else dim + self.ndim + 1
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def __getitem__(self, index):
        index, advanced = normalise_index(self, index)
        return ops.GetItem.apply(self, index=index, advanced=advanced)


def normalise_index(t: Any, index: Any) -> tuple:
    """Index parts -> backend arrays where needed; checks integer arrays' bounds.

    Returns the index and whether it is advanced (has integer or boolean arrays)."""
    backend = backend_of(t.array)
    parts = index if isinstance(index, tuple) else (index,)
    out, advanced, axis = [], False, 0
    consumed = sum(1 for p in parts if p is not None and p is not Ellipsis)
    for part in parts:
        if part is Ellipsis:
            axis += t.ndim - consumed  # the axes that ... stands for
            out.append(part)
            continue
        if isinstance(part, TensorShape):  # a Tensor
            part = part.array
        elif isinstance(part, (list, range, np.ndarray)):
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
                check_bounds(t, backend, part, axis)
        if part is not None:
            axis += 1
        out.append(part)
    if not advanced and Ellipsis not in out and consumed < t.ndim:
        out.append(Ellipsis)  # t[i, j] on a 3-d tensor means t[i, j, ...] (explicit for xp)
    return (tuple(out) if len(out) > 1 or isinstance(index, tuple) else out[0]), advanced


def check_bounds(t: Any, backend: Any, part: Any, axis: int) -> None:
    """Every entry of the integer index array ``part`` must be in [-n, n) for axis
    ``axis`` (on a device, the check is read later: ``Backend.check``)."""
    n, xp = t.shape[axis], backend.xp

    def fail():
        values = backend.to_numpy(part)
        bad = values[(values < -n) | (values >= n)][0]
        raise IndexError(f"index {bad} is out of range for axis {axis} of a tensor of "
                         f"shape {t.shape}")
    backend.check((xp.min(part) >= -n) & (xp.max(part) < n), fail)

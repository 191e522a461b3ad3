"""NumPy as the NumPy backend's array namespace ``xp``, with its reductions and reshapes
called as array methods.

``np.sum(a)``, ``np.max``, ``np.reshape``, ``np.astype`` and friends are Python wrappers
that dispatch to the array's own method; on the small arrays of a training step the
wrapper costs as much as the work (``np.sum`` about 2x ``a.sum()``, ``np.reshape`` about
5x ``a.reshape``). This namespace is NumPy with those names bound straight to the
methods, same arguments and results, so every op runs through the cheaper path.
"""
from __future__ import annotations

import types

import numpy as np

namespace = types.SimpleNamespace(**{name: getattr(np, name) for name in dir(np)
                                     if not name.startswith("__")})
namespace.__name__ = "numpy (tinynet's namespace)"


def _sum(x, axis=None, dtype=None, keepdims=False):
    return x.sum(axis=axis, dtype=dtype, keepdims=keepdims)


def _mean(x, axis=None, keepdims=False):
    return x.mean(axis=axis, keepdims=keepdims)


def _max(x, axis=None, keepdims=False):
    return x.max(axis=axis, keepdims=keepdims)


def _min(x, axis=None, keepdims=False):
    return x.min(axis=axis, keepdims=keepdims)


def _any(x, axis=None, keepdims=False):
    return x.any(axis=axis, keepdims=keepdims)


def _all(x, axis=None, keepdims=False):
    return x.all(axis=axis, keepdims=keepdims)


def _argmax(x, axis=None, keepdims=False):
    return x.argmax(axis=axis, keepdims=keepdims)


def _argmin(x, axis=None, keepdims=False):
    return x.argmin(axis=axis, keepdims=keepdims)


def _reshape(x, shape, copy=None):
    return x.reshape(shape) if copy is not True else x.reshape(shape).copy()


def _astype(x, dtype, copy=True):
    return x.astype(dtype, copy=copy)


def _permute_dims(x, axes):
    return x.transpose(axes)


def _take(x, indices, axis=None):
    return x.take(indices, axis=axis)


for _name, _fn in {"sum": _sum, "mean": _mean, "max": _max, "min": _min, "any": _any,
                   "all": _all, "argmax": _argmax, "argmin": _argmin, "reshape": _reshape,
                   "astype": _astype, "permute_dims": _permute_dims, "take": _take}.items():
    setattr(namespace, _name, _fn)

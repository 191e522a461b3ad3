"""default_collate: a list of samples -> one batch, with PyTorch's rules.

    tensors                 -> stacked along a new first axis (tn.stack)
    NumPy arrays            -> stacked, dtype kept; NumPy scalars -> a 1-d tensor, dtype kept
    Python floats           -> a float64 tensor;  Python ints -> int64;  bools -> bool
    str / bytes             -> left as a list
    dicts                   -> a dict of batches, key by key
    tuples, lists           -> a list of batches, field by field ((x, y) samples -> [xs, ys]);
                               a namedtuple stays a namedtuple of batches

New tensors go to the active backend's device.
"""
from __future__ import annotations

import collections.abc
import copy
from typing import Any

import numpy as np

from ...backend import get_backend
from ...creation import tensor
from ...functions import stack
from ...tensor import Tensor

_ERROR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or "
          "lists; found {}")


def _host_tensor(array: np.ndarray) -> Tensor:
    """A NumPy array (kept dtype) on the active backend."""
    if array.dtype.kind not in "biuf":
        raise TypeError(_ERROR.format(array.dtype))
    return Tensor(get_backend().asarray(array))


def default_collate(batch: list) -> Any:
    """Stack a list of samples into a batch, recursively (see the module docstring).

    Example::

        default_collate([(tn.tensor([1.0, 2.0]), 0), (tn.tensor([3.0, 4.0]), 1)])
        # [tensor([[1., 2.], [3., 4.]]), tensor([0, 1])]
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(batch, 0)
    if isinstance(elem, np.ndarray):
        return _host_tensor(np.stack(batch))
    if isinstance(elem, (np.bool_, np.number)):
        return _host_tensor(np.asarray(batch))
    if isinstance(elem, float):
        return tensor(batch, dtype=np.float64)
    if isinstance(elem, int):
        return tensor(batch)  # int64 (bools stay bool)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        fields = {key: default_collate([d[key] for d in batch]) for key in elem}
        return _same_kind(elem, fields)
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a namedtuple
        return type(elem)(*(default_collate(list(field)) for field in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [default_collate(list(field)) for field in zip(*batch)]
        return fields if isinstance(elem, tuple) else _same_kind(elem, fields)
    raise TypeError(_ERROR.format(type(elem)))


def _same_kind(elem: Any, fields: Any) -> Any:
    """``fields`` (a dict or list) in the container type of ``elem`` where it can be built."""
    if isinstance(elem, (collections.abc.MutableMapping, collections.abc.MutableSequence)):
        clone = copy.copy(elem)
        if isinstance(clone, collections.abc.MutableMapping):
            clone.update(fields)
        else:
            clone[:] = fields
        return clone
    try:
        return type(elem)(fields)
    except TypeError:
        return fields


def default_convert(data: Any) -> Any:
    """One sample as loaded with ``batch_size=None``: NumPy arrays and scalars become
    tensors (dtype kept), recursively inside dicts, tuples and lists; the rest is unchanged."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, (np.ndarray, np.bool_, np.number)):
        return _host_tensor(np.asarray(data)) if data.dtype.kind in "biuf" else data
    if isinstance(data, collections.abc.Mapping):
        return _same_kind(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _same_kind(data, [default_convert(d) for d in data])
    return data

"""The Tensor's conversions: to NumPy and Python values (``numpy``, ``item``, ``tolist``,
``float(t)``), to other devices and dtypes (``to``, ``cpu``, ``cuda``, ``float``, ``long``,
``type``) and copies (``clone``). ``TensorConvert`` is a base class of ``Tensor``."""
from __future__ import annotations

from typing import Any

import numpy as np

from . import ops
from .arguments import is_dtype
from .backend import backend_for_device, backend_of
from .dtypes import NAMED_TYPES, TYPE_NAMES

FLOAT32, FLOAT64, INT64, INT32 = map(np.dtype, ("float32", "float64", "int64", "int32"))


class TensorConvert:
    __slots__ = ()

    def numpy(self) -> np.ndarray:
        """The values as a NumPy array on the host (shares memory on the CPU)."""
        return backend_of(self.array).to_numpy(self.array)

    def item(self):
        if self.array.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.numpy().reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def to(self, *args: Any, **kwargs: Any) -> Any:
        """Move to a device and/or cast to a dtype: ``to("cuda")``, ``to(tn.float64)``,
        ``to(device, dtype)``, ``to(other_tensor)``, ``to(device=..., dtype=...)``. Both
        are differentiable; the tensor itself is returned when nothing changes."""
        target_device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
        kwargs.pop("non_blocking", None)
        if kwargs.pop("copy", False):
            raise TypeError("to(copy=True) is not supported; use .clone()")
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        for arg in args:
            if isinstance(arg, TensorConvert):  # a Tensor: its device and dtype
                target_device, dtype = arg.device, arg.dtype
            elif is_dtype(arg):
                dtype = arg
            else:
                target_device = arg
        result = self
        if target_device is not None:
            backend = backend_for_device(str(target_device))
            if backend is not backend_of(self.array):
                result = ops.ToDevice.apply(self, target=backend)
        if dtype is not None and np.dtype(dtype) != result.dtype:
            result = ops.Cast.apply(result, dtype=np.dtype(dtype))
        return result

    def type(self, dtype: Any = None) -> Any:
        """Without an argument, the type's name (``"torch.FloatTensor"``, as PyTorch
        prints it); with a dtype, the tensor cast to it."""
        if dtype is None:
            return TYPE_NAMES.get(self.dtype, f"torch.{self.dtype}Tensor")
        if isinstance(dtype, str) and dtype in NAMED_TYPES:
            dtype = NAMED_TYPES[dtype]
        return self.to(dtype)

    def clone(self) -> Any:
        """A copy with its own storage, on the graph (the gradient passes through)."""
        return ops.Clone.apply(self)

    def cpu(self) -> Any:
        return self.to("cpu")

    def cuda(self) -> Any:
        return self.to("cuda")

    def float(self) -> Any:
        return self._cast(FLOAT32)

    def double(self) -> Any:
        return self._cast(FLOAT64)

    def long(self) -> Any:
        return self._cast(INT64)

    def int(self) -> Any:
        return self._cast(INT32)

    def _cast(self, dtype: np.dtype) -> Any:
        """``to(dtype)`` without parsing arguments: the conversions called on every batch
        (``x.float()``, ``y.long()``)."""
        return self if self.dtype == dtype else ops.Cast.apply(self, dtype=dtype)

    def __format__(self, spec: str) -> str:
        """``f"{loss:.4f}"`` formats a one-element tensor's value, as in PyTorch."""
        if spec and self.array.size == 1:
            return format(self.item(), spec)
        return format(repr(self), spec)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        return bool(self.item())

    def __index__(self) -> int:
        if self.dtype.kind not in "iub":
            raise TypeError(f"only integer tensors of a single element can be converted to "
                            f"an index, got dtype {self.dtype}")
        return int(self.item())

"""The strict test backend (device ``"strict"``): array-api-strict on a non-CPU device.

It refuses conversion to NumPy and mixing with host arrays, exactly as CuPy does, and
allows only what the array API standard allows, so the test suite run on it proves that
no code path bypasses the backend. It is for tests, not speed.
"""
from __future__ import annotations

import numpy as np

from .base import Backend


class StrictBackend(Backend):
    """array-api-strict on one of its two non-CPU devices: a stand-in for a GPU in tests.
    Device "strict" (or "strict:0") is array-api-strict's "device1", "strict:1" is its
    "device2"; like two GPUs, they refuse to mix."""

    name = "strict"

    def __init__(self, index: int = 0):
        try:
            import array_api_strict
        except ImportError as exc:
            raise RuntimeError(
                "the strict test backend needs array-api-strict: pip install 'tinynet[test]'"
            ) from exc
        if index not in (0, 1):
            raise ValueError(f"device strict:{index} requested, but array-api-strict has "
                             "two devices: strict:0 (strict) and strict:1")
        super().__init__(array_api_strict, "strict" if index == 0 else "strict:1")
        self.strict_device = array_api_strict.Device(f"device{index + 1}")
        self.array_type = array_api_strict._array_object.Array

    def asarray(self, obj, dtype=None):
        if isinstance(obj, np.ndarray) and not obj.flags.c_contiguous:
            obj = np.ascontiguousarray(obj)
        if dtype is not None:
            dtype = self.dtype(dtype)
        return self.xp.asarray(obj, dtype=dtype, device=self.strict_device)

    def to_numpy(self, a):
        if self.pending_checks:
            self.run_pending_checks()
        return np.asarray(a.to_device(self.xp.Device("CPU_DEVICE")))

    def owns(self, a):
        return isinstance(a, self.array_type) and a.device == self.strict_device

    def zeros(self, shape, dtype):
        return self.xp.zeros(shape, dtype=self.dtype(dtype), device=self.strict_device)

    def astype(self, a, dtype):
        return self.xp.astype(a, self.dtype(dtype), copy=False)

    def dtype(self, name):
        if not isinstance(name, (str, np.dtype, type)):
            return name  # already a strict dtype
        return getattr(self.xp, np.dtype(name).name)

    def getitem(self, a, index):
        """The standard allows integer arrays only when every axis gets one: a lone integer
        array picks rows through ``take`` instead. Out-of-range entries are clipped, as a
        GPU gathers without a bounds check: the caller's deferred check reports them."""
        xp = self.xp
        if hasattr(index, "dtype") and xp.isdtype(index.dtype, "integral") and a.ndim:
            n = a.shape[0]
            index = xp.where(index < 0, index + n, index)
            index = xp.clip(index, 0, max(n - 1, 0))
            flat = xp.take(a, xp.reshape(index, (-1,)), axis=0)
            return xp.reshape(flat, tuple(index.shape) + tuple(a.shape[1:]))
        return a[index]

    def setitem(self, a, index, value):
        """The standard allows only basic indices in assignments: an index with integer
        or boolean arrays is turned into the flat positions it selects, assigned one by
        one (slow and exact, for tests; repeated positions keep the last value)."""
        parts = index if isinstance(index, tuple) else (index,)
        if not any(hasattr(p, "dtype") for p in parts):
            a[index] = value
            return
        xp = self.xp
        size = 1
        for n in a.shape:
            size *= n
        every = xp.reshape(xp.arange(size, device=self.strict_device), a.shape)
        positions = self.to_numpy(self.getitem(every, index))
        values = xp.broadcast_to(xp.asarray(value, dtype=a.dtype, device=self.strict_device),
                                 tuple(positions.shape))
        flat, values = xp.reshape(a, (-1,)), xp.reshape(values, (-1,))
        for i, position in enumerate(positions.reshape(-1).tolist()):
            flat[position] = values[i]
        a[...] = xp.reshape(flat, a.shape)

    def subtract_at_rows(self, a, index, value):
        """The standard assigns through no integer array: subtract ``value`` times the
        one-hot of each row's column (``index[n] % columns``), built by comparison. The
        same numbers as writing through the index: x - 0 is x."""
        xp = self.xp
        n_columns = a.shape[1]
        columns = xp.reshape(index % n_columns, (-1, 1))
        hit = columns == xp.arange(n_columns, dtype=index.dtype, device=self.strict_device)
        a -= xp.astype(hit, a.dtype) * value

    def scatter_add(self, target, index, values):
        # The standard has no scatter: find the flat position of every indexed element,
        # then add a one-hot matrix product. Slow, exact, and only for tests.
        xp = self.xp
        size = 1
        for n in target.shape:
            size *= n
        every = xp.arange(size, device=self.strict_device)
        positions = xp.reshape(self.getitem(xp.reshape(every, target.shape), index), (-1,))
        onehot = positions[:, None] == every[None, :]
        flat = xp.reshape(values, (1, -1)) @ xp.astype(onehot, target.dtype)
        target += xp.reshape(flat, target.shape)

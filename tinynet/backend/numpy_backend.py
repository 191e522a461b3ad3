"""The NumPy backend (device ``"cpu"``): the default."""
from __future__ import annotations

import numpy as np

from .base import Backend, strided_windows
from .numpy_namespace import namespace


class NumpyBackend(Backend):
    name = "numpy"

    # Elements per piece in foreach: the pieces of three float32 arrays (768 KB) stay in a
    # core's L2 cache through all the passes of a kernel.
    FOREACH_PIECE = 1 << 16

    def __init__(self):
        super().__init__(namespace, "cpu")

    def asarray(self, obj, dtype=None):
        return np.asarray(obj, dtype=dtype)

    def to_numpy(self, a):
        return a

    def owns(self, a):
        return isinstance(a, (np.ndarray, np.generic))

    def check(self, ok, fail):
        if ok:  # a host array: reading it costs nothing
            return True
        fail()
        return False

    def run_collective(self, a, collective, device_memory=False):
        """Host memory already: the collective works on ``a`` itself (on a contiguous
        copy, written back, when ``a`` is a strided view)."""
        if a.flags.c_contiguous and a.flags.writeable:
            collective(a)
            return
        host = np.array(a, order="C")
        collective(host)
        a[...] = host

    def indices_in_range(self, y, n):
        if y.dtype == np.int64:  # one pass instead of min and max: read as unsigned, a
            # negative index becomes 2**64 - |index|, never below n
            return np.maximum.reduce(y.view(np.uint64), axis=None) < n
        return super().indices_in_range(y, n)

    def divide_into(self, out, a, n):
        np.divide(a, n, out=out)

    def scatter_add(self, target, index, values):
        np.add.at(target, index, values)

    def windows(self, x, kernel, stride):
        return strided_windows(np.lib.stride_tricks.as_strided, x, kernel, stride)

    def foreach(self, jobs):
        """Each kernel runs on cache-sized pieces of its arrays, one piece after another.

        A kernel makes several passes (scale, add, subtract); over whole arrays of a few MB,
        each pass streams from memory. Piece by piece, the later passes find the data in
        cache: about a third less time for SGD with momentum on an MLP's weights. The
        pieces are views of C-contiguous arrays, so the updates land in the arrays."""
        n = self.FOREACH_PIECE
        for kernel, arrays in jobs:
            size = arrays[0].size
            if size <= 2 * n or not all(a.flags.c_contiguous for a in arrays):
                kernel(*arrays)
                continue
            flat = [a.reshape(-1) for a in arrays]
            for i in range(0, size, n):
                kernel(*[a[i:i + n] for a in flat])

    def randn(self, shape, dtype):
        return self.rng.standard_normal(shape, dtype=np.dtype(dtype))

    def rand(self, shape, dtype):
        return self.rng.random(shape, dtype=np.dtype(dtype))

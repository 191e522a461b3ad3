"""The Backend base class: an array namespace plus the few helpers that differ between
array libraries. Each concrete backend (``numpy_backend.py``, ``cupy_backend.py``,
``strict_backend.py``) overrides only what its library does differently."""
from __future__ import annotations

import json
from typing import Any, Callable

import numpy as np

from .host import host_dtype


class Backend:
    """An array library plus the helpers that differ between libraries.

    Attributes:
        name: ``"numpy"``, ``"cupy"`` or ``"strict"``.
        xp: the array namespace (array API functions: ``xp.exp``, ``xp.sum``, ...).
        device: the device string tensors on this backend report (``"cpu"``, ``"cuda:0"``).
    """

    name = "abstract"

    # Checks kept on the device before they are read all at once (see ``check``).
    MAX_PENDING_CHECKS = 64

    def __init__(self, xp: Any, device: str):
        self.xp = xp
        self.device = device
        self.rng = np.random.default_rng()
        self.pending_checks: list = []

    def __repr__(self) -> str:
        return f"Backend({self.name!r}, device={self.device!r})"

    # ---- host transfer -------------------------------------------------------------
    def asarray(self, obj: Any, dtype: Any = None) -> Any:
        """Host data (NumPy array, list, number) -> an array on this backend's device."""
        raise NotImplementedError

    def to_numpy(self, a: Any) -> np.ndarray:
        """An array of this backend -> a NumPy array on the host."""
        raise NotImplementedError

    def owns(self, a: Any) -> bool:
        """True when ``a`` is an array of this backend."""
        raise NotImplementedError

    def make_current(self) -> None:
        """Make this backend's device the one new arrays are made on (CuPy allocates on
        the current GPU; ``zeros_like`` and friends ignore where their input lives). The
        engine calls it before running an op on this backend's arrays."""

    def check(self, ok: Any, fail: Callable[[], None]) -> bool:
        """Call ``fail()`` (which raises or warns) unless the 0-d boolean array ``ok`` is
        true. A device backend does not wait for the answer: it keeps the check and reads
        it at the next host read (``to_numpy``), as CUDA's device-side asserts do, so a
        training step never stalls the GPU for it. NumPy, whose reads are free, checks
        at once (``NumpyBackend.check``).

        Returns True when ``ok`` was read now and is true (the caller may rely on it, e.g.
        every target is a class index), False otherwise."""
        self.pending_checks.append((ok, fail))
        if len(self.pending_checks) >= self.MAX_PENDING_CHECKS:
            self.run_pending_checks()
        return False

    def run_pending_checks(self) -> None:
        """Read the checks kept by ``check`` and act on those that failed."""
        pending, self.pending_checks = self.pending_checks, []
        for ok, fail in pending:
            if not bool(ok):
                fail()

    # ---- helpers the array API standard does not have ------------------------------
    def astype(self, a: Any, dtype: Any) -> Any:
        return a.astype(dtype, copy=False)

    def getitem(self, a: Any, index: Any) -> Any:
        """``a[index]`` with NumPy's indexing rules (a lone integer array picks rows)."""
        return a[index]

    def setitem(self, a: Any, index: Any, value: Any) -> None:
        """``a[index] = value`` in place, with NumPy's indexing rules."""
        a[index] = value

    def indices_in_range(self, y: Any, n: int) -> Any:
        """A 0-d boolean array: every integer of the non-empty array ``y`` is in [0, n)."""
        xp = self.xp
        return (xp.min(y) >= 0) & (xp.max(y) < n)

    def subtract_at_rows(self, a: Any, index: Any, value: Any) -> None:
        """``a.reshape(-1)[index] -= value`` in place, for a C-contiguous 2-D ``a`` whose row
        n holds the flat position ``index[n]`` (the picks of a class-index loss: one per
        row, so no position repeats)."""
        xp = self.xp
        xp.reshape(a, (-1,))[index] -= value

    def divide_into(self, out: Any, a: Any, n: Any) -> None:
        """``out[...] = a / n``, in place (NumPy writes the quotient straight into ``out``:
        one pass over the memory instead of two)."""
        out[...] = a / n

    def scatter_add(self, target: Any, index: Any, values: Any) -> None:
        """``target[index] += values`` in place, with repeated indices accumulating."""
        raise NotImplementedError

    def windows(self, x: Any, kernel: tuple, stride: tuple) -> Any:
        """The sliding windows of channels-last images: x (N, H, W, C) -> (N, OH, OW, kh, kw, C),
        where out[n, i, j, p, q] = x[n, i·sh + p, j·sw + q] and OH = (H - kh) // sh + 1.

        This portable form stacks the kh·kw strided slices of x (one copy, the size of the
        result); NumPy and CuPy return a strided view of x instead (no copy).
        """
        (kh, kw), (sh, sw) = kernel, stride
        n, h, w, c = x.shape
        oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
        slices = [x[:, p:p + sh * (oh - 1) + 1:sh, q:q + sw * (ow - 1) + 1:sw, :]
                  for p in range(kh) for q in range(kw)]
        return self.xp.reshape(self.xp.stack(slices, axis=3), (n, oh, ow, kh, kw, c))

    def owns_memory(self, a: Any) -> bool:
        """True when ``a`` is certainly not a view of another array (so it may be kept and
        updated in place as a gradient). False when unsure."""
        return getattr(a, "base", True) is None

    def zeros(self, shape: tuple, dtype: Any) -> Any:
        return self.xp.zeros(shape, dtype=self.dtype(dtype))

    def dtype(self, name: Any) -> Any:
        """A dtype of this backend from a name or a NumPy dtype (``"float32"``)."""
        return np.dtype(name)

    def foreach(self, jobs: list) -> None:
        """Run ``kernel(*arrays)`` for each ``(kernel, arrays)`` job: elementwise in-place
        updates of same-shape arrays, such as an optimizer step."""
        for kernel, arrays in jobs:
            kernel(*arrays)

    def run_collective(self, a: Any, collective: Callable[[Any], None],
                       device_memory: bool = False) -> None:
        """Run ``collective(buffer)``, which updates a C-contiguous buffer in place (an MPI
        allreduce or broadcast, see ``tinynet/distributed.py``), on the array ``a``.

        A device backend stages the values through host memory: copy to the host, run the
        collective there, copy the result back into ``a``. ``device_memory=True`` says the
        communication library reads device memory itself (a CUDA-aware MPI); backends that
        can hand it their arrays (CuPy) then skip the staging."""
        host = self.to_numpy(a)
        if not (host.flags.c_contiguous and host.flags.writeable):
            host = np.array(host, order="C")
        collective(host)
        self.setitem(a, ..., self.asarray(host))

    # ---- random numbers --------------------------------------------------------------
    def manual_seed(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def get_rng_state(self) -> np.ndarray:
        """The generator's state as bytes (uint8), for checkpoints."""
        text = json.dumps(self.rng.bit_generator.state)
        return np.frombuffer(text.encode(), dtype=np.uint8).copy()

    def set_rng_state(self, state: Any) -> None:
        state = json.loads(bytes(np.asarray(state, dtype=np.uint8)).decode())
        generator = getattr(np.random, state["bit_generator"])()
        generator.state = state
        self.rng = np.random.Generator(generator)

    def randn(self, shape: tuple, dtype: Any) -> Any:
        return self.asarray(self.rng.standard_normal(shape, dtype=host_dtype(dtype)))

    def rand(self, shape: tuple, dtype: Any) -> Any:
        """Uniform numbers in [0, 1)."""
        return self.asarray(self.rng.random(shape, dtype=host_dtype(dtype)))


def strided_windows(as_strided: Any, x: Any, kernel: tuple, stride: tuple) -> Any:
    """``Backend.windows`` as a view of x, for libraries with ``as_strided`` (NumPy, CuPy):
    stepping one window moves sh rows (or sw columns), stepping inside a window one. The
    windows overlap in memory, so the view is only ever read."""
    (kh, kw), (sh, sw) = kernel, stride
    n, h, w, c = x.shape
    sn, sy, sx, sc = x.strides
    shape = (n, (h - kh) // sh + 1, (w - kw) // sw + 1, kh, kw, c)
    return as_strided(x, shape, (sn, sy * sh, sx * sw, sy, sx, sc))

"""The CuPy backend (device ``"cuda"`` / ``"cuda:N"``): NVIDIA GPUs, an optional install."""
from __future__ import annotations

from .base import Backend, strided_windows


class CupyBackend(Backend):
    name = "cupy"

    def __init__(self, device_id: int = 0):
        try:
            import cupy
            import array_api_compat.cupy as cupy_xp
        except ImportError as exc:
            raise RuntimeError(
                "the CuPy backend needs CuPy, which is not installed: "
                "pip install 'tinynet[cuda12]' (or [cuda13]) on a machine with an NVIDIA GPU"
            ) from exc
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception as exc:  # CUDA driver missing or broken
            raise RuntimeError(f"CuPy is installed but no CUDA GPU is usable: {exc}") from exc
        if not 0 <= device_id < count:
            raise RuntimeError(f"device cuda:{device_id} requested, but {count} CUDA GPU(s) found")
        super().__init__(cupy_xp, f"cuda:{device_id}")
        self.cupy = cupy
        self.device_id = device_id
        self.gpu_rng = cupy.random.default_rng()

    def make_current(self):
        if self.cupy.cuda.runtime.getDevice() != self.device_id:
            self.cupy.cuda.runtime.setDevice(self.device_id)

    def zeros(self, shape, dtype):
        with self.cupy.cuda.Device(self.device_id):
            return self.cupy.zeros(shape, dtype=dtype)

    def foreach(self, jobs):
        self.make_current()
        super().foreach(jobs)

    def asarray(self, obj, dtype=None):
        with self.cupy.cuda.Device(self.device_id):
            return self.cupy.asarray(obj, dtype=dtype)

    def to_numpy(self, a):
        if self.pending_checks:
            self.run_pending_checks()
        return self.cupy.asnumpy(a)

    def run_collective(self, a, collective, device_memory=False):
        """With a CUDA-aware MPI (``device_memory``), hand over the device array itself
        (mpi4py reads ``__cuda_array_interface__``) once the kernels that write it have
        finished; otherwise stage through the host (``Backend.run_collective``)."""
        if not device_memory:
            return super().run_collective(a, collective)
        self.make_current()
        if not a.flags.c_contiguous:
            staged = self.cupy.ascontiguousarray(a)
            self.run_collective(staged, collective, device_memory)
            a[...] = staged
            return
        self.cupy.cuda.get_current_stream().synchronize()
        collective(a)

    def owns(self, a):
        return isinstance(a, self.cupy.ndarray) and a.device.id == self.device_id

    def scatter_add(self, target, index, values):
        import cupyx
        cupyx.scatter_add(target, index, values)

    def windows(self, x, kernel, stride):
        return strided_windows(self.cupy.lib.stride_tricks.as_strided, x, kernel, stride)

    def manual_seed(self, seed):
        super().manual_seed(seed)
        self.gpu_rng = self.cupy.random.default_rng(seed)

    def set_rng_state(self, state):
        super().set_rng_state(state)
        self.gpu_rng = self.cupy.random.default_rng(int(self.rng.integers(2 ** 63)))

    def randn(self, shape, dtype):
        with self.cupy.cuda.Device(self.device_id):
            return self.gpu_rng.standard_normal(shape, dtype=dtype)

    def rand(self, shape, dtype):
        with self.cupy.cuda.Device(self.device_id):
            return self.gpu_rng.random(shape, dtype=dtype)

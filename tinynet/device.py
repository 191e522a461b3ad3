"""Devices as objects, and ``tn.cuda``: the spellings PyTorch code uses to pick a device.

    device = tn.device("cuda" if tn.cuda.is_available() else "cpu")
    model.to(device); x = x.to(device)

A ``device`` is a string ("cpu", "cuda:0", "strict") with ``.type`` and ``.index``, so
it goes wherever a device string goes.
"""
from __future__ import annotations

from typing import Any

from .backend import backend_for_device, get_backend, set_backend


class device(str):
    """A device: ``device("cpu")``, ``device("cuda")``, ``device("cuda:1")``,
    ``device("cuda", 1)``. Equal to its string (``device("cpu") == "cpu"``)."""

    def __new__(cls, type: Any, index: int | None = None):
        text = str(type)
        if index is not None:
            if ":" in text:
                raise ValueError(f"device {text!r} already has an index; got index={index}")
            text = f"{text}:{int(index)}"
        return super().__new__(cls, text)

    @property
    def type(self) -> str:
        return self.split(":")[0]

    @property
    def index(self) -> int | None:
        _, _, number = self.partition(":")
        return int(number) if number else None

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"


def set_default_device(target: Any) -> None:
    """New tensors are made on ``target`` ("cpu", "cuda", a ``device``): ``set_backend``."""
    set_backend(str(target))


def get_default_device() -> device:
    return device(get_backend().device)


class cuda:
    """``tn.cuda``: whether a CUDA GPU is usable (through CuPy) and its seed."""

    @staticmethod
    def is_available() -> bool:
        """True when CuPy is installed and sees at least one GPU (imports CuPy lazily)."""
        return cuda.device_count() > 0

    @staticmethod
    def device_count() -> int:
        try:
            import cupy
            return int(cupy.cuda.runtime.getDeviceCount())
        except Exception:  # not installed, no driver, no GPU
            return 0

    @staticmethod
    def manual_seed(seed: int) -> None:
        """Seed the generator of the first GPU (no effect without one, as in PyTorch)."""
        if cuda.is_available():
            backend_for_device("cuda").manual_seed(seed)

    @staticmethod
    def manual_seed_all(seed: int) -> None:
        for i in range(cuda.device_count()):
            backend_for_device(f"cuda:{i}").manual_seed(seed)

    @staticmethod
    def synchronize() -> None:
        """Wait for the GPU to finish its queued work (no effect without one)."""
        if cuda.is_available():
            import cupy
            cupy.cuda.Device().synchronize()


class backends:
    """``tn.backends``: PyTorch's switches for its other GPU libraries. tinynet has no MPS
    (Apple) backend, and the cuDNN flags are accepted and have no effect."""

    class mps:
        @staticmethod
        def is_available() -> bool:
            return False

        @staticmethod
        def is_built() -> bool:
            return False

    class cudnn:
        deterministic = False
        benchmark = False
        enabled = True

        @staticmethod
        def is_available() -> bool:
            return False

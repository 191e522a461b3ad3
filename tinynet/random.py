"""Random numbers: ``Generator``, ``manual_seed`` and the random tensors (rand, randn,
randint, randperm, normal, multinomial), each with PyTorch's ``generator=`` keyword.

Without a generator, numbers come from the backend's own generator, seeded for every
backend by ``tn.manual_seed``. A ``Generator`` is an independent stream with its own seed:
the same seed gives the same numbers, run after run. (The streams are NumPy's, so they
differ from PyTorch's numbers for the same seed.)
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .arguments import shape_args
from .backend import backend_for_device
from .backend import manual_seed as seed_every_backend
from .backend.host import get_default_dtype
from .tensor import Tensor


class Generator:
    """An independent random stream: ``g = tn.Generator().manual_seed(42)``; pass
    ``generator=g`` to the random functions. ``device`` is accepted for PyTorch's
    signature; numbers are drawn on the host and moved to where the tensor lives."""

    def __init__(self, device: Any = "cpu"):
        self.device = device
        self._seed = int(np.random.SeedSequence().entropy % 2 ** 63)
        self.rng = np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> "Generator":
        self._seed = int(seed)
        self.rng = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        """Reseed from fresh entropy; returns the new seed."""
        self.manual_seed(int(np.random.SeedSequence().entropy % 2 ** 63))
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def __repr__(self) -> str:
        return f"Generator(seed={self._seed})"


def manual_seed(seed: int) -> Generator:
    """Seed the generators of every backend (and of those created later); returns a
    Generator with that seed, as PyTorch returns its default generator."""
    seed_every_backend(seed)
    return Generator().manual_seed(seed)


def _host_rng(generator: Generator | None, backend) -> np.random.Generator:
    return backend.rng if generator is None else generator.rng


def _float_dtype(dtype: Any) -> np.dtype:
    dtype = np.dtype(dtype or get_default_dtype())
    if dtype.kind != "f":
        raise TypeError(f"expected a floating point dtype for random values, got {dtype}")
    return dtype


def rand(*size, generator: Generator | None = None, dtype=None, device=None,
         requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1)."""
    backend, dtype = backend_for_device(device), _float_dtype(dtype)
    shape = shape_args(size)
    if generator is None:
        array = backend.rand(shape, dtype)
    else:
        array = backend.asarray(generator.rng.random(shape, dtype=dtype))
    return Tensor(array, requires_grad=requires_grad)


def randn(*size, generator: Generator | None = None, dtype=None, device=None,
          requires_grad: bool = False) -> Tensor:
    """Standard normal samples (mean 0, variance 1)."""
    backend, dtype = backend_for_device(device), _float_dtype(dtype)
    shape = shape_args(size)
    if generator is None:
        array = backend.randn(shape, dtype)
    else:
        array = backend.asarray(generator.rng.standard_normal(shape, dtype=dtype))
    return Tensor(array, requires_grad=requires_grad)


def rand_like(t: Tensor, dtype=None, device=None) -> Tensor:
    return rand(t.shape, dtype=dtype or t.dtype, device=device or t.device)


def randn_like(t: Tensor, dtype=None, device=None) -> Tensor:
    return randn(t.shape, dtype=dtype or t.dtype, device=device or t.device)


def randint(*args, size=None, generator: Generator | None = None, dtype=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """Integers drawn uniformly from [low, high): ``randint(high, size)`` or
    ``randint(low, high, size)``, int64 by default."""
    if size is not None:
        args = args + (size,)
    if len(args) == 2:
        args = (0,) + args
    if len(args) != 3:
        raise TypeError("randint takes (high, size) or (low, high, size), got "
                        f"{len(args)} arguments")
    low, high, size = args
    if high <= low:
        raise ValueError(f"randint: low must be less than high, got low={low}, high={high}")
    backend = backend_for_device(device)
    values = _host_rng(generator, backend).integers(low, high, size=shape_args((size,)))
    return Tensor(backend.asarray(values.astype(np.dtype(dtype or np.int64))),
                  requires_grad=requires_grad)


def randperm(n: int, generator: Generator | None = None, dtype=None, device=None) -> Tensor:
    """A random permutation of 0 .. n-1."""
    backend = backend_for_device(device)
    order = _host_rng(generator, backend).permutation(int(n))
    return Tensor(backend.asarray(order.astype(np.dtype(dtype or np.int64))))


def normal(mean: Any = 0.0, std: Any = 1.0, size=None, generator: Generator | None = None,
           dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Normal samples with the given mean and standard deviation: numbers with ``size``,
    or tensors (elementwise, broadcast together)."""
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        like = mean if isinstance(mean, Tensor) else std
        shape = np.broadcast_shapes(np.shape(mean.array if isinstance(mean, Tensor) else mean),
                                    np.shape(std.array if isinstance(std, Tensor) else std))
        noise = randn(shape, generator=generator, dtype=like.dtype, device=like.device)
        return (noise * std + mean).detach().requires_grad_(requires_grad)
    if size is None:
        raise TypeError("normal(mean, std) with numbers needs size=")
    sample = randn(size, generator=generator, dtype=dtype, device=device) * std + mean
    return sample.detach().requires_grad_(requires_grad)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False,
                generator: Generator | None = None) -> Tensor:
    """Indices drawn from the categories of each row of ``input`` (non-negative weights,
    not necessarily normalised); without replacement, each index at most once per row."""
    if input.ndim not in (1, 2):
        raise ValueError(f"multinomial: input must be 1-D or 2-D, got shape {input.shape}")
    weights = np.asarray(input.numpy(), dtype=np.float64)
    rows = weights.reshape(-1, weights.shape[-1])
    if (rows < 0).any() or not np.isfinite(rows).all() or (rows.sum(axis=1) <= 0).any():
        raise RuntimeError("multinomial: probability tensor contains either inf, nan or "
                           "element < 0, or a row sums to 0")
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError(f"multinomial: cannot sample {num_samples} > {rows.shape[1]} "
                           "categories without replacement")
    backend = backend_for_device(input.device)
    rng = _host_rng(generator, backend)
    picks = np.stack([rng.choice(rows.shape[1], size=num_samples, replace=replacement,
                                 p=row / row.sum()) for row in rows])
    picks = picks.reshape(weights.shape[:-1] + (num_samples,)).astype(np.int64)
    return Tensor(backend.asarray(picks))

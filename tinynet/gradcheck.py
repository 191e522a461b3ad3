"""Check autograd against central differences."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .autograd import no_grad
from .backend import backend_of
from .tensor import Tensor


class GradcheckError(RuntimeError):
    """Raised by gradcheck when an analytic gradient disagrees with the numerical one."""


def gradcheck(fn: Callable[..., Any], inputs: Sequence[Any], eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True,
              seed: int = 0) -> bool:
    """Compare autograd's gradients of ``fn(*inputs)`` with central differences.

    The check runs in float64: every float input is cast to a float64 copy. For a
    non-scalar output, both sides are contracted with one fixed random vector v, so the
    quantity checked is d(sum(v * fn(x)))/dx (a vector-Jacobian product, as backward
    computes). For each element x_i of each input that requires grad:

        numerical_i = (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)

    and it must satisfy |analytic_i - numerical_i| <= atol + rtol * |numerical_i|.

    Returns True, or raises GradcheckError naming the input, the worst element's index and
    both values (returns False instead when ``raise_exception`` is False).
    """
    inputs = [_float64(x) for x in inputs]
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    rng = np.random.default_rng(seed)
    out = _outputs(fn(*inputs))
    weights = [_to_like(rng.standard_normal(o.shape), o) for o in out]
    for i in checked:
        inputs[i].grad = None
    total = None
    for o, w in zip(out, weights):
        term = (o * w).sum()
        total = term if total is None else total + term
    total.backward()

    def f() -> float:
        with no_grad():
            values = _outputs(fn(*inputs))
            return float(sum(float((o * w).sum().item()) for o, w in zip(values, weights)))

    for i in checked:
        x = inputs[i]
        backend = backend_of(x.array)
        analytic = np.zeros(x.shape) if x.grad is None else backend.to_numpy(x.grad.array)
        numerical = np.zeros(x.shape)
        host = backend.to_numpy(x.array).copy()
        for idx in np.ndindex(*x.shape):
            original = host[idx]
            for sign in (1, -1):
                host[idx] = original + sign * eps
                x.array = backend.asarray(host.copy())
                numerical[idx] += sign * f() / (2 * eps)
            host[idx] = original
        x.array = backend.asarray(host.copy())
        error = np.abs(analytic - numerical) - (atol + rtol * np.abs(numerical))
        if error.size and error.max() > 0:
            worst = np.unravel_index(int(np.argmax(error)), x.shape)
            message = (f"gradcheck failed for input {i} (shape {x.shape}) at index "
                       f"{tuple(int(j) for j in worst)}: analytic {analytic[worst]!r}, "
                       f"numerical {numerical[worst]!r} (atol={atol}, rtol={rtol})")
            if raise_exception:
                raise GradcheckError(message)
            return False
    return True


def _float64(x: Any) -> Any:
    if isinstance(x, Tensor) and x.dtype.kind == "f":
        copy = Tensor(backend_of(x.array).astype(x.array, "float64"))
        copy.array = backend_of(copy.array).xp.asarray(copy.array, copy=True)
        copy.requires_grad = x.requires_grad
        return copy
    return x


def _outputs(result: Any) -> list:
    return list(result) if isinstance(result, (tuple, list)) else [result]


def _to_like(values: np.ndarray, like: Tensor) -> Tensor:
    backend = backend_of(like.array)
    return Tensor(backend.astype(backend.asarray(values), like.array.dtype))

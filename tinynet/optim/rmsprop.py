"""RMSprop: steps scaled by a running average of the squared gradient."""
from __future__ import annotations

from typing import Iterable

from ..backend import backend_of
from ..tensor import Tensor
from .optimizer import Optimizer


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e), with PyTorch's names, defaults and update rule.

    Args:
        params: Tensors to optimize, or dicts of parameter groups.
        lr: learning rate (default 1e-2).
        alpha: decay rate of the average of squared gradients (default 0.99).
        eps: added to the denominator for numerical stability (default 1e-8).
        weight_decay: L2 penalty lambda, added to the gradient (default 0).
        momentum: momentum factor mu (default 0).
        centered: divide by an estimate of the gradient's variance instead (default False).
        maximize: maximize the objective instead of minimizing it (default False).

    Example::

        optimizer = tn.optim.RMSprop(model.parameters(), lr=1e-3)
        optimizer.zero_grad(); loss_fn(model(x), y).backward()
        optimizer.step()

    The update of a parameter p with gradient g (v, and g_avg and b if used, start at 0)::

        g <- -g                               if maximize
        g <- g + lambda * p                   if weight_decay != 0
        v <- alpha v + (1 - alpha) g^2
        d <- sqrt(v) + eps,   or if centered:  g_avg <- alpha g_avg + (1 - alpha) g,
                                               d <- sqrt(v - g_avg^2) + eps
        b <- mu b + g / d,  p <- p - lr b     if momentum != 0, else  p <- p - lr g / d
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-2,
                 alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum: float = 0.0, centered: bool = False, *, maximize: bool = False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, maximize=maximize)
        self._check_group(defaults)
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        for name in ("lr", "eps", "momentum", "weight_decay", "alpha"):
            if not group[name] >= 0:
                raise ValueError(f"RMSprop: invalid {name}={group[name]}, it must be >= 0")

    def _update(self, p: Tensor, group: dict) -> tuple:
        xp = backend_of(p.array).xp
        state = self.state[p]
        if not state:
            state["step"] = 0
            state["square_avg"] = Tensor(xp.zeros_like(p.array))
        if group["momentum"] > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = Tensor(xp.zeros_like(p.array))
        if group["centered"] and "grad_avg" not in state:
            state["grad_avg"] = Tensor(xp.zeros_like(p.array))
        state["step"] += 1
        arrays = [p.array, p.grad.array, state["square_avg"].array]
        if group["momentum"] > 0:
            arrays.append(state["momentum_buffer"].array)
        if group["centered"]:
            arrays.append(state["grad_avg"].array)
        return _rmsprop_step(xp, group), arrays


def _rmsprop_step(xp, group: dict):
    # Hyperparameters as Python floats: array * float keeps the array's dtype (float32).
    lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
    weight_decay, momentum = float(group["weight_decay"]), float(group["momentum"])
    maximize = group["maximize"]

    def kernel(p, g, v, *extra):
        # extra: the momentum buffer if momentum > 0, then g_avg if centered
        buf = extra[0] if momentum > 0 else None
        g_avg = extra[-1] if group["centered"] else None
        if maximize:
            g = -g
        if weight_decay != 0:
            g = g + weight_decay * p
        v *= alpha
        v += (1.0 - alpha) * g * g
        if g_avg is not None:
            g_avg *= alpha
            g_avg += (1.0 - alpha) * g
            denom = xp.sqrt(v - g_avg * g_avg) + eps
        else:
            denom = xp.sqrt(v) + eps
        if buf is not None:
            buf *= momentum
            buf += g / denom
            p -= lr * buf
        else:
            p -= lr * (g / denom)
    return kernel

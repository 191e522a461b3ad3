"""Stochastic gradient descent, with momentum, dampening, Nesterov and weight decay."""
from __future__ import annotations

from typing import Iterable

from ..backend import backend_of
from ..tensor import Tensor
from .optimizer import Optimizer


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum), as in PyTorch.

    Args:
        params: Tensors to optimize, or dicts of parameter groups.
        lr: learning rate (default 1e-3).
        momentum: momentum factor mu (default 0).
        dampening: dampening tau of the momentum (default 0).
        weight_decay: L2 penalty lambda (default 0).
        nesterov: use Nesterov momentum (default False; needs momentum > 0, dampening 0).
        maximize: maximize the objective instead of minimizing it (default False).

    Example::

        optimizer = tn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        optimizer.zero_grad(); loss_fn(model(x), y).backward()
        optimizer.step()

    The update of a parameter p with gradient g, at step t::

        g <- -g                        if maximize
        g <- g + lambda * p            if weight_decay != 0
        if momentum != 0:
            b <- g                                  at t = 1 (a copy)
            b <- mu * b + (1 - tau) * g             at t > 1
            g <- g + mu * b            if nesterov, else  g <- b
        p <- p - lr * g
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-3,
                 momentum: float = 0.0, dampening: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False, *, maximize: bool = False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        self._check_group(defaults)
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        if not group["lr"] >= 0:
            raise ValueError(f"SGD: invalid learning rate lr={group['lr']}, it must be >= 0")
        if not group["momentum"] >= 0:
            raise ValueError(f"SGD: invalid momentum={group['momentum']}, it must be >= 0")
        if not group["weight_decay"] >= 0:
            raise ValueError(f"SGD: invalid weight_decay={group['weight_decay']}, "
                             "it must be >= 0")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening == 0, "
                             f"got momentum={group['momentum']}, "
                             f"dampening={group['dampening']}")

    def _update(self, p: Tensor, group: dict) -> tuple:
        # Hyperparameters as Python floats: array * float keeps the array's dtype (float32).
        lr, momentum = float(group["lr"]), float(group["momentum"])
        dampening, weight_decay = float(group["dampening"]), float(group["weight_decay"])
        maximize, nesterov = group["maximize"], group["nesterov"]
        if momentum == 0:
            return _plain_step(lr, weight_decay, maximize), (p.array, p.grad.array)
        state = self.state[p]
        first = "momentum_buffer" not in state
        if first:
            state["momentum_buffer"] = Tensor(backend_of(p.array).xp.empty_like(p.array))
        kernel = _momentum_step(lr, momentum, dampening, weight_decay, maximize, nesterov,
                                first)
        return kernel, (p.array, p.grad.array, state["momentum_buffer"].array)


def _plain_step(lr: float, weight_decay: float, maximize: bool):
    def kernel(p, g):
        # g is never written to: the user's .grad stays as backward left it
        if maximize:
            g = -g
        if weight_decay != 0:
            g = g + weight_decay * p
        p -= lr * g
    return kernel


def _momentum_step(lr: float, momentum: float, dampening: float, weight_decay: float,
                   maximize: bool, nesterov: bool, first: bool):
    def kernel(p, g, buf):
        if maximize:
            g = -g
        if weight_decay != 0:
            g = g + weight_decay * p
        if first:
            buf[...] = g  # the buffer starts as the gradient itself, undamped
        else:
            buf *= momentum
            buf += g if dampening == 0 else (1.0 - dampening) * g
        p -= lr * (g + momentum * buf if nesterov else buf)
    return kernel

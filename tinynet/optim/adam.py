"""Adam and AdamW: per-coordinate steps scaled by running moments of the gradient."""
from __future__ import annotations

import math
from typing import Iterable

from ..backend import backend_of
from ..tensor import Tensor
from .optimizer import Optimizer


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2014), with PyTorch's L2 weight decay and AMSGrad option.

    Args:
        params: Tensors to optimize, or dicts of parameter groups.
        lr: learning rate (default 1e-3).
        betas: decay rates (beta1, beta2) of the two moment averages (default (0.9, 0.999)).
        eps: added to the denominator for numerical stability (default 1e-8).
        weight_decay: L2 penalty lambda, added to the gradient (default 0).
        amsgrad: use the running maximum of the second moment (default False).
        maximize: maximize the objective instead of minimizing it (default False).

    Example::

        optimizer = tn.optim.Adam(model.parameters(), lr=1e-3)
        optimizer.zero_grad(); loss_fn(model(x), y).backward()
        optimizer.step()

    The update of a parameter p with gradient g, at step t = 1, 2, ... (m, v start at 0)::

        g <- -g                               if maximize
        g <- g + lambda * p                   if weight_decay != 0  (AdamW: p <- p (1 - lr lambda))
        m <- beta1 m + (1 - beta1) g
        v <- beta2 v + (1 - beta2) g^2
        v_max <- max(v_max, v)                if amsgrad, and v_max is used for v below
        p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    """

    decoupled_weight_decay = False  # AdamW decays the weights directly instead

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *, maximize: bool = False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize)
        self._check_group(defaults)
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        name = type(self).__name__
        if not group["lr"] >= 0:
            raise ValueError(f"{name}: invalid learning rate lr={group['lr']}, it must be >= 0")
        if not group["eps"] >= 0:
            raise ValueError(f"{name}: invalid eps={group['eps']}, it must be >= 0")
        if len(group["betas"]) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {group['betas']}")
        for i, beta in enumerate(group["betas"]):
            if not 0 <= beta < 1:
                raise ValueError(f"{name}: invalid beta at index {i}: {beta}, "
                                 "it must be in [0, 1)")
        if not group["weight_decay"] >= 0:
            raise ValueError(f"{name}: invalid weight_decay={group['weight_decay']}, "
                             "it must be >= 0")

    def _update(self, p: Tensor, group: dict) -> tuple:
        xp = backend_of(p.array).xp
        state = self.state[p]
        if not state:
            state["step"] = 0
            state["exp_avg"] = Tensor(xp.zeros_like(p.array))
            state["exp_avg_sq"] = Tensor(xp.zeros_like(p.array))
        if group["amsgrad"] and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = Tensor(xp.zeros_like(p.array))
        state["step"] += 1
        arrays = [p.array, p.grad.array, state["exp_avg"].array, state["exp_avg_sq"].array]
        if group["amsgrad"]:
            arrays.append(state["max_exp_avg_sq"].array)
        return _adam_step(xp, group, state["step"], self.decoupled_weight_decay), arrays


def _adam_step(xp, group: dict, t: int, decoupled: bool):
    """The elementwise update of step ``t`` with the hyperparameters of ``group``."""
    # Hyperparameters as Python floats: array * float keeps the array's dtype (float32).
    lr, eps = float(group["lr"]), float(group["eps"])
    weight_decay, maximize = float(group["weight_decay"]), group["maximize"]
    beta1, beta2 = (float(beta) for beta in group["betas"])

    def kernel(p, g, m, v, v_max=None):
        # g is never written to: the user's .grad stays as backward left it
        if maximize:
            g = -g
        if weight_decay != 0:
            if decoupled:
                p *= 1.0 - lr * weight_decay
            else:
                g = g + weight_decay * p
        m *= beta1
        m += (1.0 - beta1) * g
        v *= beta2
        square = g * g
        square *= 1.0 - beta2
        v += square
        if v_max is not None:
            v_max[...] = xp.maximum(v_max, v)  # in place, so the state keeps its array
            v = v_max
        denom = xp.sqrt(v)
        denom /= math.sqrt(1.0 - beta2 ** t)
        denom += eps
        step = m / denom
        step *= lr / (1.0 - beta1 ** t)
        p -= step
    return kernel


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter, 2017), as in PyTorch.

    Args:
        params: Tensors to optimize, or dicts of parameter groups.
        lr: learning rate (default 1e-3).
        betas: decay rates (beta1, beta2) of the two moment averages (default (0.9, 0.999)).
        eps: added to the denominator for numerical stability (default 1e-8).
        weight_decay: decay rate lambda of the weights (default 1e-2).
        amsgrad: use the running maximum of the second moment (default False).
        maximize: maximize the objective instead of minimizing it (default False).

    Example::

        optimizer = tn.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
        optimizer.zero_grad(); loss_fn(model(x), y).backward()
        optimizer.step()

    The update is Adam's with the weights shrunk first, apart from the gradient::

        p <- p (1 - lr lambda)
        m <- beta1 m + (1 - beta1) g,   v <- beta2 v + (1 - beta2) g^2   (v_max as in Adam)
        p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    """

    decoupled_weight_decay = True

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)

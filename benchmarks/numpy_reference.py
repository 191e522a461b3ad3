"""A hand-written NumPy MLP, the reference the benchmark compares tinynet against.

No autograd: every layer's forward and backward are written out, so this file is also
a compact answer to "what does the framework compute for me?". The model is a stack of
Linear layers with ReLU between them (one Linear and no ReLU is logistic regression):

    h_0 = x,   z_l = h_{l-1} W_l^T + b_l,   h_l = relu(z_l)   (no ReLU after the last layer)

trained with softmax cross-entropy and SGD with momentum, PyTorch's rule. Weights use
PyTorch's layout, W of shape (out, in), so one state dict initialises every contender.
Arrays keep the dtype they are given (float32 in the benchmark, float64 in gradient tests).
"""
from __future__ import annotations

import numpy as np


def init_weights(sizes: list[int], seed: int = 0, dtype=np.float32) -> dict[str, np.ndarray]:
    """PyTorch-style initial weights for Linear layers of ``sizes``, named as in
    ``nn.Sequential(Linear, ReLU, Linear, ...)``: ``"0.weight"``, ``"0.bias"``, ``"2.weight"``...

    W and b are drawn from U(-1/sqrt(in), 1/sqrt(in)), the distribution PyTorch's Linear
    uses, from a seeded NumPy generator so every contender starts from the same numbers.
    """
    rng = np.random.default_rng(seed)
    weights = {}
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        bound = 1.0 / np.sqrt(n_in)
        weights[f"{2 * i}.weight"] = rng.uniform(-bound, bound, (n_out, n_in)).astype(dtype)
        weights[f"{2 * i}.bias"] = rng.uniform(-bound, bound, n_out).astype(dtype)
    return weights


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """The mean cross-entropy of softmax(logits) against integer labels, and its gradient.

        loss = (1/N) Σ_n [logsumexp(z_n) - z_n,y_n]
        dloss/dz = (softmax(z) - onehot(y)) / N

    log-sum-exp subtracts each row's maximum first, so exp never overflows.
    """
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    sum_exp = exp.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    loss = np.mean(np.log(sum_exp[:, 0]) - shifted[rows, labels])
    grad = exp / sum_exp          # softmax
    grad[rows, labels] -= 1       # minus the one-hot
    grad /= n
    return float(loss), grad


class MLP:
    """Linear layers with ReLU between them, forward and backward by hand.

    Args:
        weights: ``{"0.weight": W0, "0.bias": b0, "2.weight": W1, ...}`` as made by
            ``init_weights``; copied, so the caller's arrays are never changed.
    """

    def __init__(self, weights: dict[str, np.ndarray]):
        names = sorted({name.split(".")[0] for name in weights}, key=int)
        self.params = {name: np.array(value) for name, value in weights.items()}
        self.layers = [(f"{i}.weight", f"{i}.bias") for i in names]
        self.grads: dict[str, np.ndarray] = {}
        self._inputs: list[np.ndarray] = []  # each layer's input, kept for backward

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The logits: z_l = h_{l-1} W_l^T + b_l, h_l = relu(z_l) except after the last layer."""
        self._inputs = []
        h = x
        for i, (w, b) in enumerate(self.layers):
            self._inputs.append(h)
            h = h @ self.params[w].T + self.params[b]
            if i < len(self.layers) - 1:
                np.maximum(h, 0, out=h)  # ReLU in place: z itself is never needed again
        return h

    def backward(self, grad_logits: np.ndarray) -> None:
        """Fill ``self.grads`` given dL/dlogits, layer by layer from the last:

            dL/dW_l = g_l^T h_{l-1},   dL/db_l = Σ_n g_l,   dL/dh_{l-1} = g_l W_l
            g_{l-1} = dL/dh_{l-1} * [h_{l-1} > 0]       (ReLU's derivative)
        """
        g = grad_logits
        for i in reversed(range(len(self.layers))):
            w, b = self.layers[i]
            h = self._inputs[i]
            self.grads[w] = g.T @ h
            self.grads[b] = g.sum(axis=0)
            if i > 0:  # the input x needs no gradient
                g = g @ self.params[w]
                g *= h > 0  # h = relu(z) > 0 exactly where z > 0
        self._inputs = []  # free the activations, as a framework frees its graph


class SGD:
    """SGD with momentum, PyTorch's rule (dampening 0, no Nesterov, no weight decay):

        buf = g on the first step, then buf = momentum * buf + g
        p  -= lr * buf
    """

    def __init__(self, params: dict[str, np.ndarray], lr: float, momentum: float = 0.0):
        self.params, self.lr, self.momentum = params, lr, momentum
        self.buffers: dict[str, np.ndarray] = {}

    def step(self, grads: dict[str, np.ndarray]) -> None:
        for name, p in self.params.items():
            g = grads[name]
            if self.momentum:
                buf = self.buffers.get(name)
                if buf is None:
                    buf = self.buffers[name] = g.copy()
                else:
                    buf *= self.momentum
                    buf += g
                g = buf
            p -= self.lr * g


def train_step(model: MLP, opt: SGD, x: np.ndarray, y: np.ndarray) -> float:
    """One step: forward, loss, backward, update. Returns the batch's loss."""
    loss, grad_logits = softmax_cross_entropy(model.forward(x), y)
    model.backward(grad_logits)
    opt.step(model.grads)
    return loss

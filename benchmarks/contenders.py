"""The three contenders of bench_mnist.py: tinynet, the hand-written NumPy reference, PyTorch.

Each one is built from the same initial weights and trains one epoch per ``epoch(e)`` call
on the same batches: epoch ``e`` visits the samples in the order
``default_rng([seed, e]).permutation(n)`` (given to tinynet's DataLoader as its sampler),
and every batch is gathered from the uint8 images and divided by 255. ``epoch`` returns the mean training
loss: each contender keeps its per-step losses in a list and averages them once, at the end of
the epoch (on a GPU, the only synchronisation), so the bookkeeping costs all three the same:
one append per step.

On ``device="cuda"`` tinynet runs on CuPy and PyTorch on CUDA, each with the whole data set
resident on the GPU; the NumPy reference is CPU only.

A model is a list of layer sizes (an MLP, or logistic regression) or the name of a CNN in
``CNNS``. The NumPy reference is an MLP only: a hand-written NumPy CNN would be a second
convolution implementation to maintain, so CNN rows compare tinynet with PyTorch. An MLP
takes (B, 784) rows, a CNN (B, 1, 28, 28) images (``model_inputs``).
"""
from __future__ import annotations

import numpy as np

import numpy_reference as ref

CONTENDERS = ("tinynet", "numpy", "torch")
LR, MOMENTUM = 0.1, 0.9
# The CNNs train with a smaller step: at 0.1, PyTorch's example network (no BatchNorm) is
# chaotic in its first hundred steps, and float32 rounding alone makes the libraries' first
# losses differ by 15%, which would hide a real disagreement.
CNN_LR = 0.01


def learning_rate(model) -> float:
    return LR if isinstance(model, list) else CNN_LR


def model_inputs(model, images: np.ndarray) -> np.ndarray:
    """The (N, 784) uint8 rows as ``model`` takes them: unchanged for an MLP, a view of
    shape (N, 1, 28, 28) for a CNN."""
    return images if isinstance(model, list) else images.reshape(-1, 1, 28, 28)


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The sample order of ``epoch``, the same for every contender."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def numpy_batches(images: np.ndarray, labels: np.ndarray, batch_size: int, order: np.ndarray):
    """(x float32 in [0, 1], y int64) batches in ``order``, gathered from uint8 per batch."""
    for start in range(0, len(order), batch_size):
        index = order[start:start + batch_size]
        yield images[index].astype(np.float32) / 255, labels[index]


class NumpyContender:
    def __init__(self, sizes, weights, batch_size, images, labels, seed, device="cpu"):
        self.model = ref.MLP(weights)
        self.opt = ref.SGD(self.model.params, lr=LR, momentum=MOMENTUM)
        self.data, self.batch_size, self.seed = (images, labels), batch_size, seed

    def epoch(self, e: int) -> float:
        order = epoch_order(len(self.data[1]), self.seed, e)
        losses = [ref.train_step(self.model, self.opt, x, y)
                  for x, y in numpy_batches(*self.data, self.batch_size, order)]
        return float(np.mean(losses))


class TinynetContender:
    def __init__(self, sizes, weights, batch_size, images, labels, seed, device="cpu"):
        import tinynet as tn
        self.tn, self.F = tn, tn.nn.functional
        self.model = tn.nn.Sequential(*model_layers(tn.nn, sizes)).to(device)
        self.model.load_state_dict(weights)
        self.opt = tn.optim.SGD(self.model.parameters(), lr=learning_rate(sizes),
                                momentum=MOMENTUM)
        # The data set lives on the device (wrapped, not copied, on the CPU); batches are
        # gathered there.
        images = model_inputs(sizes, images)
        self.dataset = tn.utils.data.TensorDataset(tn.Tensor(images).to(device),
                                                   tn.Tensor(labels).to(device))
        self.DataLoader, self.batch_size, self.seed = tn.utils.data.DataLoader, batch_size, seed

    def batches(self, e: int):
        """(x float32 in [0, 1], y int64) batches of epoch ``e``, from tinynet's DataLoader."""
        order = epoch_order(len(self.dataset), self.seed, e)
        for x, y in self.DataLoader(self.dataset, batch_size=self.batch_size, sampler=order):
            yield x.float() / 255, y

    def epoch(self, e: int) -> float:
        losses = []
        for x, y in self.batches(e):
            self.opt.zero_grad()
            loss = self.F.cross_entropy(self.model(x), y)
            loss.backward()
            self.opt.step()
            losses.append(loss.detach())
        return self.tn.stack(losses).mean().item()


class TorchContender:
    def __init__(self, sizes, weights, batch_size, images, labels, seed, device="cpu"):
        import torch
        self.torch, self.device = torch, torch.device(device)
        self.model = torch.nn.Sequential(*model_layers(torch.nn, sizes)).to(self.device)
        self.model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
        self.opt = torch.optim.SGD(self.model.parameters(), lr=learning_rate(sizes),
                                   momentum=MOMENTUM)
        images = model_inputs(sizes, images)
        self.data, self.batch_size, self.seed = (images, labels), batch_size, seed
        if self.device.type == "cuda":  # the data set lives on the GPU, as tinynet's does
            self.gpu_data = (torch.from_numpy(images).to(self.device),
                             torch.from_numpy(labels).to(self.device))

    def batches(self, e: int):
        order = epoch_order(len(self.data[1]), self.seed, e)
        if self.device.type != "cuda":
            for x, y in numpy_batches(*self.data, self.batch_size, order):
                yield self.torch.from_numpy(x), self.torch.from_numpy(y)
            return
        images, labels = self.gpu_data
        order = self.torch.from_numpy(order).to(self.device)
        for start in range(0, len(order), self.batch_size):
            index = order[start:start + self.batch_size]
            yield images[index].float() / 255, labels[index]

    def epoch(self, e: int) -> float:
        F = self.torch.nn.functional
        losses = []
        for x, y in self.batches(e):
            self.opt.zero_grad()
            loss = F.cross_entropy(self.model(x), y)
            loss.backward()
            self.opt.step()
            losses.append(loss.detach())
        return self.torch.stack(losses).mean().item()


def _layers(nn, sizes: list[int]) -> list:
    """Linear, ReLU, Linear, ..., Linear: the parameter names match ``ref.init_weights``."""
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    return layers[:-1]


CNNS = ("cnn-example", "cnn-default")


def cnn_layers(nn, name: str) -> list:
    """The CNNs, on (B, 1, 28, 28) images (``nn`` is ``tinynet.nn`` or ``torch.nn``):

    cnn-example: PyTorch's examples/mnist network, conv 1->32 3x3, conv 32->64 3x3, max-pool
        2, dense 9216->128->10 (its two dropouts left out: no two libraries draw the same
        masks, and the losses must agree).
    cnn-default: the CNN of ``examples/train_mnist.py --model cnn``.
    """
    if name == "cnn-example":
        return [nn.Conv2d(1, 32, 3), nn.ReLU(),
                nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                nn.Linear(9216, 128), nn.ReLU(), nn.Linear(128, 10)]
    if name == "cnn-default":
        return default_cnn(nn)
    raise ValueError(f"unknown CNN {name!r}: expected one of {CNNS}")


def default_cnn(nn) -> list:
    """Mirrors ``build_model`` of examples/mnist_setup.py (a test checks they agree)."""
    def block(c_in, c_out):
        return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.MaxPool2d(2),
                nn.BatchNorm2d(c_out), nn.ReLU()]
    return block(1, 16) + block(16, 32) + block(32, 64) + [nn.Flatten(), nn.Linear(576, 10)]


def model_layers(nn, model) -> list:
    return _layers(nn, model) if isinstance(model, list) else cnn_layers(nn, model)


def initial_weights(model, seed: int) -> dict:
    """The same start for every contender: ``ref.init_weights`` for an MLP; for a CNN,
    tinynet's PyTorch-style initialisation under ``seed``, as NumPy arrays."""
    if isinstance(model, list):
        return ref.init_weights(model, seed)
    import tinynet as tn
    tn.manual_seed(seed)
    net = tn.nn.Sequential(*cnn_layers(tn.nn, model))
    return {k: v.numpy().copy() for k, v in net.state_dict().items()}


def unsupported(name: str, model) -> str | None:
    """Why contender ``name`` cannot train ``model``, or None."""
    if name == "numpy" and not isinstance(model, list):
        return "the NumPy reference is an MLP; a NumPy CNN would be a second conv implementation"
    return None


def available(name: str, device: str = "cpu") -> str | None:
    """None if contender ``name`` can run on ``device`` here, else the reason it cannot."""
    modules = {"tinynet": ["tinynet.nn", "tinynet.optim"], "numpy": [], "torch": ["torch"]}
    for module in modules[name]:
        try:
            __import__(module)
        except ImportError as exc:
            return f"{module} is not importable ({exc})"
    if device == "cpu":
        return None
    if name == "numpy":
        return "the NumPy reference runs on the CPU only"
    if name == "torch":
        import torch
        return None if torch.cuda.is_available() else "PyTorch sees no CUDA device"
    from tinynet.backend import backend_for_device
    try:
        backend_for_device(device)
    except (RuntimeError, ValueError) as exc:
        return str(exc)
    return None


CLASSES = {"tinynet": TinynetContender, "numpy": NumpyContender, "torch": TorchContender}

"""A clear error for a PyTorch name that tinynet does not have, with the tinynet spelling
where one exists: ``tn.foo`` raises AttributeError("tinynet has no torch.foo; use ...")."""
from __future__ import annotations

# "module.name" -> what to use instead in tinynet
HINTS = {
    "tinynet.FloatTensor": "tn.tensor(data, dtype=tn.float32) or tn.zeros(*size)",
    "tinynet.LongTensor": "tn.tensor(data, dtype=tn.int64)",
    "tinynet.DoubleTensor": "tn.tensor(data, dtype=tn.float64)",
    "tinynet.bmm": "a @ b (matmul broadcasts over the batch)",
    "tinynet.einsum": "matmul, sum and permute",
    "tinynet.std": "((x - x.mean()) ** 2).mean().sqrt()",
    "tinynet.var": "((x - x.mean()) ** 2).mean()",
    "tinynet.sort": "t.numpy() and NumPy's sort, outside the graph",
    "tinynet.topk": "t.numpy() and NumPy's argsort, outside the graph",
    "tinynet.compile": "plain calls: tinynet has no compiler",
    "tinynet.jit": "plain Python: tinynet has no JIT",
    "tinynet.autograd.grad": "loss.backward() and the leaves' .grad",
    "tinynet.nn.LSTM": "Linear layers and tanh/sigmoid written out",
    "tinynet.nn.Embedding": "indexing a Parameter: W[idx] (gradients accumulate)",
    "tinynet.nn.functional.gelu": "F.relu or x * (x * 1.702).sigmoid()",
    "tinynet.optim.LBFGS": "tn.optim.SGD, Adam, AdamW or RMSprop",
}


def missing_name(module: str, name: str) -> AttributeError:
    """The AttributeError for ``module.name``, naming the PyTorch name it stands for."""
    torch_name = "torch" + module[len("tinynet"):] + "." + name
    hint = HINTS.get(f"{module}.{name}")
    message = f"module {module!r} has no attribute {name!r}: tinynet has no {torch_name}"
    return AttributeError(message + (f"; use {hint}" if hint else ""))


def __getattr__(name: str):
    """Called for ``tinynet.<name>`` when no such attribute exists."""
    if name.startswith("__"):
        raise AttributeError(name)
    raise missing_name("tinynet", name)

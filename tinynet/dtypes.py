"""The dtypes, under NumPy's and PyTorch's names, and the default floating point dtype.

``tn.float`` is float32 and ``tn.long`` int64, as in PyTorch. The names ``float``,
``int`` and ``bool`` shadow Python's built-ins, so they are bound only as attributes of
the package (``tn.int``); no module of tinynet imports them under those names.
"""
from __future__ import annotations

import numpy as np

from .backend.host import get_default_dtype, set_default_dtype  # noqa: F401  (re-exported)

float16 = half = np.dtype("float16")
float32 = np.dtype("float32")
float64 = double = np.dtype("float64")
uint8 = np.dtype("uint8")
int8 = np.dtype("int8")
int16 = short = np.dtype("int16")
int32 = np.dtype("int32")
int64 = long = np.dtype("int64")
bool_ = np.dtype("bool")

# The PyTorch spellings that shadow built-ins, for ``tinynet/__init__.py`` to bind.
BUILTIN_SHADOWING = {"float": float32, "int": int32, "bool": bool_}

# PyTorch's legacy tensor type names, as ``Tensor.type()`` returns them.
TYPE_NAMES = {float32: "torch.FloatTensor", float64: "torch.DoubleTensor",
              float16: "torch.HalfTensor", int64: "torch.LongTensor",
              int32: "torch.IntTensor", int16: "torch.ShortTensor", int8: "torch.CharTensor",
              uint8: "torch.ByteTensor", bool_: "torch.BoolTensor"}
NAMED_TYPES = {name: dtype for dtype, name in TYPE_NAMES.items()}

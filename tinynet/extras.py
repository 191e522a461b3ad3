"""Optional packages: tinynet imports each only where it is used, and says which extra
installs it when it is missing (``pip install 'tinynet[onnx]'``)."""
from __future__ import annotations

import importlib
from types import ModuleType


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module``, or raise ImportError saying which tinynet extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"{purpose} needs the {module.split('.')[0]!r} package: "
                          f"pip install 'tinynet[{extra}]' ({exc})") from None

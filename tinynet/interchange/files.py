"""Writing a file whole or not at all: the checkpoints' atomic write, for bytes."""
from __future__ import annotations

import os

from .._checkpoint_write import write_atomically as _write_atomically


def write_atomically(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a fsynced temporary sibling renamed onto it:
    readers (and a crash) see the old file or the new one, never half."""
    _write_atomically(path, lambda file: file.write(data))

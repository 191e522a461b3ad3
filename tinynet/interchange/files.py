"""Writing a file whole or not at all."""
from __future__ import annotations

import os
import tempfile


def write_atomically(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to a temporary sibling of ``path``, flush it to disk and rename it
    onto ``path``: readers (and a crash) see the old file or the new one, never half."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        mode = os.stat(path).st_mode & 0o777  # keep the permissions of a file we replace
    except FileNotFoundError:
        umask = os.umask(0)  # the only portable way to read the umask is to set it
        os.umask(umask)
        mode = 0o666 & ~umask  # what open(path, "wb") would give; mkstemp gives 0600
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".tinynet-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:  # KeyboardInterrupt too: never leave a temporary behind
        os.unlink(temporary)
        raise

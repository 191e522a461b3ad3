"""Writing a checkpoint file: a zip of uncompressed ``.npy`` entries that ends in its own
SHA-256, put in place atomically.

Each array is an entry ``<name>.npy``; the zip comment, the last 79 bytes of the file, is
``tinynet-sha256:`` and the hex SHA-256 of every byte before those 64 hex digits (so
``head -c -64 FILE | sha256sum`` prints ``tail -c 64 FILE``). The file is written as a
temporary sibling, fsynced and renamed onto the target: a crash leaves the old file or the
new one.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from typing import BinaryIO

import numpy as np

DIGEST_MARK = b"tinynet-sha256:"
DIGEST_LENGTH = 64                                  # hex digits of a SHA-256
ENTRY_TIME = (1980, 1, 1, 0, 0, 0)                  # fixed: equal objects give equal files
_CHUNK = 1 << 20


def write_checkpoint(path: str, entries: dict[str, np.ndarray]) -> None:
    """Write ``entries`` (name -> array) to ``path`` atomically."""
    directory = os.path.dirname(os.path.abspath(path))
    mode = file_mode(path)
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".tinynet-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w+b") as file:
            _write_zip(file, entries)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:  # KeyboardInterrupt too: never leave a temporary behind
        os.unlink(temporary)
        raise
    _fsync_directory(directory)  # makes the rename itself survive a power cut


def _write_zip(file: BinaryIO, entries: dict[str, np.ndarray]) -> None:
    with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in entries.items():
            info = zipfile.ZipInfo(name + ".npy", date_time=ENTRY_TIME)
            # force_zip64, as np.savez: the size of an entry is not known before it is written
            with archive.open(info, "w", force_zip64=True) as entry:
                np.lib.format.write_array(entry, array, allow_pickle=False)
        archive.comment = DIGEST_MARK + b"0" * DIGEST_LENGTH  # close() writes it last
    end = file.seek(0, os.SEEK_END)
    digest = sha256_of_start(file, end - DIGEST_LENGTH)
    file.seek(end - DIGEST_LENGTH)
    file.write(digest.encode("ascii"))


def file_mode(path: str) -> int:
    """The permissions ``open(path, "wb")`` would give: mkstemp makes files private (0600)."""
    try:
        return os.stat(path).st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)  # the only portable way to read the umask is to set it
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_directory(directory: str) -> None:
    if os.name != "posix":  # Windows cannot open a directory; NTFS renames are journaled
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256_of_start(file: BinaryIO, length: int) -> str:
    """The hex SHA-256 of the first ``length`` bytes of ``file``."""
    digest, buffer = hashlib.sha256(), memoryview(bytearray(min(length, _CHUNK)))
    file.seek(0)
    while length > 0:
        count = file.readinto(buffer[:length])
        if not count:
            raise ValueError("the file ended while its SHA-256 was computed")
        digest.update(buffer[:count])
        length -= count
    return digest.hexdigest()

"""Writing a checkpoint file: a zip of uncompressed ``.npy`` entries that ends in its own
SHA-256, put in place atomically.

Each array is an entry ``<name>.npy``; the zip comment, the last 79 bytes of the file, is
``tinynet-sha256:`` and the hex SHA-256 of every byte before those 64 hex digits (so
``head -c -64 FILE | sha256sum`` prints ``tail -c 64 FILE``). The file is written as a
temporary sibling ``.<file name>.tinynet-<host>-<pid>-<random>.tmp``, fsynced and renamed
onto the target: a crash leaves the old file or the new one. A writer killed mid-save leaves
its temporary behind; the next save of the same path removes those whose process is gone
(on POSIX, where a PID can be probed; only this host's, as the folder may be shared).
"""
from __future__ import annotations

import errno
import hashlib
import os
import re
import socket
import tempfile
import zipfile
from typing import BinaryIO

import numpy as np

DIGEST_MARK = b"tinynet-sha256:"
DIGEST_LENGTH = 64                                  # hex digits of a SHA-256
ENTRY_TIME = (1980, 1, 1, 0, 0, 0)                  # fixed: equal objects give equal files
_CHUNK = 1 << 20
_HOST = re.sub(r"[^A-Za-z0-9]", "_", socket.gethostname())[:32] or "host"


def write_checkpoint(path: str, entries: dict[str, np.ndarray]) -> None:
    """Write ``entries`` (name -> array) to ``path`` atomically. A symbolic link is written
    through to its target, as ``open(path, "wb")`` would; the link itself stays."""
    target = os.path.realpath(path)
    if os.path.islink(target):  # realpath stops at a loop of links; open() would fail too
        raise OSError(errno.ELOOP, "Too many levels of symbolic links", path)
    directory = os.path.dirname(target)
    remove_stale_temporaries(target)
    mode = file_mode(target)
    fd, temporary = tempfile.mkstemp(
        dir=directory, prefix=f"{_temporary_prefix(target)}{_HOST}-{os.getpid()}-",
        suffix=".tmp")
    try:
        with os.fdopen(fd, "w+b") as file:
            _write_zip(file, entries)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
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


def _temporary_prefix(target: str) -> str:
    # 40 characters (160 bytes in UTF-8 at most) leave room for the rest in 255 bytes
    return f".{os.path.basename(target)[:40]}.tinynet-"


def remove_stale_temporaries(target: str) -> None:
    """Delete the temporaries that writers of ``target`` on this host left when they were
    killed. A temporary whose writer still runs (or whose PID was reused) is kept. Best
    effort: what cannot be listed or removed stays, and the save goes on."""
    if os.name != "posix":  # on Windows os.kill(pid, 0) would end the process, not probe it
        return
    directory = os.path.dirname(target)
    pattern = re.compile(re.escape(_temporary_prefix(target))
                         + r"([A-Za-z0-9_]+)-([0-9]{1,9})-[A-Za-z0-9_]+\.tmp")
    try:
        names = os.listdir(directory)
    except OSError:  # a folder we may write but not list; mkstemp reports a missing one
        return
    for name in names:
        match = pattern.fullmatch(name)
        if match and match[1] == _HOST and not _process_exists(int(match[2])):
            try:
                os.unlink(os.path.join(directory, name))
            except OSError:  # removed by another saver first, or not ours to remove
                pass


def _process_exists(pid: int) -> bool:
    if pid == os.getpid():  # another thread of this process may be saving right now
        return True
    try:
        os.kill(pid, 0)  # signal 0 sends nothing: it only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


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

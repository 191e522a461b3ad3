"""Reading a checkpoint file, checking everything it claims before believing it.

``CheckpointReader`` first checks the SHA-256 at the end of the file (version 2), then that
every entry is an uncompressed, unencrypted ``.npy`` inside the file and that the entries
together claim no more bytes than the file has; each array's header must describe exactly
the bytes its entry holds, and each array can be read once. So no file, damaged or crafted,
makes it allocate much more than the file's size.
"""
from __future__ import annotations

import ast
import math
import os
import struct
import zipfile
import zlib
from typing import BinaryIO

import numpy as np

from ._checkpoint_write import DIGEST_LENGTH, DIGEST_MARK, sha256_of_start

NPY_MAGIC = b"\x93NUMPY"
NPY_HEADER_LIMIT = 10_000                           # np.load's own limit on a .npy header
_NPY_LENGTH_FIELD = {1: 2, 2: 4, 3: 4}              # bytes that hold the header length
_UNSUPPORTED_FLAGS = 0x01 | 0x20 | 0x40             # encrypted, patched, strongly encrypted


class CheckpointReader:
    """The entries of an open checkpoint file, checked before any is read.

    ``verified`` is True when the file ends in a SHA-256 that matches its content (what
    version 2 writes); a version-1 file has none, and only the CRC-32 of each zip entry
    guards its data. Raises ValueError (or zipfile.BadZipFile, struct.error, EOFError,
    NotImplementedError from zipfile) for a file that is damaged or breaks these rules.
    """

    def __init__(self, file: BinaryIO):
        size = os.fstat(file.fileno()).st_size
        if file.read(4) != b"PK\x03\x04":  # also keeps other formats out of zipfile
            raise ValueError("it is not a zip (.npz) archive")
        file.seek(max(size - len(DIGEST_MARK) - DIGEST_LENGTH, 0))
        trailer = file.read()
        self.verified = trailer.startswith(DIGEST_MARK)
        stored = trailer[len(DIGEST_MARK):]
        if self.verified and sha256_of_start(file, size - DIGEST_LENGTH).encode() != stored:
            raise ValueError("its content does not match the SHA-256 stored at its end")
        self._file = file
        self._zip = zipfile.ZipFile(file)
        self._entries = _check_entries(self._zip.infolist(), size)
        self._read: set[str] = set()

    def __enter__(self) -> CheckpointReader:
        return self

    def __exit__(self, *exc_info) -> None:
        self._zip.close()

    def read(self, name: str, max_bytes: int | None = None) -> np.ndarray:
        """The array in entry ``name`` (at most ``max_bytes`` of data). Each name can be
        read once: a file that refers to one array twice could otherwise make its reader
        hold that array many times over."""
        if name in self._read:
            raise ValueError(f"the manifest refers to array {name!r} twice")
        if name not in self._entries:
            raise ValueError(f"the manifest refers to array {name!r}, which the file does "
                             "not contain")
        self._read.add(name)
        info = self._entries[name]
        with self._zip.open(info) as entry:  # zipfile checks the entry's local header here
            shape, fortran_order, dtype = _read_npy_header(entry, name)
            header_size = entry.tell()
        nbytes, held = math.prod(shape) * dtype.itemsize, info.file_size - header_size
        if nbytes != held:
            raise ValueError(f"entry {name!r} claims a {shape} array of {dtype} "
                             f"({nbytes:,} bytes) but holds {held:,} bytes of data")
        if max_bytes is not None and nbytes > max_bytes:
            raise ValueError(f"entry {name!r} holds {nbytes:,} bytes, more than the "
                             f"{max_bytes:,} allowed")
        array = np.empty(shape, dtype, order="F" if fortran_order else "C")
        raw = array.reshape(-1, order="A").view(np.uint8) if nbytes else np.empty(0, np.uint8)
        # Straight from the file into the array: one copy, where zipfile would make three.
        start = self._data_offset(info)
        self._file.seek(start + header_size)
        if self._file.readinto(raw) != nbytes:
            raise EOFError(f"entry {name!r} is cut short")
        if not self.verified:  # no SHA-256 (version 1): check the CRC-32, as zipfile would
            self._file.seek(start)
            if zlib.crc32(raw, zlib.crc32(self._file.read(header_size))) != info.CRC:
                raise ValueError(f"entry {name!r} fails its CRC-32 check")
        return array

    def _data_offset(self, info: zipfile.ZipInfo) -> int:
        """Where an entry's bytes begin: after its local header, 30 bytes followed by a
        name and an extra field whose lengths the header's last 4 bytes give."""
        self._file.seek(info.header_offset + 26)
        name_length, extra_length = struct.unpack("<HH", self._file.read(4))
        return info.header_offset + 30 + name_length + extra_length


def _check_entries(infos: list[zipfile.ZipInfo], file_size: int) -> dict[str, zipfile.ZipInfo]:
    """name -> ZipInfo, after checking what every entry claims against the file."""
    entries, claimed = {}, 0
    for info in infos:
        name = info.filename.removesuffix(".npy")
        if name == info.filename or name in entries:
            raise ValueError(f"entry {info.filename!r} is not a .npy array or appears twice")
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & _UNSUPPORTED_FLAGS:
            raise ValueError(f"entry {info.filename!r} is compressed or encrypted; tinynet "
                             "checkpoints store arrays as they are")
        claimed += info.compress_size
        if (info.file_size != info.compress_size or info.header_offset < 0
                or info.header_offset + info.compress_size > file_size
                or claimed > file_size):
            raise ValueError(f"entry {info.filename!r} claims {info.file_size:,} bytes at "
                             f"offset {info.header_offset:,}: more than the file's "
                             f"{file_size:,} bytes hold")
        entries[name] = info
    return entries


def _read_npy_header(entry: BinaryIO, name: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Shape, Fortran order and dtype from a .npy header, refusing anything np.save would
    not write (a header is a Python dict literal; ast.literal_eval runs no code)."""
    start = entry.read(len(NPY_MAGIC) + 2)
    version = start[-2] if start[:-2] == NPY_MAGIC and start[-1] == 0 else None
    if version not in _NPY_LENGTH_FIELD:
        raise ValueError(f"entry {name!r} is not a .npy array of a version tinynet reads")
    length = int.from_bytes(entry.read(_NPY_LENGTH_FIELD[version]), "little")
    text = entry.read(length) if length <= NPY_HEADER_LIMIT else b""
    if len(text) != length:
        raise ValueError(f"entry {name!r} has a .npy header of {length:,} bytes, too long "
                         "or cut short")
    try:
        header = ast.literal_eval(text.decode("utf-8" if version == 3 else "latin-1"))
    except (SyntaxError, ValueError, RecursionError) as exc:  # Recursion: nested literals
        raise ValueError(f"entry {name!r} has a malformed .npy header: {exc}") from None
    if not (isinstance(header, dict) and set(header) == {"descr", "fortran_order", "shape"}
            and isinstance(header["shape"], tuple)
            and all(type(n) is int and n >= 0 for n in header["shape"])
            and type(header["fortran_order"]) is bool):
        raise ValueError(f"entry {name!r} has a malformed .npy header: {text[:200]!r}")
    dtype = np.lib.format.descr_to_dtype(header["descr"])
    if dtype.hasobject:
        raise ValueError(f"entry {name!r} holds Python objects ({dtype}), which only pickle "
                         "could load")
    return header["shape"], header["fortran_order"], dtype

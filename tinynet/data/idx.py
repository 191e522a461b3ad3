"""Read and write IDX files, the format MNIST and Fashion-MNIST are published in.

An IDX file is a small big-endian header followed by the raw array:

    bytes 0-1   two zero bytes
    byte  2     element type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64)
    byte  3     number of dimensions, ndim
    then        ndim sizes, each a 32-bit big-endian unsigned integer
    then        prod(sizes) elements, big-endian, in C (row-major) order

Files are often gzip-compressed. ``read_idx`` recognises gzip by its magic bytes
(1f 8b), not by the file name, and checks every part of the header and the exact
length of the data, so a truncated download is an error and never a short array.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import struct
import tempfile
import zlib
from typing import BinaryIO

import numpy as np

# Type code -> big-endian NumPy dtype (the byte order of the file).
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 22  # 4 MiB: few Python-level reads, bounded extra memory per read
_TRAILING_COUNTED = 1 << 26  # 64 MiB: how far trailing bytes are counted for a message


def is_gzip(path: str | os.PathLike) -> bool:
    """True when the file starts with the gzip magic bytes 1f 8b."""
    with open(path, "rb") as f:
        return f.read(2) == GZIP_MAGIC


def read_idx(path: str | os.PathLike, sha256: str | None = None) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed) into a native-endian NumPy array.

    Args:
        path: the file. Gzip is detected from the content, whatever the file is called.
        sha256: if given, the SHA-256 hex digest that the decompressed file must have.

    Returns:
        A writable array with the file's shape and element type (uint8 for MNIST).

    Raises:
        ValueError: naming the file, when the gzip stream is corrupt or truncated, the
            header is invalid, the data is shorter or longer than the header says, or
            the checksum differs.
    """
    path = os.fspath(path)
    compressed = is_gzip(path)
    try:
        with (gzip.open(path, "rb") if compressed else open(path, "rb")) as f:
            return _read_stream(f, path, sha256)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        # EOFError: the stream stops before gzip's end marker (a cut download);
        # zlib.error / BadGzipFile: damaged bytes or a failed CRC check.
        raise ValueError(f"{path}: corrupt or truncated gzip stream ({exc})") from exc


def _read_stream(f: BinaryIO, path: str, sha256: str | None) -> np.ndarray:
    digest = hashlib.sha256() if sha256 is not None else None
    header = f.read(4)
    if len(header) < 4:
        raise ValueError(f"{path}: not an IDX file, only {len(header)} bytes long")
    zero1, zero2, code, ndim = header
    if zero1 != 0 or zero2 != 0:
        raise ValueError(f"{path}: not an IDX file, the magic number starts with "
                         f"{header[:2].hex()} instead of 0000")
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise ValueError(f"{path}: unknown IDX element type code 0x{code:02X} (known: {known})")
    if ndim == 0:
        raise ValueError(f"{path}: IDX header declares 0 dimensions")
    dims_bytes = f.read(4 * ndim)
    if len(dims_bytes) < 4 * ndim:
        raise ValueError(f"{path}: truncated IDX header: {ndim} dimensions need "
                         f"{4 * ndim} bytes of sizes, found {len(dims_bytes)}")
    shape = struct.unpack(f">{ndim}I", dims_bytes)
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if digest is not None:
        digest.update(header + dims_bytes)

    # Read in chunks, never more than expected + 1 bytes: a corrupt header that claims a
    # huge shape then fails on the length check below instead of allocating that much.
    chunks, found = [], 0
    while found <= expected:
        chunk = f.read(min(_CHUNK, expected + 1 - found))
        if not chunk:
            break
        chunks.append(chunk)
        found += len(chunk)
    more = ""
    if found > expected:  # count the trailing bytes for the message, up to a bound: a
        while chunk and found - expected < _TRAILING_COUNTED:  # gzip bomb stops here
            chunk = f.read(_CHUNK)
            found += len(chunk)
        more = "at least " if chunk else ""
    if found != expected:
        problem = "truncated file" if found < expected else "trailing bytes after the data"
        header_size = 4 + 4 * ndim
        raise ValueError(f"{path}: {problem}: expected {expected} bytes of data for shape "
                         f"{shape} of {dtype.name} after the {header_size}-byte header "
                         f"({header_size + expected} bytes in all), found {more}{found}")

    data = bytearray().join(chunks)  # a bytearray, so the array below is writable
    if digest is not None:
        digest.update(data)
        if digest.hexdigest() != sha256.lower():
            raise ValueError(f"{path}: SHA-256 of the decompressed file is "
                             f"{digest.hexdigest()}, expected {sha256.lower()}; the file is "
                             "damaged or not the one expected, delete it and fetch it again")
    array = np.frombuffer(data, dtype=dtype).reshape(shape)
    if dtype.byteorder == ">" and np.little_endian:
        array = array.astype(dtype.newbyteorder("="))
    return array


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool | None = None) -> None:
    """Write ``array`` as an IDX file, atomically (a temporary file renamed into place).

    Args:
        path: where to write. An existing file is replaced only once writing succeeded.
        array: uint8, int8, int16, int32, float32 or float64, with 1 to 255 dimensions.
        compress: gzip the file; by default, when ``path`` ends in ``.gz``.

    Raises:
        ValueError: for a dtype or shape that IDX cannot hold.
    """
    path = os.fspath(path)
    array = np.asarray(array)
    codes = {dt.newbyteorder("="): c for c, dt in IDX_DTYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes:
        raise ValueError(f"IDX cannot store dtype {array.dtype}: use uint8, int8, int16, "
                         "int32, float32 or float64")
    if not 1 <= array.ndim <= 255 or any(d >= 2**32 for d in array.shape):
        raise ValueError(f"IDX cannot store shape {array.shape}: it needs 1 to 255 "
                         "dimensions, each smaller than 2**32")
    code = codes[native]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    if compress is None:
        compress = path.endswith(".gz")

    folder = os.path.dirname(os.path.abspath(path))
    tmp = tempfile.NamedTemporaryFile(delete=False, dir=folder,
                                      prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with tmp:
            if compress:
                # mtime=0 makes the same array give the same bytes, run after run.
                with gzip.GzipFile(fileobj=tmp, mode="wb", mtime=0) as gz:
                    gz.write(header)
                    gz.write(payload)
            else:
                tmp.write(header)
                tmp.write(payload)
        os.replace(tmp.name, path)
    except BaseException:
        os.unlink(tmp.name)
        raise

"""Download a file from a list of mirrors and keep it only if its checksum matches.

Each attempt streams into a temporary file in the target folder, then checks the SHA-256
and the length of the *decompressed* bytes (mirrors may compress the same data
differently, so only the decompressed content has one true checksum). Only a file that
passes is renamed into place; on any failure, Ctrl-C included, the temporary file is
removed, so the folder never holds a partial or wrong file, and the next mirror is tried.
A mirror cannot make a download cost much more than the file's size: the transfer stops
just past the most a gzip of the file can take, and decompression just past its size (a
"gzip bomb" of 100 MB of zeros in 100 kB is never inflated completely).
"""
from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import urllib.request
import zlib
from typing import BinaryIO, Sequence

try:
    from tqdm import tqdm
except ImportError:  # the progress bar is a nicety, not a requirement
    tqdm = None

from .idx import GZIP_MAGIC

DEFAULT_TIMEOUT = 10.0  # seconds to connect and between reads: no network fails fast
_CHUNK = 1 << 16


def transfer_limit(size: int) -> int:
    """The most bytes a mirror may send for a file of ``size`` bytes, gzipped or not:
    deflate adds at most 5 bytes per 64 KiB block, the rest is room for gzip's header."""
    return size + size // 1000 + (1 << 16)


def download_file(name: str, folder: str, sha256: str, size: int, mirrors: Sequence[str],
                  timeout: float = DEFAULT_TIMEOUT, progress: bool = True) -> str:
    """Fetch ``name + ".gz"`` from the first mirror that serves it intact.

    Args:
        name: the file name without ``.gz`` (``"train-images-idx3-ubyte"``).
        folder: the folder to save it in (must exist).
        sha256, size: the SHA-256 hex digest and the length in bytes of the decompressed file.
        mirrors: base URLs tried in order; the URL is the base followed by ``name + ".gz"``.
        timeout: seconds allowed to connect and between two reads, per mirror.
        progress: show a progress bar (needs tqdm).

    Returns:
        The path of the saved file: ``folder/name.gz``, or ``folder/name`` if a mirror
        served the file uncompressed.

    Raises:
        RuntimeError: when every mirror failed, with one line per mirror saying why.
    """
    errors = []
    for mirror in mirrors:
        url = (mirror if mirror.endswith("/") else mirror + "/") + name + ".gz"
        try:
            return _fetch(url, folder, name, sha256, size, timeout, progress)
        except Exception as exc:  # HTTP errors, refused connections, timeouts, bad data
            errors.append(f"  {url}: {type(exc).__name__}: {exc}")
    if not errors:
        raise RuntimeError(f"cannot download {name}: the list of mirrors is empty")
    raise RuntimeError(f"could not download {name} from any mirror:\n" + "\n".join(errors))


def _fetch(url: str, folder: str, name: str, sha256: str, size: int,
           timeout: float, progress: bool) -> str:
    """One attempt: download to a temporary file, verify, rename into place."""
    tmp = tempfile.NamedTemporaryFile(delete=False, dir=folder, prefix=f".{name}.",
                                      suffix=".part")
    try:
        with tmp:
            request = urllib.request.Request(url, headers={"User-Agent": "tinynet"})
            with urllib.request.urlopen(request, timeout=timeout) as response:
                length = response.headers.get("Content-Length")
                expected = int(length) if length and length.isdigit() else None
                limit = transfer_limit(size)
                if expected is not None and expected > limit:
                    raise ValueError(f"the mirror announces {expected:,} bytes, more than the "
                                     f"{limit:,} a file of {size:,} bytes can take")
                received = _copy(response, tmp, expected, name, progress, limit)
            # urllib returns a short body, without an error, when the server closes early.
            if expected is not None and received != expected:
                raise OSError(f"transfer cut short: received {received} of {expected} bytes")
        digest, decompressed = decompressed_sha256(tmp.name, limit=size)
        if decompressed > size:
            raise ValueError(f"the file decompresses to more than {size:,} bytes, the "
                             "expected size")
        if decompressed != size or digest != sha256:
            raise ValueError(f"checksum mismatch: the decompressed file has {decompressed} "
                             f"bytes and SHA-256 {digest}, expected {size} bytes and {sha256}")
        with open(tmp.name, "rb") as f:
            compressed = f.read(2) == GZIP_MAGIC
        target = os.path.join(folder, name + (".gz" if compressed else ""))
        os.replace(tmp.name, target)
        return target
    except BaseException:
        # Also on KeyboardInterrupt, which then keeps propagating after the cleanup.
        try:
            os.unlink(tmp.name)
        except FileNotFoundError:
            pass
        raise


def _copy(response: BinaryIO, out: BinaryIO, total: int | None, name: str,
          progress: bool, limit: int) -> int:
    """Copy the response body to ``out`` with a progress bar in bytes; return the count.
    Raises ValueError as soon as the body passes ``limit`` bytes."""
    bar = None
    if progress and tqdm is not None:
        bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                   desc=name, leave=False)
    received = 0
    try:
        while True:
            chunk = response.read(_CHUNK)
            if not chunk:
                return received
            received += len(chunk)
            if received > limit:
                raise ValueError(f"the mirror sent more than {limit:,} bytes, the most the "
                                 "file can take")
            out.write(chunk)
            if bar is not None:
                bar.update(len(chunk))
    finally:
        if bar is not None:
            bar.close()


def decompressed_sha256(path: str | os.PathLike, limit: int | None = None) -> tuple[str, int]:
    """SHA-256 hex digest and length of a file's content, gunzipped if it is gzip.

    With ``limit``, stops reading once the content passes ``limit`` bytes: the length
    returned is then ``limit + 1`` and the digest covers only what was read.

    Raises:
        ValueError: when the gzip stream is corrupt or truncated.
    """
    with open(path, "rb") as f:
        compressed = f.read(2) == GZIP_MAGIC
    digest, count = hashlib.sha256(), 0
    try:
        with (gzip.open(path, "rb") if compressed else open(path, "rb")) as f:
            while limit is None or count <= limit:
                chunk = f.read(1 << 22 if limit is None else min(1 << 22, limit + 1 - count))
                if not chunk:
                    break
                digest.update(chunk)
                count += len(chunk)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise ValueError(f"corrupt or truncated gzip stream ({exc})") from exc
    return digest.hexdigest(), count

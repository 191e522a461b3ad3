"""Downloading MNIST, against a real HTTP server on 127.0.0.1 that serves small fake files.

No test reaches the internet: every test passes ``mirrors=`` explicitly, and the default
mirror lists are emptied for the duration of each test.
"""
import hashlib
import http.server
import os
import socket
import threading
import time
import zlib
from types import SimpleNamespace

import numpy as np
import pytest

from tinynet.data import MNIST, FashionMNIST, datasets, download, write_idx

NAMES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """Empty default mirrors, so a test that forgets ``mirrors=`` cannot go online."""
    monkeypatch.setattr(MNIST, "default_mirrors", [])
    monkeypatch.setattr(FashionMNIST, "default_mirrors", [])


@pytest.fixture
def www(tmp_path, monkeypatch):
    """Fake MNIST files in www/good (gzip) and www/plain (not compressed), a corrupt copy
    in www/corrupt (valid IDX, other content) and www/badgzip (a broken gzip stream).
    The checksum table is patched to the fake files."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, 20, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, 10, dtype=np.uint8),
    }
    root = tmp_path / "www"
    for sub in ("good", "plain", "corrupt", "badgzip", "bomb"):
        (root / sub).mkdir(parents=True)
    for name, array in arrays.items():
        write_idx(root / "good" / (name + ".gz"), array)
        write_idx(root / "plain" / (name + ".gz"), array, compress=False)
        write_idx(root / "corrupt" / (name + ".gz"), array[::-1])
        (root / "badgzip" / (name + ".gz")).write_bytes(b"\x1f\x8b" + bytes(500))
        (root / "bomb" / (name + ".gz")).write_bytes(gzip_bomb())
        raw = (root / "plain" / (name + ".gz")).read_bytes()
        for table in (datasets.MNIST_FILES, datasets.FASHION_MNIST_FILES):
            monkeypatch.setitem(table, name, (hashlib.sha256(raw).hexdigest(), len(raw)))
    return SimpleNamespace(root=root, arrays=arrays)


@pytest.fixture
def server(www):
    """An HTTP server on 127.0.0.1; /truncated/ announces more bytes than it sends, and
    /endless/ sends 64 MiB of zeros without announcing a length."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(www.root), **kwargs)

        def log_message(self, *args):  # keep the test output quiet
            pass

        def do_GET(self):
            if self.path.startswith("/truncated/"):
                body = (www.root / "good" / os.path.basename(self.path)).read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.close_connection = True
                return
            if self.path.startswith("/endless/"):
                self.send_response(200)
                self.end_headers()
                try:
                    for _ in range(1024):
                        self.wfile.write(bytes(1 << 16))
                except OSError:  # the client hung up
                    pass
                self.close_connection = True
                return
            super().do_GET()

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield lambda sub: f"{base}/{sub}/"
    httpd.shutdown()
    httpd.server_close()


def gzip_bomb(megabytes=100):
    """A gzip stream of ``megabytes`` MiB of zeros: about 100 kB on the wire."""
    if megabytes not in _BOMBS:
        packer = zlib.compressobj(9, zlib.DEFLATED, 31)   # wbits 31: the gzip container
        chunk = bytes(1 << 20)
        _BOMBS[megabytes] = b"".join([packer.compress(chunk) for _ in range(megabytes)]
                                     + [packer.flush()])
    return _BOMBS[megabytes]


_BOMBS = {}


def _refused_url():
    """A URL on a port where nothing listens: connecting is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def test_download_success(tmp_path, server, www):
    ds = MNIST(root=tmp_path / "data", train=True, mirrors=[server("good")])
    assert np.array_equal(ds.data.numpy(), www.arrays["train-images-idx3-ubyte"])
    assert np.array_equal(ds.targets.numpy(),
                          www.arrays["train-labels-idx1-ubyte"].astype(np.int64))
    folder = tmp_path / "data" / "mnist"
    assert sorted(os.listdir(folder)) == ["train-images-idx3-ubyte.gz",
                                          "train-labels-idx1-ubyte.gz"]
    # second time: read from disk, the mirrors are not asked
    again = MNIST(root=tmp_path / "data", train=True, mirrors=[_refused_url()])
    assert np.array_equal(again.data.numpy(), ds.data.numpy())


def test_first_mirror_404_then_second(tmp_path, server):
    ds = MNIST(root=tmp_path, train=False, mirrors=[server("missing"), server("good")])
    assert ds.data.shape == (10, 28, 28)


def test_checksum_mismatch_tries_next_mirror(tmp_path, server):
    ds = FashionMNIST(root=tmp_path, train=False, mirrors=[server("corrupt"), server("good")])
    assert len(ds) == 10
    assert sorted(os.listdir(tmp_path / "fashion-mnist")) == ["t10k-images-idx3-ubyte.gz",
                                                              "t10k-labels-idx1-ubyte.gz"]


def test_uncompressed_mirror_is_saved_without_gz(tmp_path, server):
    MNIST(root=tmp_path, train=False, mirrors=[server("plain")])
    assert sorted(os.listdir(tmp_path / "mnist")) == ["t10k-images-idx3-ubyte",
                                                      "t10k-labels-idx1-ubyte"]


@pytest.mark.parametrize("sub, message", [("corrupt", "checksum mismatch"),
                                          ("badgzip", "gzip"),
                                          ("truncated", "transfer cut short"),
                                          ("missing", "404")])
def test_failed_download_leaves_no_file(tmp_path, server, sub, message):
    with pytest.raises(RuntimeError, match=message):
        MNIST(root=tmp_path, mirrors=[server(sub)])
    assert not (tmp_path / "mnist").exists()  # no partial file, no temporary, no empty mnist/


def test_all_mirrors_fail_message(tmp_path, server):
    mirrors = [server("missing"), server("corrupt"), _refused_url()]
    with pytest.raises(RuntimeError) as info:
        MNIST(root=tmp_path, mirrors=mirrors)
    message = str(info.value)
    for mirror in mirrors:
        assert mirror + "train-images-idx3-ubyte.gz" in message
    assert str(tmp_path / "mnist") in message and "TINYNET_DATA_DIR" in message
    assert "root=" in message and all(name in message for name in NAMES)


def test_connection_refused_and_silent_server_fail_fast(tmp_path):
    start = time.perf_counter()
    with pytest.raises(RuntimeError, match="refused"):
        MNIST(root=tmp_path, mirrors=[_refused_url()])
    assert time.perf_counter() - start < 5
    # a server that accepts the connection and never answers: the timeout ends the wait
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        start = time.perf_counter()
        with pytest.raises(RuntimeError, match="timed out"):
            MNIST(root=tmp_path, mirrors=[url], timeout=0.5)
        assert time.perf_counter() - start < 5
    assert os.listdir(tmp_path) == []  # not even an empty mnist/


def test_ctrl_c_removes_the_partial_file(tmp_path, server, monkeypatch):
    def interrupted_copy(response, out, total, name, progress, limit):
        out.write(response.read(100))
        raise KeyboardInterrupt
    monkeypatch.setattr(download, "_copy", interrupted_copy)
    with pytest.raises(KeyboardInterrupt):
        MNIST(root=tmp_path, mirrors=[server("good")])
    assert not (tmp_path / "mnist").exists()


def test_a_failed_download_creates_no_folders_and_keeps_what_it_got(tmp_path, server):
    """Folders made for the download go again when nothing came; a root that existed and
    files that did arrive stay."""
    base = tmp_path / "base"
    base.mkdir()
    with pytest.raises(RuntimeError, match="refused"):
        MNIST(root=base / "new" / "data", mirrors=[_refused_url()])
    assert os.listdir(base) == []
    (base / "mine").mkdir()
    with pytest.raises(RuntimeError, match="refused"):
        MNIST(root=base / "mine", mirrors=[_refused_url()])
    assert os.listdir(base) == ["mine"] and os.listdir(base / "mine") == []
    MNIST(root=base / "mine", train=False, mirrors=[server("good")])
    with pytest.raises(RuntimeError, match="404"):
        MNIST(root=base / "mine", train=True, mirrors=[server("missing")])
    assert len(os.listdir(base / "mine" / "mnist")) == 2  # the test files stay


def test_missing_files_without_download(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        MNIST(root=tmp_path, download=False)
    message = str(info.value)
    assert str(tmp_path / "mnist") in message and "TINYNET_DATA_DIR" in message
    assert all(name in message for name in NAMES)


def test_root_from_environment(tmp_path, server, monkeypatch):
    monkeypatch.setenv("TINYNET_DATA_DIR", str(tmp_path / "env"))
    ds = MNIST(train=False, mirrors=[server("good")])
    assert ds.root == str(tmp_path / "env")
    assert os.path.isfile(tmp_path / "env" / "mnist" / "t10k-images-idx3-ubyte.gz")
    monkeypatch.delenv("TINYNET_DATA_DIR")
    assert datasets.default_root() == os.path.join(os.path.expanduser("~"), ".cache", "tinynet")


def test_damaged_local_file_is_reported(tmp_path, www):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (folder / name).write_bytes((www.root / "plain" / (name + ".gz")).read_bytes())
    assert len(MNIST(root=tmp_path, train=False, download=False)) == 10
    write_idx(folder / "t10k-labels-idx1-ubyte", np.zeros(10, dtype=np.uint8))
    with pytest.raises(ValueError, match="SHA-256") as info:
        MNIST(root=tmp_path, train=False, download=False)
    assert str(folder / "t10k-labels-idx1-ubyte") in str(info.value)


def test_empty_mirror_list(tmp_path):
    with pytest.raises(RuntimeError, match="empty"):
        MNIST(root=tmp_path, mirrors=[])


def test_gzip_bomb_is_inflated_only_to_the_expected_size(tmp_path, server):
    """A mirror serves 100 MiB of zeros as a 100 kB gzip stream for a 1 MB file: the
    download stops inflating just past 1 MB, so it costs a small part of what inflating the
    bomb does, and leaves no file."""
    bomb = gzip_bomb()
    start = time.thread_time()
    assert len(zlib.decompress(bomb, 31)) == 100 << 20
    inflate_all = time.thread_time() - start
    folder = tmp_path / "data"
    folder.mkdir()
    start = time.thread_time()
    with pytest.raises(RuntimeError, match="decompresses to more than 1,000,000 bytes"):
        download.download_file("t10k-labels-idx1-ubyte", str(folder), "0" * 64, 1_000_000,
                               [server("bomb")], progress=False)
    assert time.thread_time() - start < inflate_all / 4
    assert os.listdir(folder) == []


@pytest.mark.parametrize("sub, message", [("bomb", "announces 10"), ("endless", "sent more than")])
def test_mirror_sending_more_than_the_file_can_take_is_cut_off(tmp_path, server, sub, message):
    """The expected file is under 8 kB: a 100 kB body is refused when announced, and a body
    of unknown length as soon as it passes what a gzip of the file can take (a mirror that
    never stops sending cannot fill the disk)."""
    start = time.perf_counter()
    with pytest.raises(RuntimeError, match=message):
        MNIST(root=tmp_path, train=False, mirrors=[server(sub)])
    assert time.perf_counter() - start < 5
    assert not (tmp_path / "mnist").exists()  # nothing left behind, not even the folder

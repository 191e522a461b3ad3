"""Where tn.save writes: through symbolic links to their targets, and without leaving the
temporaries of killed writers behind (while never touching those of live ones)."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import tinynet as tn

posix_only = pytest.mark.skipif(os.name != "posix", reason="symbolic links and signals")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@posix_only
def test_save_through_a_symlink_writes_the_target_and_keeps_the_link(backend, tmp_path):
    (tmp_path / "runs").mkdir()
    target = tmp_path / "runs" / "epoch-3.tn"
    tn.save({"epoch": 3}, target)
    link = tmp_path / "latest.tn"
    link.symlink_to(os.path.join("runs", "epoch-3.tn"))             # a relative link
    tn.save({"epoch": 4, "w": tn.tensor([1.0, 2.0])}, link)
    assert link.is_symlink() and os.readlink(link) == os.path.join("runs", "epoch-3.tn")
    assert tn.load(target)["epoch"] == 4 and tn.load(link)["w"].device == backend.device
    assert sorted(os.listdir(tmp_path)) == ["latest.tn", "runs"]     # no temporary left
    assert os.listdir(tmp_path / "runs") == ["epoch-3.tn"]
    dangling = tmp_path / "next.tn"                                  # open(path, "w") would
    dangling.symlink_to(tmp_path / "runs" / "epoch-5.tn")            # create the target too
    tn.save({"epoch": 5}, dangling)
    assert dangling.is_symlink() and tn.load(tmp_path / "runs" / "epoch-5.tn") == {"epoch": 5}


@posix_only
def test_a_loop_of_symlinks_is_an_error_not_replaced(tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(OSError, match="symbolic links"):
        tn.save({}, tmp_path / "a")
    assert (tmp_path / "a").is_symlink() and (tmp_path / "b").is_symlink()


@pytest.mark.parametrize("name", ["x" * 255, "\u00e9" * 127])  # 255 and 254 bytes
def test_the_longest_file_names_still_have_room_for_a_temporary(tmp_path, name):
    tn.save({"epoch": 1}, tmp_path / name)
    assert os.listdir(tmp_path) == [name] and tn.load(tmp_path / name) == {"epoch": 1}


# A writer that saves ever-newer checkpoints of 8 MB until it is killed.
WRITER = """
import sys, numpy as np, tinynet as tn
weights = np.arange(2_000_000, dtype=np.float32)
step = 0
while True:
    step += 1
    tn.save({"step": step, "w": weights + step}, sys.argv[1])
"""


def start_writer(path):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-c", WRITER, str(path)], env=env)


def temporaries(folder):
    return {name for name in os.listdir(folder) if name != "ckpt.tn"}


def wait_for_temporary(folder, writer, known=frozenset(), timeout=60.0):
    """Poll until a temporary other than ``known`` appears: the writer is mid-save."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if writer.poll() is not None:
            raise AssertionError(f"the writer exited with status {writer.returncode}")
        if temporaries(folder) - known:
            return
        time.sleep(0.001)
    raise AssertionError("the writer never started a save")


def assert_complete(path):
    """The checkpoint is one complete save: old or new, never a mixture."""
    state = tn.load(path)
    np.testing.assert_array_equal(state["w"], np.arange(2_000_000, dtype=np.float32)
                                  + state["step"])


@posix_only
def test_kill_9_mid_save_leaves_a_complete_file_and_the_next_save_removes_the_temporary(
        tmp_path):
    path = tmp_path / "ckpt.tn"
    tn.save({"step": 0, "w": np.arange(2_000_000, dtype=np.float32)}, path)
    kills_mid_save = 0
    for _ in range(20):                                  # until three kills hit a save
        before = temporaries(tmp_path)
        writer = start_writer(path)
        try:
            wait_for_temporary(tmp_path, writer, known=before)
        finally:
            writer.send_signal(signal.SIGKILL)
            writer.wait()                                # reaped: its PID is free now
        assert_complete(path)
        left = temporaries(tmp_path)
        # the writer's first save removed what the writers killed before it left behind
        assert left & before == set(), f"stale temporaries survived a save: {left & before}"
        kills_mid_save += len(left)
        if kills_mid_save >= 3:
            break
    assert kills_mid_save >= 3, "no kill landed in the middle of a save"
    tn.save({"step": -1, "w": np.arange(2_000_000, dtype=np.float32) - 1}, path)
    assert temporaries(tmp_path) == set()
    assert_complete(path)


@posix_only
def test_the_temporary_of_a_live_writer_is_left_alone(tmp_path):
    path = tmp_path / "ckpt.tn"
    tn.save({"step": 0, "w": np.arange(2_000_000, dtype=np.float32)}, path)
    writer = start_writer(path)
    try:
        for _ in range(100):                             # stop it while it holds a temporary
            wait_for_temporary(tmp_path, writer)
            writer.send_signal(signal.SIGSTOP)
            os.waitpid(writer.pid, os.WUNTRACED)         # returns once it is stopped
            held = temporaries(tmp_path)
            if held:
                break
            writer.send_signal(signal.SIGCONT)
        assert held, "could not stop the writer mid-save"
        tn.save({"step": -1, "w": np.arange(2_000_000, dtype=np.float32) - 1}, path)
        assert temporaries(tmp_path) == held             # a live writer's file stays
        writer.send_signal(signal.SIGCONT)
        while temporaries(tmp_path) & held:              # and its save completes
            assert writer.poll() is None, f"the writer failed with {writer.returncode}"
            time.sleep(0.001)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    assert_complete(path)

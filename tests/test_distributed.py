"""tinynet.distributed, DistributedDataParallel and DistributedSampler on real MPI jobs.

Each MPI test launches ``mpiexec -n N python tests/mpi_programs.py CASE`` (2 or 3 ranks, one
BLAS thread each) and checks its exit status and the ``RESULT`` lines its ranks print. A job
that outlives its timeout is killed, process group and all, and the test fails saying so:
no test waits forever on a rank that died. The tests without mpiexec check the world of one
that a plain ``python`` run is, and the errors that name what is missing.
"""
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import tinynet as tn
import tinynet.distributed as dist
from tinynet.nn.parallel import DistributedDataParallel
from tinynet.utils.data import DistributedSampler

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "tests" / "mpi_programs.py"
MPIEXEC = shutil.which("mpiexec", path=os.pathsep.join(
    [str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
TIMEOUT = 180  # seconds; each job takes about 1-2 s on an idle 2-core machine

needs_mpi = pytest.mark.skipif(
    importlib.util.find_spec("mpi4py") is None or MPIEXEC is None,
    reason="the MPI tests need mpi4py and mpiexec: pip install 'tinynet[mpi]'")


def mpiexec(n: int, *argv: str, cwd=None, on_line=None) -> tuple[int, str]:
    """``mpiexec -n n python argv...`` with one BLAS thread per rank: (exit status, stdout
    and stderr). ``on_line(line, job)`` sees each line as it comes (to send a signal)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    command = [MPIEXEC, "-n", str(n), sys.executable, *argv]
    job = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd,
                           start_new_session=True)
    timer = threading.Timer(TIMEOUT, os.killpg, (job.pid, signal.SIGKILL))
    timer.start()  # mpiexec and every rank it started, if the job outlives TIMEOUT
    try:
        lines = []
        for line in job.stdout:
            lines.append(line)
            if on_line is not None:
                on_line(line, job)
        job.wait()
    finally:
        timer.cancel()
    output = "".join(lines)
    if job.returncode == -signal.SIGKILL:
        pytest.fail(f"{' '.join(command[2:])} did not end within {TIMEOUT} s (a rank "
                    f"waiting forever?); its output:\n{output[-3000:]}")
    return job.returncode, output


def run_job(n: int, case: str, *args: str, expect_ok: bool = True):
    """Run a case of mpi_programs.py on n ranks; (exit status, output, RESULT dicts by rank)."""
    status, output = mpiexec(n, str(PROGRAMS), case, *args)
    results, decoder, at = {}, json.JSONDecoder(), output.find("RESULT ")
    while at >= 0:  # ranks' lines may interleave: decode each JSON object where it starts
        value, _ = decoder.raw_decode(output, at + len("RESULT "))
        results[value["rank"]] = value
        at = output.find("RESULT ", at + 1)
    if expect_ok:
        assert status == 0, f"mpiexec -n {n} {case} failed:\n{output[-3000:]}"
        assert sorted(results) == list(range(n)), f"not every rank reported:\n{output}"
    return status, output, results


# ---- real jobs ----------------------------------------------------------------------------
@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_collectives_sum_reduce_and_broadcast_across_ranks(n):
    _, _, results = run_job(n, "collectives")
    assert all(r["world"] == n for r in results.values())


@needs_mpi
def test_distributed_sampler_partition_equals_torchs_on_real_ranks():
    n = 3
    _, _, results = run_job(n, "sampler")
    torch_data = pytest.importorskip("torch.utils.data")
    for key in ("10,False,False", "11,False,True"):
        size, _, drop_last = key.split(",")
        for rank in range(n):
            theirs = torch_data.DistributedSampler(range(int(size)), n, rank, shuffle=False,
                                                   drop_last=drop_last == "True")
            assert results[rank]["parts"][key] == list(theirs)
    shuffled = [results[r]["parts"]["7,True,False"] for r in range(n)]
    padded = [shuffled[k % n][k // n] for k in range(9)]  # every rank took every n-th
    assert sorted(padded[:7]) == list(range(7)) and padded[7:] == padded[:2]
    seen = [int(v) for r in results.values() for v in r["seen"]]  # through DataLoaders
    assert len(seen) == 21 and sorted(set(seen)) == list(range(20))  # 20 padded to 3 x 7


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_ddp_broadcasts_rank0_weights_and_averages_gradients(n):
    _, _, results = run_job(n, "ddp")
    assert results[0]["max_grad_error"] < 1e-7


@needs_mpi
def test_ddp_parameters_unused_on_some_ranks_count_as_zeros():
    run_job(2, "unused_parameters")


@needs_mpi
def test_ddp_buffers_come_from_rank_0():
    run_job(2, "buffers")


@needs_mpi
def test_ddp_batchnorm_statistics_come_from_rank_0_before_every_training_forward():
    """Different weights and running statistics on each rank; after wrapping, rank 0's
    everywhere; each training step starts from rank 0's statistics and moves them with the
    rank's own batch (checked in the job); parameters stay bit-identical across ranks."""
    _, _, results = run_job(2, "batchnorm", "3")
    assert all(r["params_identical"] for r in results.values())
    assert results[0]["stats_differ"]  # the last batch of each rank moved its own copy
    assert results[0]["running_mean"] != results[1]["running_mean"]


@needs_mpi
def test_ranks_with_different_models_fail_together_with_a_message():
    _, _, results = run_job(2, "mismatch")
    assert all("model differs between ranks" in r["error"] for r in results.values())


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_n_ranks_at_batch_b_over_n_equal_one_process_at_batch_b(n):
    """5 steps of SGD with momentum from the same weights, batch 24 split n ways."""
    _, _, results = run_job(n, "equivalence", "24", "5")
    first = results[0]
    assert all(r["identical_on_all_ranks"] for r in results.values())
    # float32 rounding: a few units in the last place of the largest parameter
    assert first["max_abs_diff"] <= 8 * np.finfo(np.float32).eps * first["max_abs_param"]


@needs_mpi
def test_two_ranks_stay_bit_identical_for_a_whole_epoch():
    _, _, results = run_job(2, "epoch")
    assert results[0]["steps"] == 48 and results[0]["identical_on_all_ranks"]


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_shared_memory_and_allreduce_sum_the_gradients_alike(n):
    """All ranks on one machine sum host gradients through shared memory; the same steps
    reduced by MPI_Allreduce give the same gradients (bit for bit on two ranks, where a sum
    of two has one order)."""
    _, _, results = run_job(n, "reduction_paths", "12")
    assert results[0]["max_difference"] <= (0 if n == 2 else 1e-6)


@needs_mpi
def test_a_rank_that_raises_ends_the_job_with_its_traceback():
    start = time.monotonic()
    status, output, _ = run_job(2, "rank_raises", expect_ok=False)
    assert status != 0 and time.monotonic() - start < TIMEOUT
    assert "ValueError: rank 1 fails on purpose" in output
    assert "rank 1 of 2 stopped on ValueError; aborting all ranks" in output


@needs_mpi
def test_a_rank_that_is_killed_ends_the_job():
    status, output, _ = run_job(2, "rank_killed", expect_ok=False)
    assert status != 0 and "BAD TERMINATION" in output


@needs_mpi
def test_plain_python_with_mpi4py_is_a_world_of_one():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for name in dist.world.LAUNCHER_VARIABLES:
        env.pop(name, None)
    code = ("import tinynet as tn, tinynet.distributed as dist; dist.init_process_group('mpi');"
            "t = tn.ones(2); dist.all_reduce(t); model = tn.nn.Linear(2, 1);"
            "ddp = tn.nn.parallel.DistributedDataParallel(model); ddp(t).sum().backward();"
            "print(dist.get_world_size(), dist.get_rank(), t.tolist(), model.bias.grad.item())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "0", "[1.0,", "1.0]", "1.0"]


# ---- without mpiexec, in this process -------------------------------------------------------
def test_run_collective_hands_over_a_contiguous_host_buffer_and_keeps_the_result(backend):
    """Backend.run_collective: how a collective reaches a backend's arrays (on the strict
    backend, a stand-in for a GPU, through a host copy)."""
    a = tn.tensor(np.arange(6.0).reshape(2, 3)).array
    seen = []

    def double(host):
        assert isinstance(host, np.ndarray) and host.flags.c_contiguous
        seen.append(host.shape)
        host *= 2
    backend.run_collective(a, double)
    strided = tn.tensor(np.arange(6.0).reshape(2, 3)).array.T  # a view, not contiguous
    backend.run_collective(strided, double)
    assert backend.to_numpy(a).tolist() == [[0, 2, 4], [6, 8, 10]]
    assert backend.to_numpy(strided).tolist() == [[0, 6], [2, 8], [4, 10]]
    assert seen == [(2, 3), (3, 2)]



@pytest.fixture
def no_mpi4py(monkeypatch):
    """As if mpi4py were not installed (importing it raises ImportError), with no launcher."""
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    for name in dist.world.LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    yield
    if dist.is_initialized():
        dist.destroy_process_group()


def test_a_plain_run_without_mpi4py_is_a_world_of_one(no_mpi4py):
    dist.init_process_group("mpi")
    assert (dist.get_world_size(), dist.get_rank(), dist.is_initialized()) == (1, 0, True)
    t = tn.tensor([1.0, 2.0])
    dist.all_reduce(t)
    dist.broadcast(t, src=0)
    dist.barrier()
    assert t.tolist() == [1.0, 2.0]
    sampler = DistributedSampler(range(5), shuffle=False)
    assert (sampler.num_replicas, list(sampler)) == (1, [0, 1, 2, 3, 4])
    tn.manual_seed(0)
    model = tn.nn.Linear(3, 2)
    ddp = DistributedDataParallel(model)
    x = tn.randn(4, 3)
    ddp(x).sum().backward()
    assert np.allclose(model.weight.grad.numpy(), x.numpy().sum(0)[None].repeat(2, 0))
    with pytest.raises(ValueError, match="twice"):
        dist.init_process_group("mpi")


def test_a_launched_rank_without_mpi4py_names_the_extra(no_mpi4py, monkeypatch):
    monkeypatch.setenv("PMI_SIZE", "2")
    with pytest.raises(RuntimeError, match=r"launcher for 2 processes.*pip install "
                                           r"'tinynet\[mpi\]'"):
        dist.init_process_group("mpi")
    assert not dist.is_initialized()


def test_an_uninitialised_group_and_other_backends_raise(no_mpi4py):
    for call in (dist.get_rank, dist.get_world_size, lambda: dist.all_reduce(tn.ones(1)),
                 lambda: DistributedDataParallel(tn.nn.Linear(2, 2))):
        with pytest.raises(ValueError, match="has not been initialized.*init_process_group"):
            call()
    with pytest.raises(ValueError, match="MPI only.*backend='gloo'"):
        dist.init_process_group("gloo")
    with pytest.raises(ValueError, match=r"init_process_group\(world_size=4\), but MPI reports"):
        dist.init_process_group("mpi", world_size=4)
    assert not dist.is_initialized()


def test_importing_tinynet_imports_neither_mpi_nor_the_distributed_module():
    code = ("import sys, tinynet as tn; assert 'tinynet.distributed' not in sys.modules;"
            "tn.distributed.get_rank; tn.nn.parallel.DistributedDataParallel;"
            "assert 'mpi4py' not in sys.modules; print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=TIMEOUT)
    assert done.stdout.strip() == "ok", done.stderr


@needs_mpi
def test_the_benchmark_runs_end_to_end_at_smoke_size(tmp_path):
    """benchmarks/bench_distributed.py --smoke: every figure is there (no timing is judged)."""
    from tinynet.data.datasets import default_root
    if not os.path.isdir(os.path.join(default_root(), "mnist")):
        pytest.skip(f"MNIST not found in {default_root()} (set TINYNET_DATA_DIR)")
    out = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_distributed.py"),
                           "--smoke", "--batches", "128", "--json", str(out)],
                          capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(out.read_text())
    row = results["configs"]["128"]
    assert row["gradient_values"] == 669706 and row["single_s"] > 0 and row["one_thread_s"] > 0
    assert (row["ranks_path"], row["allreduce_path"]) == ("shared memory", "MPI_Allreduce")
    for path in ("ranks", "allreduce"):
        assert row[f"{path}_identical_on_all_ranks"]
        assert all(row[f"{path}_{key}"] > 0 for key in ("s", "ratio", "reduce_ms",
                                                          "reduce_alone_ms"))
    exact = results["exactness"]
    assert exact["identical_on_all_ranks"]
    assert exact["max_abs_diff"] <= 8 * np.finfo(np.float32).eps * exact["max_abs_param"]


# ---- examples/train_mnist.py on two ranks -----------------------------------------------
SCRIPT = str(ROOT / "examples" / "train_mnist.py")
needs_mnist = pytest.mark.skipif(
    not os.path.isdir(os.path.join(os.environ.get("TINYNET_DATA_DIR", ""), "mnist")),
    reason="real MNIST not found: set TINYNET_DATA_DIR to a folder holding mnist/")


@needs_mpi
@needs_mnist
def test_train_mnist_on_two_ranks_speaks_and_saves_on_rank_0_and_resumes(tmp_path):
    flags = ["--quiet", "--model", "logreg", "--batch-size", "256", "--schedule", "constant"]
    status, out = mpiexec(2, SCRIPT, *flags, "--epochs", "1", "--save", "run.ckpt",
                          "--log", "log.jsonl", cwd=tmp_path)
    assert status == 0, out
    assert out.count("epoch  1/1") == 1 and out.count("final test accuracy") == 1, out
    assert out.strip().splitlines()[-1].endswith("; 2 processes (mpiexec -n 2)"), out
    assert "1 epoch of 235 batches of 256, sgd lr 0.1 (constant), split over 2 processes" \
        in out  # 60,000 / 256: 128 samples of each batch on each rank
    assert sorted(os.listdir(tmp_path)) == ["log.jsonl", "run.ckpt"]  # no file from rank 1
    assert len((tmp_path / "log.jsonl").read_text().splitlines()) == 1
    checkpoint = tn.load(str(tmp_path / "run.ckpt"))
    assert list(checkpoint["model"]) == ["1.weight", "1.bias"]  # the inner model's keys
    assert checkpoint["history"][0]["test_acc"] > 0.88
    status, out = mpiexec(2, SCRIPT, *flags, "--epochs", "2", "--resume", "run.ckpt",
                          cwd=tmp_path)
    assert status == 0 and out.count("resumed from run.ckpt after epoch 1") == 1, out
    assert out.count("epoch  2/2") == 1 and "epoch  1/2" not in out


@needs_mpi
@needs_mnist
def test_ctrl_c_on_two_ranks_stops_them_together_and_saves_once(tmp_path):
    def interrupt_after_epoch_1(line, job):
        if line.startswith("epoch  1/3"):
            job.send_signal(signal.SIGINT)  # mpiexec passes it on to every rank
    status, out = mpiexec(2, SCRIPT, "--quiet", "--model", "logreg", "--epochs", "3",
                          "--save", "run.ckpt", cwd=tmp_path, on_line=interrupt_after_epoch_1)
    assert status == 130, out
    assert out.count("interrupted during epoch 2: saved the state after epoch 1") == 1, out
    assert tn.load(str(tmp_path / "run.ckpt"))["epoch"] == 1
    assert "mpiexec -n 2 python " in out and "--resume run.ckpt" in out  # how to continue

"""The benchmarks run end to end (smoke size, no timing assertions) and the hand-written
NumPy reference they compare against computes the same gradients as tinynet's autograd."""
import argparse
import json
import mmap
import os
import subprocess
import sys

import numpy as np
import pytest

import tinynet as tn
import tinynet.nn.functional as F
from tinynet.data.datasets import default_root

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")
sys.path.insert(0, BENCH)
import bench_mnist  # noqa: E402
import numpy_reference as ref  # noqa: E402


def _mnist_missing() -> str | None:
    folder = os.path.join(default_root(), "mnist")
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        if not any(os.path.isfile(os.path.join(folder, name + ext)) for ext in ("", ".gz")):
            return f"MNIST training files not found in {folder} (set TINYNET_DATA_DIR)"
    return None


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, os.path.join(BENCH, script), *args],
                          capture_output=True, text=True, timeout=600, env=os.environ.copy())
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.mark.skipif(_mnist_missing() is not None, reason=str(_mnist_missing()))
def test_bench_mnist_smoke_reports_every_config_and_contender(tmp_path):
    out = tmp_path / "mnist.json"
    md = tmp_path / "mnist.md"
    _run("bench_mnist.py", "--smoke", "--json", str(out), "--markdown", str(md))
    results = json.loads(out.read_text())
    torch_missing = bench_mnist.available("torch")
    assert set(results["configs"]) == set(bench_mnist.CPU_CONFIGS)
    for config, result in results["configs"].items():
        contenders = result["contenders"]
        assert set(contenders) == set(bench_mnist.CONTENDERS), config
        running = [n for n in bench_mnist.CONTENDERS if n != "torch" or not torch_missing]
        for name in running:
            c = contenders[name]
            for key in ("median_s", "examples_per_s", "final_loss", "peak_rss_mb"):
                assert c[key] > 0, (config, name, key, c)
            assert len(c["page_faults"]) == len(c["epoch_seconds"]), (config, name)
            assert c["page_faults_per_step"] >= 0, (config, name)
        losses = [contenders[name]["final_loss"] for name in running]
        # Same initial weights, same batches: the losses differ only by float32 rounding.
        np.testing.assert_allclose(losses, losses[0], rtol=1e-3, err_msg=config)
        assert result["loss_agreement"]["ok"]
        assert result["ratios"]["tinynet/numpy"] > 0
    assert "| mlp-b128 | tinynet |" in md.read_text()


@pytest.mark.skipif(not hasattr(mmap, "MADV_NOHUGEPAGE"), reason="needs Linux's madvise")
def test_bench_mnist_counts_the_page_faults_of_fresh_memory():
    """The faults column counts pages mapped on first touch: touching 16 MiB of fresh
    anonymous memory (in 4 KiB pages, no huge pages) adds at least 4,096 faults."""
    size = 16 << 20
    memory = mmap.mmap(-1, size)
    memory.madvise(mmap.MADV_NOHUGEPAGE)
    before = bench_mnist.minor_faults()
    for offset in range(0, size, mmap.PAGESIZE):
        memory[offset] = 1
    touched = bench_mnist.minor_faults() - before
    memory.close()
    assert touched >= size // mmap.PAGESIZE, touched


@pytest.mark.skipif(_mnist_missing() is not None, reason=str(_mnist_missing()))
def test_bench_mnist_cnn_rows_compare_tinynet_with_torch(tmp_path):
    """The CNN configs run tinynet against PyTorch from the same weights on the same
    batches (the NumPy reference is an MLP and says so); their losses agree."""
    out = tmp_path / "cnn.json"
    _run("bench_mnist.py", "--config", "cnn-example-b64", "cnn-default-b128", "--examples",
         "128", "--epochs", "1", "--warmup", "0", "--no-memory", "--json", str(out))
    results = json.loads(out.read_text())
    assert set(results["configs"]) == {"cnn-example-b64", "cnn-default-b128"}
    for config, result in results["configs"].items():
        contenders = result["contenders"]
        assert "NumPy CNN" in contenders["numpy"]["skipped"]
        assert contenders["tinynet"]["ms_per_step"] > 0, config
        if bench_mnist.available("torch") is None:  # None: PyTorch can run
            assert result["loss_agreement"]["ok"] and "tinynet/torch" in result["ratios"]


@pytest.mark.skipif(_mnist_missing() is not None, reason=str(_mnist_missing()))
def test_profile_step_splits_a_cnn_step_by_op():
    out = _run("profile_step.py", "--config", "cnn-default-b128", "--steps", "2",
               "--threads", "1").stdout
    assert "ms per step unprofiled" in out and "| Conv2d.forward |" in out
    assert "The step's matrix products alone" in out


def test_bench_default_cnn_is_train_mnists_cnn():
    sys.path.insert(0, os.path.join(os.path.dirname(BENCH), "examples"))
    import train_mnist
    ours = tn.nn.Sequential(*bench_mnist.cnn_layers(tn.nn, "cnn-default"))
    theirs = train_mnist.build_model(argparse.Namespace(model="cnn"))
    assert repr(ours) == repr(theirs)


def test_bench_ops_smoke_reports_microseconds_per_op(tmp_path):
    out = tmp_path / "ops.json"
    _run("bench_ops.py", "--smoke", "--json", str(out))
    results = json.loads(out.read_text())
    assert results["ops"] == 101
    for name in ("tinynet forward+backward", "numpy forward", "numpy forward+backward (by hand)"):
        assert results["us_per_op"][name] > 0, name


def _tiny_problem(dtype):
    rng = np.random.default_rng(1)
    weights = ref.init_weights([6, 5, 4, 3], seed=2, dtype=dtype)
    x = rng.standard_normal((7, 6)).astype(dtype)
    y = rng.integers(0, 3, 7).astype(np.int64)
    return weights, x, y


def test_numpy_reference_gradients_match_tinynet_autograd(backend):
    weights, x, y = _tiny_problem(np.float64)
    model = ref.MLP(weights)
    loss, grad_logits = ref.softmax_cross_entropy(model.forward(x), y)
    model.backward(grad_logits)

    params = {k: tn.tensor(v, requires_grad=True) for k, v in weights.items()}
    h = tn.tensor(x)
    for i in (0, 2, 4):
        h = h @ params[f"{i}.weight"].T + params[f"{i}.bias"]
        if i < 4:
            h = h.relu()
    expected = F.cross_entropy(h, tn.tensor(y))
    expected.backward()

    assert loss == pytest.approx(expected.item(), rel=1e-12)
    for name, p in params.items():
        np.testing.assert_allclose(model.grads[name], p.grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)


def test_numpy_reference_gradient_matches_finite_differences():
    weights, x, y = _tiny_problem(np.float64)
    model = ref.MLP(weights)
    model.backward(ref.softmax_cross_entropy(model.forward(x), y)[1])
    eps = 1e-6
    for name in ("0.weight", "2.bias", "4.weight"):
        p = model.params[name].reshape(-1)  # a view: nudging it nudges the model
        for j in (0, p.size // 2, p.size - 1):
            p[j] += eps
            up = ref.softmax_cross_entropy(model.forward(x), y)[0]
            p[j] -= 2 * eps
            down = ref.softmax_cross_entropy(model.forward(x), y)[0]
            p[j] += eps
            assert model.grads[name].reshape(-1)[j] == pytest.approx(
                (up - down) / (2 * eps), rel=1e-5, abs=1e-9), (name, j)


def test_numpy_reference_sgd_follows_pytorch_momentum_rule():
    torch = pytest.importorskip("torch")
    p = np.array([1.0, -2.0, 3.0], dtype=np.float32)
    opt = ref.SGD({"p": p}, lr=0.1, momentum=0.9)
    tp = torch.tensor(p.copy(), requires_grad=True)
    topt = torch.optim.SGD([tp], lr=0.1, momentum=0.9)
    for step in range(3):
        g = np.array([0.5, -1.0, 2.0], dtype=np.float32) * (step + 1)
        opt.step({"p": g})
        tp.grad = torch.from_numpy(g.copy())
        topt.step()
        np.testing.assert_allclose(p, tp.detach().numpy(), rtol=1e-6)


def test_reference_batches_are_tinynets_dataloader_batches():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (50, 784), dtype=np.uint8)
    labels = rng.integers(0, 10, 50).astype(np.int64)
    sizes = [784, 10]
    tinynet = bench_mnist.CLASSES["tinynet"](sizes, ref.init_weights(sizes, 0), 16, images,
                                             labels, seed=3)
    for epoch in range(2):
        order = bench_mnist.epoch_order(50, seed=3, epoch=epoch)
        ours = list(bench_mnist.numpy_batches(images, labels, 16, order))
        theirs = list(tinynet.batches(epoch))
        assert len(ours) == len(theirs) == 4
        for (x, y), (tx, ty) in zip(ours, theirs):
            assert x.dtype == np.float32 and y.dtype == np.int64
            np.testing.assert_array_equal(x, tx.numpy())
            np.testing.assert_array_equal(y, ty.numpy())


@pytest.mark.skipif(_mnist_missing() is not None, reason=str(_mnist_missing()))
def test_bench_mnist_gpu_rows_run_or_say_why_not(tmp_path):
    """--device cuda pits tinynet on CuPy against PyTorch on CUDA; without a GPU it says why
    each contender cannot run and exits 0."""
    out = tmp_path / "gpu.json"
    result = _run("bench_mnist.py", "--smoke", "--device", "cuda", "--json", str(out))
    reason = bench_mnist.available("tinynet", "cuda")
    if reason is None:
        results = json.loads(out.read_text())
        assert set(results["configs"]) == set(bench_mnist.GPU_CONFIGS)
        for result_ in results["configs"].values():
            assert result_["contenders"]["tinynet"]["median_s"] > 0
    else:
        assert "cuda rows skipped: tinynet: " + reason in result.stdout
        assert "CuPy" in reason or "GPU" in reason


def test_bench_matmul_lists_the_eight_products_of_a_step():
    out = _run("bench_matmul.py", "--repeats", "2").stdout
    rows = [line for line in out.splitlines() if line.startswith("| ") and "µs" not in line
            and "---" not in line]
    assert len(rows) == 9 and rows[-1].startswith("| per epoch (469 steps), s |")


def test_gpu_check_without_a_gpu_says_so_and_exits_0():
    import importlib.util
    from pathlib import Path
    if importlib.util.find_spec("cupy") is not None:
        pytest.skip("CuPy is installed: the GPU check would run for real")
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "gpu_check.py"
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0
    assert "no usable NVIDIA GPU here" in done.stdout and "CuPy is not installed" in done.stdout

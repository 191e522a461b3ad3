"""Shared fixtures: every backend-aware test runs on NumPy, on the strict array backend
(array-api-strict on a non-CPU device, which refuses any path that bypasses the backend),
and on CuPy where a GPU is present."""
import importlib.util
import os

import numpy as np
import pytest

import tinynet as tn


def _cupy_reason():
    if importlib.util.find_spec("cupy") is None:
        return "CuPy is not installed (pip install 'tinynet[cuda12]' on a GPU machine)"
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() == 0:
            return "CuPy is installed but no CUDA GPU is present"
    except Exception as exc:  # no driver
        return f"CuPy is installed but CUDA is unusable: {exc}"
    return None


BACKENDS = [
    pytest.param("numpy", id="numpy"),
    pytest.param("strict", id="strict", marks=pytest.mark.skipif(
        importlib.util.find_spec("array_api_strict") is None,
        reason="array-api-strict is not installed (pip install 'tinynet[test]')")),
    pytest.param("cupy", id="cupy", marks=pytest.mark.skipif(
        _cupy_reason() is not None, reason=str(_cupy_reason()))),
]


# The strict backend stands in for a GPU; TINYNET_STRICT_DEVICE=strict:1 runs the suite on
# its second device, as a second GPU would be used (nothing may assume the first one).
STRICT_DEVICE = os.environ.get("TINYNET_STRICT_DEVICE", "strict")


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Make the parametrized backend active for the test; back to NumPy afterwards."""
    active = tn.set_backend(STRICT_DEVICE if request.param == "strict" else request.param)
    tn.manual_seed(0)
    yield active
    tn.set_backend("numpy")


@pytest.fixture(autouse=True)
def _restore_state():
    """Each test starts on NumPy with grad mode on and a fixed seed, and no device check
    left over from another test (Backend.check)."""
    tn.set_backend("numpy")
    tn.manual_seed(0)
    yield
    tn.set_backend("numpy")
    from tinynet.backend import _backends
    for backend in _backends.values():
        backend.pending_checks.clear()


def to_numpy(x):
    """A tensor or backend array -> NumPy, for comparisons in tests."""
    if isinstance(x, tn.Tensor):
        return x.numpy()
    return np.asarray(x)


def small_graph():
    """loss = (a * b + c).sum(): a (2, 3) and c (3,) require grad, b is a constant."""
    import tinynet as tn
    a = tn.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    b = tn.tensor([[0.5, 0.5, 0.5], [1.0, 1.0, 1.0]])
    c = tn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    return a, b, c, (a * b + c).sum()


def error_without(tmp_path, package: str, statement: str) -> str:
    """Run ``statement`` (after ``import tinynet as tn``) in a fresh Python where importing
    ``package`` fails, in ``tmp_path``; return the ImportError's message it printed. Checks
    that the process wrote nothing but the fake package into ``tmp_path``."""
    import subprocess
    import sys
    from pathlib import Path
    fake = tmp_path / "fake" / package
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(f"raise ImportError('No module named ' + repr('{package}'))\n")
    code = (f"import tinynet as tn\ntry:\n    {statement}\n"
            "except ImportError as error:\n    print(error)\n")
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path / "fake"), str(root)]))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake"]  # nothing written
    return done.stdout

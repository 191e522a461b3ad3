"""The backend seam: choosing a backend, moving tensors, and what the strict backend proves."""
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

import tinynet as tn

needs_strict = pytest.mark.skipif(importlib.util.find_spec("array_api_strict") is None,
                                  reason="array-api-strict is not installed")


def test_numpy_is_the_default():
    assert tn.get_backend().name == "numpy" and tn.ones(1).device == "cpu"


def test_env_var_chooses_the_backend():
    code = "import tinynet as tn; print(tn.get_backend().name, tn.ones(1).device)"
    env = dict(os.environ, TINYNET_BACKEND="strict")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["strict", "strict"]


def test_importing_tinynet_does_not_import_cupy():
    code = "import sys, tinynet; print('cupy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


@needs_strict
def test_strict_arrays_refuse_numpy():
    """The reason the strict backend exists: any hidden host conversion fails loudly."""
    x = tn.ones(3, device="strict")
    with pytest.raises((RuntimeError, TypeError, ValueError)):
        np.asarray(x.array)
    with pytest.raises((RuntimeError, TypeError, ValueError)):
        x.array + np.ones(3, np.float32)


@needs_strict
def test_to_device_round_trip_keeps_values_and_gradient():
    x = tn.tensor([1.0, 2.0], requires_grad=True)
    y = x.to("strict")
    assert y.device == "strict" and y.dtype == np.float32
    (y * y).sum().backward()
    assert x.grad.device == "cpu"
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


def test_to_dtype_is_differentiable():
    x = tn.tensor([1.0, 2.0], requires_grad=True)
    y = x.to(tn.float64) * 2
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_same_code_on_every_backend(backend):
    """A tiny model written once gives the same numbers on each backend."""
    rng = np.random.default_rng(0)
    w0, x0 = rng.standard_normal((3, 2)), rng.standard_normal((4, 3))
    w = tn.tensor(w0, requires_grad=True)
    loss = ((tn.tensor(x0) @ w).tanh() ** 2).mean()
    loss.backward()
    assert w.device == backend.device
    expected = np.tanh(x0 @ w0)
    np.testing.assert_allclose(loss.item(), (expected ** 2).mean(), rtol=1e-12)
    g = x0.T @ (2 * expected * (1 - expected ** 2)) / expected.size
    np.testing.assert_allclose(w.grad.numpy(), g, rtol=1e-10)


@pytest.mark.parametrize("shape", [(64, 1), (128, 10), (512, 16), (63, 10), (128, 17)])
def test_numpy_row_max_of_short_rows_matches_numpy(shape):
    """The NumPy namespace takes the max of tall matrices of short rows (the logits of
    log_softmax) through a transposed copy: the same values, shapes and dtypes as NumPy's
    own reduction, nan included, with and without keepdims, and on strided views."""
    from tinynet.backend.numpy_namespace import namespace as xp
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape).astype(np.float32)
    x[5, 0] = np.nan
    x[7, :] = -np.inf
    for a in (x, np.asfortranarray(x), x[:, ::-1]):
        for axis in (1, -1):
            for keepdims in (False, True):
                got, expected = xp.max(a, axis=axis, keepdims=keepdims), a.max(axis=axis,
                                                                                keepdims=keepdims)
                assert got.shape == expected.shape and got.dtype == expected.dtype
                np.testing.assert_array_equal(got, expected)
    assert np.isnan(xp.max(x, axis=1)[5])


def test_indices_in_range_is_true_exactly_when_every_index_is_a_class(backend):
    """The loss's target check (every class index in [0, n)): NumPy reads int64 indices as
    unsigned in one pass, so a negative index must still count as out of range, however
    large or small, as must n itself; other integer dtypes and strided views too."""
    for dtype in ("int64", "int32", "uint8", "int8"):
        for values, n, expected in (([0, 3, 9], 10, True), ([0, 3, 10], 10, False),
                                    ([0, -1, 3], 10, False), ([5], 6, True), ([5], 5, False),
                                    ([0], 0, False)):
            if dtype == "uint8" and min(values) < 0:
                continue
            y = backend.asarray(np.array(values, dtype=dtype))
            assert bool(backend.indices_in_range(y, n)) is expected, (dtype, values, n)
    extremes = np.array([2, np.iinfo(np.int64).min, 1, 2 ** 62, -(2 ** 62)], dtype=np.int64)
    for y in (extremes, extremes[::2], extremes[1:2], extremes.reshape(5, 1)):
        assert not bool(backend.indices_in_range(backend.asarray(y), 10)), y
    assert bool(backend.indices_in_range(backend.asarray(np.array(4, dtype=np.int64)), 5))


@pytest.mark.parametrize("name", ["ones_like", "zeros_like"])
def test_numpy_filled_like_matches_numpy(name):
    """The NumPy namespace's ones_like and zeros_like (made by C functions directly) give
    NumPy's array: values, dtype, shape and memory layout, for any input and dtype."""
    from tinynet.backend.numpy_namespace import namespace as xp
    base = np.arange(12, dtype=np.float32).reshape(3, 4)
    for a in (np.array(2.5, np.float32), base, base[:, ::2], np.asfortranarray(base),
              np.array([True, False]), np.arange(5)):
        for dtype in (None, np.float64, np.int32):
            got, expected = getattr(xp, name)(a, dtype=dtype), getattr(np, name)(a, dtype=dtype)
            assert (got.dtype, got.shape, got.strides) == (expected.dtype, expected.shape,
                                                           expected.strides)
            np.testing.assert_array_equal(got, expected)


def test_subtract_at_rows_writes_one_position_per_row(backend):
    """The class-index loss subtracts the one-hot in place at its flat picks: every
    backend (NumPy through the index, the strict one by a comparison) changes exactly
    those positions, by exactly the value, and leaves -0.0 and the rest untouched."""
    xp, rng = backend.xp, np.random.default_rng(3)
    values = rng.random((5, 4)).astype(np.float32)
    values[0, 1] = -0.0
    columns = np.array([2, 0, 3, 3, 1])
    picks = columns + np.arange(0, values.size, 4)
    a = backend.asarray(values.copy())  # NumPy's asarray would share values' memory
    backend.subtract_at_rows(a, backend.asarray(picks), 1)
    expected = values.copy()
    expected[np.arange(5), columns] -= 1
    result = backend.to_numpy(a)
    np.testing.assert_array_equal(result, expected)
    assert np.signbit(result[0, 1]) and result.dtype == np.float32

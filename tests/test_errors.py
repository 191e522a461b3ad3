"""Bad input gets a clear exception naming the shapes, dtypes or devices involved."""
import importlib.util

import numpy as np
import pytest

import tinynet as tn


def test_matmul_shape_mismatch_names_shapes(backend):
    a, b = tn.randn(3, 4), tn.randn(5, 2)
    with pytest.raises(ValueError, match=r"\(3, 4\) @ \(5, 2\)"):
        a @ b


def test_broadcast_mismatch_names_shapes(backend):
    with pytest.raises(ValueError, match=r"\(3,\).*\(4,\)"):
        tn.ones(3) + tn.ones(4)


def test_backward_on_non_scalar_needs_grad(backend):
    y = tn.ones(2, 3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"one element, got shape \(2, 3\)"):
        y.backward()


def test_backward_on_tensor_without_grad(backend):
    with pytest.raises(RuntimeError, match="does not require grad"):
        (tn.ones(2) * 2).sum().backward()


def test_backward_grad_of_wrong_shape(backend):
    y = tn.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"grad has shape \(3,\).*shape \(2,\)"):
        y.backward(tn.ones(3))


def test_index_out_of_range(backend):
    x = tn.ones(3, 2)
    with pytest.raises(IndexError, match=r"index 3 is out of range for axis 0.*\(3, 2\)"):
        x[3]
    # (on a device, a gather is not checked at once: the error comes with the next read)
    with pytest.raises(IndexError, match=r"index 5 is out of range for axis 0"):
        x[tn.tensor([0, 5])].numpy()
    with pytest.raises(IndexError, match=r"index -4 is out of range"):
        x[tn.tensor([-4])].numpy()


def test_axis_out_of_range(backend):
    with pytest.raises(IndexError, match=r"axis 2 is out of range.*\(3, 2\)"):
        tn.ones(3, 2).sum(2)


def test_reshape_to_wrong_size(backend):
    with pytest.raises(ValueError, match=r"shape \(2, 3\).*\(4, 2\)"):
        tn.ones(2, 3).reshape(4, 2)


def test_unsupported_dtype():
    with pytest.raises(TypeError, match="unsupported"):
        tn.tensor(["a", "b"])
    with pytest.raises(TypeError, match="complex128"):
        tn.tensor(np.array([1 + 2j]))


@pytest.mark.skipif(importlib.util.find_spec("array_api_strict") is None,
                    reason="array-api-strict is not installed")
def test_mixing_devices_names_both():
    a = tn.ones(2, device="cpu")
    b = tn.ones(2, device="strict")
    with pytest.raises(RuntimeError, match="cpu and strict"):
        a + b
    assert (a + b.to("cpu")).device == "cpu"


def test_unknown_device():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        tn.ones(2, device="tpu")


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="CuPy is installed")
def test_cupy_missing_is_explained():
    with pytest.raises(RuntimeError, match="CuPy.*not installed.*cuda12"):
        tn.set_backend("cupy")
    assert tn.get_backend().name == "numpy"

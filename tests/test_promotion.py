"""Type promotion follows PyTorch's rules: checked as a table against PyTorch itself where
it is installed, and on the cases the rules were written down for everywhere."""
import itertools

import numpy as np
import pytest

import tinynet as tn
from tinynet.promotion import promote_types, result_type

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
NUMBERS = [True, 2, 2.5, np.float64(2.5), np.int64(2), np.float32(2.5)]


def make(dtype, ndim, device=None):
    return tn.tensor(np.ones((2,) * ndim, dtype=dtype), device=device)


def test_the_documented_rules(backend):
    f32, f64, i32, i64 = (make(d, 1) for d in ("float32", "float64", "int32", "int64"))
    assert (f32 * 2.5).dtype == np.float32                    # a number takes the tensor's
    assert (f32 + tn.tensor(np.float64(1.5))).dtype == np.float32   # 0-d: same category
    assert (i32 + tn.tensor(np.float64(1.5))).dtype == np.float64   # 0-d: higher category
    assert (f32 + i64).dtype == np.float32                     # integer with float: the float
    assert (i32 + i64).dtype == np.int64 and (f32 + f64).dtype == np.float64
    assert (i64 * 2.5).dtype == np.float32                     # default float dtype
    assert (make("bool", 1) + 1).dtype == np.int64             # bool + int: int64
    assert (f32 ** make("int64", 1)).dtype == np.float32
    assert (i64 / i64).dtype == np.float32                     # true division is float
    for dtype in ("bool", "uint8", "int64"):
        assert make(dtype, 1).exp().dtype == np.float32        # float ops on integers
    assert (f32 * np.int64(3)).dtype == np.float32             # NumPy numbers are numbers


def test_mixed_dtypes_backpropagate_in_each_input_dtype(backend):
    """float32 with a float64 0-d tensor, an int64 tensor or a NumPy integer: forward in
    float32, and backward() works (it used to fail with an internal dtype error)."""
    x = tn.tensor([1.0, 2.0], requires_grad=True)
    s = tn.tensor(np.float64(3.0), requires_grad=True)
    y = (x * s + tn.tensor([1, 2]) + np.int64(2)) ** tn.tensor([2, 1])
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32 and s.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad.numpy(), [2 * (3 + 1 + 2) * 3, 3], rtol=1e-6)


def test_matmul_refuses_mixed_dtypes_as_pytorch_does(backend):
    with pytest.raises(TypeError, match="same dtype.*float32 and float64"):
        make("float32", 2) @ make("float64", 2)


def torch_dtype(torch, name):
    return getattr(torch, name)


@pytest.mark.parametrize("a,b", list(itertools.product(DTYPES, DTYPES)))
@pytest.mark.parametrize("ndims", [(1, 1), (1, 0), (0, 1), (0, 0)], ids=str)
def test_tensor_with_tensor_matches_pytorch(a, b, ndims):
    torch = pytest.importorskip("torch")
    expected = (torch.ones((2,) * ndims[0], dtype=torch_dtype(torch, a))
                + torch.ones((2,) * ndims[1], dtype=torch_dtype(torch, b))).dtype
    got = (make(a, ndims[0]) + make(b, ndims[1])).dtype
    assert str(expected) == f"torch.{got}", f"{a}{ndims[0]}d + {b}{ndims[1]}d"


@pytest.mark.parametrize("a", DTYPES)
@pytest.mark.parametrize("number", NUMBERS, ids=lambda n: f"{type(n).__name__}")
def test_tensor_with_number_matches_pytorch(a, number):
    torch = pytest.importorskip("torch")
    for ndim in (0, 1):
        expected = (torch.ones((2,) * ndim, dtype=torch_dtype(torch, a)) * number).dtype
        assert str(expected) == f"torch.{(make(a, ndim) * number).dtype}", (a, ndim, number)


@pytest.mark.parametrize("a", DTYPES)
def test_float_ops_and_division_match_pytorch(a):
    torch = pytest.importorskip("torch")
    t, x = torch.ones(2, dtype=torch_dtype(torch, a)), make(a, 1)
    assert str(torch.exp(t).dtype) == f"torch.{x.exp().dtype}"
    assert str((t / t).dtype) == f"torch.{(x / x).dtype}"
    assert str(torch.sigmoid(t).dtype) == f"torch.{x.sigmoid().dtype}"


def test_promote_types_is_symmetric_and_matches_result_type():
    for a, b in itertools.product(DTYPES, DTYPES):
        da, db = np.dtype(a), np.dtype(b)
        assert promote_types(da, db) == promote_types(db, da)
        assert result_type(make(a, 1), make(b, 1)) == promote_types(da, db)

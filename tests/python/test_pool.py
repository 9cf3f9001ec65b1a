"""max_pool2d / avg_pool2d (and the 1-D and global forms) against a NumPy reference with
PyTorch's rules for padding, ceil_mode and count_include_pad; ties, NaN, dtypes, empty
batches, errors, and gradients against finite differences."""
from __future__ import annotations

import numpy as np
import pytest

import aimass as am
import aimass.nn.functional as F

from conftest import NP_BF16, make_tensor, numeric_grad, to_np


def out_size(n, k, s, p, ceil):
    span = n + 2 * p - k
    o = (-(-span // s) if ceil else span // s) + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    return o


def ref_pool2d(x, kernel, stride, pad, ceil_mode=False, mode="max", count_include_pad=True):
    """Window by window in float64: the window clipped to the image; the avg divisor counts the
    window clipped to the padded image (count_include_pad) or to the image."""
    x = np.asarray(x, np.float64)
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, pad
    oh, ow = out_size(h, kh, sh, ph, ceil_mode), out_size(w, kw, sw, pw, ceil_mode)
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        h0, h1 = i * sh - ph, min(i * sh - ph + kh, h + ph)
        for j in range(ow):
            w0, w1 = j * sw - pw, min(j * sw - pw + kw, w + pw)
            win = x[:, :, max(h0, 0):min(h1, h), max(w0, 0):min(w1, w)]
            if mode == "max":
                out[:, :, i, j] = win.max(axis=(2, 3))
            else:
                div = (h1 - h0) * (w1 - w0) if count_include_pad else win.shape[2] * win.shape[3]
                out[:, :, i, j] = win.sum(axis=(2, 3)) / div
    return out


# (x shape, kernel, stride (None: kernel), padding, ceil_mode)
CASES = [
    ((2, 3, 8, 8), 2, None, 0, False),
    ((2, 3, 7, 9), 3, 2, 1, False),
    ((1, 2, 7, 9), 3, 2, 1, True),
    ((2, 2, 6, 5), (3, 2), (1, 2), (1, 1), True),
    ((1, 3, 10, 7), (2, 4), (3, 2), (1, 2), False),
    ((2, 1, 5, 5), 5, 1, 2, False),
    ((1, 2, 6, 6), 4, 3, 2, True),
]


def pair(v):
    return v if isinstance(v, tuple) else (v, v)


@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["max", "avg", "avg-nopad"])
def test_pool2d_matches_numpy(rng, case, dtype, mode):
    xs, k, s, p, ceil = case
    x = rng.standard_normal(xs).astype(dtype)
    if mode == "max":
        out = F.max_pool2d(am.tensor(x), k, s, p, ceil)
    else:
        out = F.avg_pool2d(am.tensor(x), k, s, p, ceil, count_include_pad=mode == "avg")
    expected = ref_pool2d(x, pair(k), pair(k if s is None else s), pair(p), ceil, mode[:3], mode == "avg")
    assert out.dtype == (am.float32 if dtype == np.float32 else am.float64)
    assert out.shape == expected.shape
    tol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(to_np(out), expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("layout", ["transposed", "strided", "offset", "from_numpy_strided"])
def test_non_contiguous(rng, layout):
    x = rng.standard_normal((2, 3, 7, 6))
    np.testing.assert_allclose(to_np(F.max_pool2d(make_tensor(x, layout), 3, 2, 1)),
                               ref_pool2d(x, (3, 3), (2, 2), (1, 1)), rtol=1e-12)
    np.testing.assert_allclose(to_np(F.avg_pool2d(make_tensor(x, layout), 2, 1, 1, count_include_pad=False)),
                               ref_pool2d(x, (2, 2), (1, 1), (1, 1), mode="avg", count_include_pad=False), rtol=1e-12)


def test_ties_go_to_the_first_and_nan_propagates():
    x = am.tensor(np.array([[[[1.0, 3.0, 3.0], [3.0, 0.0, 2.0], [np.nan, 1.0, 5.0]]]]), requires_grad=True)
    out = F.max_pool2d(x, 2, 1)
    np.testing.assert_array_equal(to_np(out)[0, 0], [[3.0, 3.0], [np.nan, 5.0]])
    out.sum().backward()
    # Window (0,0) and (0,1) both pick a 3.0: the first in row-major order of each window.
    np.testing.assert_array_equal(to_np(x.grad)[0, 0], [[0, 2, 0], [0, 0, 0], [1, 0, 1]])
    avg = F.avg_pool2d(am.tensor(np.array([[[[np.nan, 1.0], [1.0, 1.0]]]])), 2)
    assert np.isnan(to_np(avg)).all()


def test_empty_batch_and_global(rng):
    x = am.tensor(np.zeros((0, 3, 6, 6)), requires_grad=True)
    for pool in (F.max_pool2d, F.avg_pool2d):
        out = pool(x, 2)
        assert out.shape == (0, 3, 3, 3)
        out.sum().backward()
        assert x.grad.shape == (0, 3, 6, 6)
    a = rng.standard_normal((2, 3, 5, 4))
    t = am.tensor(a, requires_grad=True)
    g = F.global_avg_pool2d(t)
    assert g.shape == (2, 3)
    np.testing.assert_allclose(to_np(g), a.mean(axis=(2, 3)), rtol=1e-12)
    g.sum().backward()
    np.testing.assert_allclose(to_np(t.grad), np.full(a.shape, 1 / 20), rtol=1e-12)
    with pytest.raises(ValueError, match=r"global_avg_pool2d: input must be \(N, C, H, W\)"):
        F.global_avg_pool2d(am.zeros((3, 4)))


@pytest.mark.parametrize("dtype,tol", [(np.float16, 1e-2), ("bf16", 5e-2)])
def test_16_bit_floats(rng, dtype, tol):
    if dtype == "bf16":
        if NP_BF16 is None:
            pytest.skip("ml_dtypes not installed")
        dtype = NP_BF16
    x = rng.standard_normal((2, 3, 6, 6)).astype(dtype)
    t = am.tensor(x, requires_grad=True)
    for out, mode in [(F.max_pool2d(t, 2), "max"), (F.avg_pool2d(t, 3, 1, 1), "avg")]:
        assert out.dtype == t.dtype
        k, s, p = ((2, 2), (2, 2), (0, 0)) if mode == "max" else ((3, 3), (1, 1), (1, 1))
        np.testing.assert_allclose(to_np(out).astype(np.float64), ref_pool2d(x.astype(np.float64), k, s, p, mode=mode),
                                   rtol=tol, atol=tol)
        out.sum().backward()
        assert t.grad.dtype == t.dtype



@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
@pytest.mark.parametrize("mode", ["max", "avg", "avg-nopad"])
def test_gradient_matches_finite_differences(rng, case, mode):
    xs, k, s, p, ceil = case
    # A permutation keeps values apart, so the max is differentiable at x.
    x = rng.permutation(np.prod(xs)).reshape(xs) * 0.1
    args = (pair(k), pair(k if s is None else s), pair(p), ceil, mode[:3], mode == "avg")
    up = rng.uniform(0.5, 1.5, ref_pool2d(x, *args).shape)
    t = am.tensor(x, requires_grad=True)
    out = F.max_pool2d(t, k, s, p, ceil) if mode == "max" else F.avg_pool2d(t, k, s, p, ceil, mode == "avg")
    (out * am.tensor(up)).sum().backward()
    g = numeric_grad(lambda v: float((ref_pool2d(v, *args) * up).sum()), x, eps=1e-4)
    np.testing.assert_allclose(to_np(t.grad), g, rtol=1e-6, atol=1e-8)


def test_pool1d(rng):
    x = rng.standard_normal((2, 3, 11))
    for k, s, p, ceil in [(2, None, 0, False), (3, 2, 1, True), (4, 1, 2, False)]:
        args = ((1, k), (1, k if s is None else s), (0, p), ceil)
        t = am.tensor(x, requires_grad=True)
        out = F.max_pool1d(t, k, s, p, ceil)
        np.testing.assert_allclose(to_np(out), ref_pool2d(x[:, :, None], *args)[:, :, 0], rtol=1e-12)
        out.sum().backward()
        assert t.grad.shape == x.shape
        avg = F.avg_pool1d(am.tensor(x), k, s, p, ceil, count_include_pad=False)
        np.testing.assert_allclose(to_np(avg), ref_pool2d(x[:, :, None], *args, mode="avg", count_include_pad=False)[:, :, 0],
                                   rtol=1e-12)
    with pytest.raises(ValueError, match=r"max_pool1d: input must be \(N, C, L\)"):
        F.max_pool1d(am.tensor(x[0, 0]), 2)


def test_errors():
    x = am.zeros((2, 3, 6, 6))
    for pool, name in [(F.max_pool2d, "max_pool2d"), (F.avg_pool2d, "avg_pool2d")]:
        with pytest.raises(ValueError, match=rf"{name}: input must be \(N, C, H, W\), got float32 \(3, 6, 6\)"):
            pool(am.zeros((3, 6, 6)), 2)
        with pytest.raises(ValueError, match=rf"{name}: padding must be non-negative and at most half the kernel, "
                                             r"got kernel \(3, 3\), stride \(1, 1\), padding \(2, 2\)"):
            pool(x, 3, 1, 2)
        with pytest.raises(ValueError, match=rf"{name}: kernel \(7, 3\) is larger than the padded input \(6, 6\)"):
            pool(x, (7, 3))
        with pytest.raises(ValueError, match=rf"{name}: kernel and stride must be positive"):
            pool(x, 2, 0)
        with pytest.raises(ValueError, match=rf"{name}: kernel and stride must be positive"):
            pool(x, 0)
        with pytest.raises(TypeError, match=rf"{name}: input must be a floating tensor"):
            pool(am.zeros((2, 3, 6, 6), dtype=am.int64), 2)
        with pytest.raises(ValueError, match=rf"{name}: kernel_size must be an int or a pair"):
            pool(x, (2, 2, 2))


def test_on_device(rng, device):
    x = rng.permutation(2 * 3 * 9 * 8).reshape(2, 3, 9, 8).astype(np.float32) * 0.1
    for mode in ["max", "avg", "avg-nopad"]:
        t = am.tensor(x, device=device, requires_grad=True)
        args = ((3, 2), (2, 2), (1, 1), True, mode[:3], mode == "avg")
        out = (F.max_pool2d(t, (3, 2), 2, 1, True) if mode == "max"
               else F.avg_pool2d(t, (3, 2), 2, 1, True, mode == "avg"))
        expected = ref_pool2d(x, *args)
        np.testing.assert_allclose(to_np(out), expected, rtol=1e-6, atol=1e-6)
        up = rng.uniform(0.5, 1.5, expected.shape)
        (out * am.tensor(up.astype(np.float32), device=device)).sum().backward()
        g = numeric_grad(lambda v: float((ref_pool2d(v, *args) * up).sum()), x.astype(np.float64), eps=1e-3)
        np.testing.assert_allclose(to_np(t.grad), g, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("hw", [(6, 8), (28, 28), (14, 14), (5, 35), (4, 66)])
def test_max_pool_2x2_stride_2_fast_path_ties_and_nan(dtype, hw):
    """The branch-free 2x2 / stride-2 path (float32: 16 outputs a step, rows of any length,
    odd sizes drop the last row / column): first of equal values wins, the first NaN wins."""
    rng = np.random.default_rng(7)
    H, W = hw
    OH, OW = H // 2, W // 2
    x = rng.integers(0, 3, (3, 4, H, W)).astype(dtype)  # many ties
    x[0, 0, 0, 1] = np.nan
    x[1, 2, 3, 2] = np.nan
    x[1, 2, 2, 3] = np.nan
    x[2, 3, 2 * OH - 1, 2 * OW - 2] = np.nan
    t = am.tensor(x, requires_grad=True)
    y = am.nn.functional.max_pool2d(t, 2)
    inner = x[:, :, :2 * OH, :2 * OW]
    windows = inner.reshape(3, 4, OH, 2, OW, 2).transpose(0, 1, 2, 4, 3, 5).reshape(3, 4, OH, OW, 4)
    first_nan = np.isnan(windows).argmax(-1)
    has_nan = np.isnan(windows).any(-1)
    pick = np.where(has_nan, first_nan, np.nanargmax(np.where(np.isnan(windows), -np.inf, windows), axis=-1))
    ref = np.take_along_axis(windows, pick[..., None], -1)[..., 0]
    np.testing.assert_array_equal(y.numpy(), ref)
    y.sum().backward()
    grad = np.zeros_like(windows)
    np.put_along_axis(grad, pick[..., None], 1.0, -1)
    full = np.zeros_like(x)
    full[:, :, :2 * OH, :2 * OW] = grad.reshape(3, 4, OH, OW, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(3, 4, 2 * OH, 2 * OW)
    np.testing.assert_array_equal(t.grad.numpy(), full)

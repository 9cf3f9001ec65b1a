"""conv2d / conv1d against a NumPy reference: stride, padding (int, pair, four sides, "valid",
"same"), dilation, groups, bias, dtypes, non-contiguous inputs, empty batches, the 1x1 and
tiled paths, errors, and gradients of input, weight and bias against finite differences."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

import aimass as am
import aimass.nn.functional as F

from conftest import NP_BF16, make_tensor, numeric_grad, to_np


def ref_conv2d(x, w, b=None, stride=(1, 1), pad=(0, 0, 0, 0), dilation=(1, 1), groups=1):
    """Cross-correlation in float64, one kernel tap at a time. pad: (top, bottom, left, right)."""
    x = np.pad(np.asarray(x, np.float64), ((0, 0), (0, 0), (pad[0], pad[1]), (pad[2], pad[3])))
    w = np.asarray(w, np.float64)
    n, _, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (sh, sw), (dh, dw) = stride, dilation
    oh, ow = (h - (kh - 1) * dh - 1) // sh + 1, (wd - (kw - 1) * dw - 1) // sw + 1
    og = o // groups
    out = np.zeros((n, o, oh, ow))
    for g in range(groups):
        xg, wg = x[:, g * cg:(g + 1) * cg], w[g * og:(g + 1) * og]
        for i in range(kh):
            for j in range(kw):
                patch = xg[:, :, i * dh:i * dh + (oh - 1) * sh + 1:sh, j * dw:j * dw + (ow - 1) * sw + 1:sw]
                out[:, g * og:(g + 1) * og] += np.einsum("nchw,oc->nohw", patch, wg[:, :, i, j])
    if b is not None:
        out += np.asarray(b, np.float64)[None, :, None, None]
    return out


def keras_same(size, k, s, d):
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


# (x shape, w shape, stride, padding as passed, padding as (top, bottom, left, right), dilation, groups)
CASES = [
    ((2, 3, 7, 6), (4, 3, 3, 3), 1, 0, (0, 0, 0, 0), 1, 1),
    ((2, 3, 7, 6), (4, 3, 3, 3), 1, 1, (1, 1, 1, 1), 1, 1),
    ((1, 2, 9, 8), (3, 2, 3, 2), (2, 3), (1, 0), (1, 1, 0, 0), 1, 1),
    ((2, 4, 8, 9), (6, 2, 3, 3), 1, (0, 2, 1, 0), (0, 2, 1, 0), 1, 2),
    ((2, 4, 10, 9), (4, 1, 3, 3), 2, 2, (2, 2, 2, 2), 2, 4),            # depthwise, dilated
    ((3, 5, 6, 7), (2, 5, 1, 1), 1, 0, (0, 0, 0, 0), 1, 1),            # 1x1: no im2col
    ((2, 3, 6, 7), (4, 3, 1, 1), 2, 0, (0, 0, 0, 0), 1, 1),            # 1x1 strided: im2col
    ((2, 3, 9, 8), (4, 3, 4, 3), (2, 1), "same", None, (1, 2), 1),
    ((2, 3, 5, 5), (4, 3, 5, 2), 1, "valid", (0, 0, 0, 0), 1, 1),
]


def case_padding(xs, ws, stride, pad, pad4, dilation):
    if pad4 is not None:
        return pad4
    s = stride if isinstance(stride, tuple) else (stride, stride)
    d = dilation if isinstance(dilation, tuple) else (dilation, dilation)
    return keras_same(xs[2], ws[2], s[0], d[0]) + keras_same(xs[3], ws[3], s[1], d[1])


def pairs(v):
    return v if isinstance(v, tuple) else (v, v)


@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "nobias"])
def test_conv2d_matches_numpy(rng, case, dtype, with_bias):
    xs, ws, stride, pad, pad4, dilation, groups = case
    x, w = rng.standard_normal(xs).astype(dtype), rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype) if with_bias else None
    out = F.conv2d(am.tensor(x), am.tensor(w), None if b is None else am.tensor(b), stride=stride, padding=pad,
                   dilation=dilation, groups=groups)
    expected = ref_conv2d(x, w, b, pairs(stride), case_padding(xs, ws, stride, pad, pad4, dilation), pairs(dilation),
                          groups)
    assert out.dtype == (am.float32 if dtype == np.float32 else am.float64)
    assert out.shape == expected.shape
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(to_np(out), expected, rtol=tol, atol=tol)


def test_same_padding_keeps_size(rng):
    x = rng.standard_normal((1, 2, 11, 10))
    for k, s in [(3, 1), (4, 1), (5, 2), (2, 3)]:
        out = F.conv2d(am.tensor(x), am.tensor(rng.standard_normal((3, 2, k, k))), stride=s, padding="same")
        assert out.shape == (1, 3, -(-11 // s), -(-10 // s))
    assert am._core.functional.same_padding(10, 4, 1, 1) == (1, 2)  # the odd pixel at the end, as Keras


@pytest.mark.parametrize("layout", ["transposed", "strided", "offset", "from_numpy_strided"])
def test_non_contiguous_inputs(rng, layout):
    x, w, b = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 3, 2)), rng.standard_normal(4)
    out = F.conv2d(make_tensor(x, layout), make_tensor(w, layout), make_tensor(b, layout), padding=1)
    np.testing.assert_allclose(to_np(out), ref_conv2d(x, w, b, pad=(1, 1, 1, 1)), rtol=1e-12, atol=1e-12)


def test_large_sample_and_tiled_cols(rng):
    # 16*9 x 34*34 per sample takes the threaded-im2col path; 64*9 x 96*96 overflows one cols
    # buffer and is done in tiles of output rows.
    for xs, ws, pad in [((2, 16, 34, 34), (32, 16, 3, 3), 1), ((1, 64, 96, 96), (3, 64, 3, 3), 1)]:
        x, w = rng.standard_normal(xs).astype(np.float32), rng.standard_normal(ws).astype(np.float32)
        xt, wt = am.tensor(x, requires_grad=True), am.tensor(w, requires_grad=True)
        out = F.conv2d(xt, wt, padding=pad)
        np.testing.assert_allclose(to_np(out), ref_conv2d(x, w, pad=(pad,) * 4), rtol=1e-4, atol=1e-4)
        g = rng.standard_normal(out.shape).astype(np.float32)
        (out * am.tensor(g)).sum().backward()
        # grad_x = conv of g with the flipped, transposed kernel; grad_w[o, c] = sum g[o] * patch(x[c]).
        wf = np.flip(w, (2, 3)).transpose(1, 0, 2, 3)
        np.testing.assert_allclose(to_np(xt.grad), ref_conv2d(g, wf, pad=(1, 1, 1, 1)), rtol=1e-3, atol=1e-3)
        gw = ref_conv2d(np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1))).transpose(1, 0, 2, 3), g.transpose(1, 0, 2, 3))
        np.testing.assert_allclose(to_np(wt.grad), gw.transpose(1, 0, 2, 3), rtol=1e-3, atol=1e-2)


def conv_grads_ref(x, w, g, pad):
    """grad_x and grad_w of sum(conv2d(x, w, padding=pad) * g), stride 1, in float64."""
    kh, kw = w.shape[2:]
    wf = np.flip(w, (2, 3)).transpose(1, 0, 2, 3)
    gx = ref_conv2d(g, wf, pad=(kh - 1 - pad, kh - 1 - pad, kw - 1 - pad, kw - 1 - pad))
    gw = ref_conv2d(np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))).transpose(1, 0, 2, 3), g.transpose(1, 0, 2, 3))
    return gx, gw.transpose(1, 0, 2, 3)


# float32 GEMMs run on the AVX-512 micro-kernel where the CPU has it (8 x 32 tiles, K in blocks
# of 256): output channels not a multiple of 8, pixels not a multiple of 32, K = 33 * 9 = 297
# over two K blocks, the small CNN's second layer, and a batch of one big sample (GEMMs split
# over the threads).
GEMM_CASES = [((3, 33, 9, 11), (13, 33, 3, 3)), ((4, 32, 14, 14), (64, 32, 3, 3)), ((5, 1, 28, 28), (32, 1, 3, 3)),
              ((1, 24, 40, 40), (40, 24, 3, 3))]


@pytest.mark.parametrize("xs, ws", GEMM_CASES)
def test_float32_gemm_tiles(rng, xs, ws):
    x, w = rng.standard_normal(xs).astype(np.float32), rng.standard_normal(ws).astype(np.float32)
    b = rng.standard_normal(ws[0]).astype(np.float32)
    xt, wt, bt = (am.tensor(v, requires_grad=True) for v in (x, w, b))
    out = F.conv2d(xt, wt, bt, padding=1)
    np.testing.assert_allclose(to_np(out), ref_conv2d(x, w, b, pad=(1,) * 4), rtol=1e-4, atol=1e-4)
    g = rng.standard_normal(out.shape).astype(np.float32)
    (out * am.tensor(g)).sum().backward()
    gx, gw = conv_grads_ref(x, w, g, 1)
    np.testing.assert_allclose(to_np(xt.grad), gx, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(to_np(wt.grad), gw, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(to_np(bt.grad), g.sum((0, 2, 3)), rtol=1e-4, atol=1e-3)


def test_float32_gemm_without_avx512():
    """AIMASS_CPU_ISA=avx2 turns the AVX-512 GEMM off: the BLAS path gives the same values."""
    code = (
        "import numpy as np, aimass as am, aimass.nn.functional as F\n"
        "r = np.random.default_rng(3)\n"
        "x, w = r.standard_normal((3, 33, 9, 11)).astype(np.float32), r.standard_normal((13, 33, 3, 3)).astype(np.float32)\n"
        "xt, wt = am.tensor(x, requires_grad=True), am.tensor(w, requires_grad=True)\n"
        "F.conv2d(xt, wt, padding=1).sum().backward()\n"
        "y = F.conv2d(am.tensor(x), am.tensor(w), padding=1)\n"
        "np.save(__import__('sys').argv[1], np.concatenate([a.numpy().ravel() for a in (y, xt.grad, wt.grad)]))\n")
    results = []
    for isa in ("avx2", "avx512"):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "out.npy")
            subprocess.run([sys.executable, "-c", code, path], check=True, env={**os.environ, "AIMASS_CPU_ISA": isa})
            results.append(np.load(path))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-4, atol=1e-3)


def test_empty_batch(rng):
    w = am.tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=True)
    b = am.tensor(rng.standard_normal(4), requires_grad=True)
    x = am.tensor(np.zeros((0, 3, 5, 5)), requires_grad=True)
    out = F.conv2d(x, w, b, padding=1)
    assert out.shape == (0, 4, 5, 5)
    out.sum().backward()
    assert x.grad.shape == (0, 3, 5, 5)
    np.testing.assert_array_equal(to_np(w.grad), 0.0)
    np.testing.assert_array_equal(to_np(b.grad), 0.0)
    assert F.conv2d(am.tensor(np.zeros((2, 3, 5, 5))), am.tensor(np.zeros((0, 3, 3, 3)))).shape == (2, 0, 3, 3)


@pytest.mark.parametrize("dtype,tol", [(np.float16, 2e-2), ("bf16", 1e-1)])
def test_16_bit_floats(rng, dtype, tol):
    if dtype == "bf16":
        if NP_BF16 is None:
            pytest.skip("ml_dtypes not installed")
        dtype = NP_BF16
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in [(2, 3, 6, 6), (4, 3, 3, 3), (4,)])
    xt = am.tensor(x, requires_grad=True)
    out = F.conv2d(xt, am.tensor(w), am.tensor(b), padding=1)
    assert out.dtype == xt.dtype
    expected = ref_conv2d(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), pad=(1, 1, 1, 1))
    np.testing.assert_allclose(to_np(out).astype(np.float64), expected, rtol=tol, atol=tol * 4)
    out.sum().backward()
    assert xt.grad.dtype == xt.dtype and xt.grad.shape == x.shape



GRAD_CASES = [
    ((2, 2, 5, 4), (3, 2, 3, 2), (1, 1), (1, 1, 0, 1), (1, 1), 1),
    ((1, 4, 7, 6), (4, 2, 3, 3), (2, 2), (0, 1, 1, 0), (1, 1), 2),
    ((2, 2, 7, 7), (2, 1, 2, 3), (1, 2), (1, 1, 2, 2), (2, 2), 2),
    ((2, 3, 4, 4), (2, 3, 1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 1),
]


@pytest.mark.parametrize("case", GRAD_CASES, ids=[f"case{i}" for i in range(len(GRAD_CASES))])
def test_gradients_match_finite_differences(rng, case):
    xs, ws, stride, pad, dilation, groups = case
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
    up = rng.uniform(0.5, 1.5, ref_conv2d(x, w, b, stride, pad, dilation, groups).shape)

    def loss(xv, wv, bv):
        return float((ref_conv2d(xv, wv, bv, stride, pad, dilation, groups) * up).sum())

    xt, wt, bt = (am.tensor(a, requires_grad=True) for a in (x, w, b))
    out = F.conv2d(xt, wt, bt, stride=stride, padding=pad, dilation=dilation, groups=groups)
    (out * am.tensor(up)).sum().backward()
    np.testing.assert_allclose(to_np(xt.grad), numeric_grad(lambda v: loss(v, w, b), x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(to_np(wt.grad), numeric_grad(lambda v: loss(x, v, b), w), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(to_np(bt.grad), numeric_grad(lambda v: loss(x, w, v), b), rtol=1e-6, atol=1e-8)


def test_gradient_only_where_asked(rng):
    x = am.tensor(rng.standard_normal((1, 2, 4, 4)))
    w = am.tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    out = F.conv2d(x, w, am.tensor(np.zeros(3)), padding=1)
    assert out.requires_grad
    out.sum().backward()
    assert x.grad is None and w.grad.shape == (3, 2, 3, 3)
    assert not F.conv2d(x, am.tensor(rng.standard_normal((3, 2, 3, 3)))).requires_grad
    with pytest.raises(RuntimeError, match="in-place"):
        xg = am.tensor(rng.standard_normal((1, 2, 4, 4)), requires_grad=True)
        x2 = xg * 1.0
        y = F.conv2d(x2, w)
        x2[0, 0, 0, 0] = 5.0
        y.sum().backward()


def test_conv1d(rng):
    x, w, b = rng.standard_normal((2, 4, 11)), rng.standard_normal((6, 2, 3)), rng.standard_normal(6)
    for stride, pad, dil in [(1, 0, 1), (2, 1, 1), (1, "same", 2), (3, "valid", 1)]:
        xt, wt, bt = (am.tensor(a, requires_grad=True) for a in (x, w, b))
        out = F.conv1d(xt, wt, bt, stride=stride, padding=pad, dilation=dil, groups=2)
        p = (0, 0) if pad == "valid" else keras_same(11, 3, stride, dil) if pad == "same" else (pad, pad)
        expected = ref_conv2d(x[:, :, None], w[:, :, None], b, (1, stride), (0, 0) + p, (1, dil), 2)[:, :, 0]
        np.testing.assert_allclose(to_np(out), expected, rtol=1e-12, atol=1e-12)
        up = rng.standard_normal(expected.shape)
        (out * am.tensor(up)).sum().backward()
        f = lambda v: float((ref_conv2d(v[:, :, None], w[:, :, None], b, (1, stride), (0, 0) + p, (1, dil), 2)[:, :, 0]
                             * up).sum())
        np.testing.assert_allclose(to_np(xt.grad), numeric_grad(f, x), rtol=1e-6, atol=1e-8)
    with pytest.raises(ValueError, match=r"conv1d: input must be \(N, C, L\)"):
        F.conv1d(am.tensor(x[0]), am.tensor(w))


def test_errors():
    x, w = am.zeros((2, 4, 6, 6)), am.zeros((8, 4, 3, 3))
    with pytest.raises(ValueError, match=r"conv2d: input must be \(N, C, H, W\), got float32 \(4, 6, 6\)"):
        F.conv2d(am.zeros((4, 6, 6)), w)
    with pytest.raises(ValueError, match=r"conv2d: weight must be \(O, C/groups, KH, KW\)"):
        F.conv2d(x, am.zeros((8, 4, 3)))
    with pytest.raises(ValueError, match=r"conv2d: input float32 \(2, 4, 6, 6\) on cpu has 4 channels but weight "
                                         r"float32 \(8, 3, 3, 3\) on cpu with groups = 1 expects 3"):
        F.conv2d(x, am.zeros((8, 3, 3, 3)))
    with pytest.raises(ValueError, match="conv2d: weight .* has 6 output channels, not divisible by groups = 4"):
        F.conv2d(x, am.zeros((6, 1, 3, 3)), groups=4)
    with pytest.raises(ValueError, match=r"conv2d: input .* has 4 channels but weight .* with groups = 2 expects 6"):
        F.conv2d(x, am.zeros((8, 3, 3, 3)), groups=2)
    with pytest.raises(ValueError, match=r"conv2d: kernel \(7, 7\) \(dilated\) is larger than the padded input \(6, 6\)"):
        F.conv2d(x, am.zeros((8, 4, 7, 7)))
    with pytest.raises(ValueError, match=r"conv2d: kernel \(9, 9\) \(dilated\) is larger than the padded input \(8, 8\)"):
        F.conv2d(x, w, padding=1, dilation=4)
    for kw in [dict(stride=0), dict(dilation=(1, 0)), dict(groups=0), dict(stride=-1)]:
        with pytest.raises(ValueError, match="conv2d: stride, dilation and groups must be positive"):
            F.conv2d(x, w, **kw)
    with pytest.raises(ValueError, match="conv2d: padding must be non-negative"):
        F.conv2d(x, w, padding=-1)
    with pytest.raises(ValueError, match="conv2d: padding must be an int, a pair, 'valid' or 'same', got 'full'"):
        F.conv2d(x, w, padding="full")
    with pytest.raises(TypeError, match=r"conv2d: weight float64 \(8, 4, 3, 3\) on cpu must have the dtype of the input "
                                        r"float32 \(2, 4, 6, 6\)"):
        F.conv2d(x, am.zeros((8, 4, 3, 3), dtype=am.float64))
    with pytest.raises(TypeError, match="conv2d: input must be a floating tensor"):
        F.conv2d(am.zeros((2, 4, 6, 6), dtype=am.int32), am.zeros((8, 4, 3, 3), dtype=am.int32))
    with pytest.raises(ValueError, match=r"conv2d: bias .* must have shape \(8,\)"):
        F.conv2d(x, w, am.zeros((4,)))
    with pytest.raises(TypeError, match="conv2d: bias .* must have the dtype of the input"):
        F.conv2d(x, w, am.zeros((8,), dtype=am.float64))
    with pytest.raises(ValueError, match="conv2d: input .* has no channels or an empty image"):
        F.conv2d(am.zeros((2, 0, 6, 6)), am.zeros((8, 0, 3, 3)))


def test_on_device(rng, device):
    x, w, b = rng.standard_normal((2, 4, 9, 8)), rng.standard_normal((6, 2, 3, 2)), rng.standard_normal(6)
    xt, wt, bt = (am.tensor(a.astype(np.float32), device=device, requires_grad=True) for a in (x, w, b))
    out = F.conv2d(xt, wt, bt, stride=(2, 1), padding="same", dilation=(1, 2), groups=2)
    pad = keras_same(9, 3, 2, 1) + keras_same(8, 2, 1, 2)
    expected = ref_conv2d(x, w, b, (2, 1), pad, (1, 2), 2)
    np.testing.assert_allclose(to_np(out), expected, rtol=1e-4, atol=1e-4)
    up = rng.standard_normal(expected.shape)
    (out * am.tensor(up.astype(np.float32), device=device)).sum().backward()
    f = lambda v: float((ref_conv2d(v, w, b, (2, 1), pad, (1, 2), 2) * up).sum())
    np.testing.assert_allclose(to_np(xt.grad), numeric_grad(f, x), rtol=1e-3, atol=1e-3)
    fw = lambda v: float((ref_conv2d(x, v, b, (2, 1), pad, (1, 2), 2) * up).sum())
    np.testing.assert_allclose(to_np(wt.grad), numeric_grad(fw, w), rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(to_np(bt.grad), up.sum(axis=(0, 2, 3)), rtol=1e-4, atol=1e-4)

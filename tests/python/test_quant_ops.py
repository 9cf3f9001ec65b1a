"""am.quant's tensor ops and observers (csrc/ops/quant.h, csrc/quant/observer.h) against NumPy
references of the formats: per-channel int8 weights, per-row / per-tensor u8 activations, the
int8 linear with its fused epilogue, the weight-only int8 / int4 group formats, calibration
ranges. The kernels themselves are tested at every ISA level by tests/cpp/test_quant_kernels.cpp."""
import numpy as np
import pytest

import aimass as am
from aimass import _core

Q = _core.quant
rng = np.random.default_rng(0)


def f16(x):
    return np.asarray(x, np.float32).astype(np.float16).astype(np.float32)


# ------------------------------------------------------------------------------ references

def ref_weights_s8(w):
    amax = np.abs(w).max(1)
    scale = np.where(amax > 0, amax / 127, 1).astype(np.float32)
    q = np.clip(np.rint(w * (1 / scale)[:, None].astype(np.float32)), -127, 127).astype(np.int8)
    return q, scale


def ref_rows_u8(x):
    lo = np.minimum(x.min(1), 0)
    hi = np.maximum(x.max(1), 0)
    scale = ((hi - lo) / np.float32(255)).astype(np.float32)
    scale = np.where(scale > 0, scale, 1).astype(np.float32)
    zero = np.clip(np.rint(-lo / scale), 0, 255).astype(np.int32)
    q = np.clip(np.rint(x * (1 / scale)[:, None].astype(np.float32)) + zero[:, None], 0, 255).astype(np.uint8)
    return q, scale, zero


def ref_int8_linear(x, w, bias=None, relu=False, static=None):
    qw, ws = ref_weights_s8(w)
    if static is None:
        qa, s, z = ref_rows_u8(x)
    else:
        s = np.full(x.shape[0], static[0], np.float32)
        z = np.full(x.shape[0], static[1], np.int32)
        qa = np.clip(np.rint(x * np.float32(1 / static[0])) + static[1], 0, 255).astype(np.uint8)
    acc = qa.astype(np.int64) @ qw.astype(np.int64).T            # exact integer products
    acc -= z[:, None].astype(np.int64) * qw.astype(np.int64).sum(1)[None, :]
    y = acc.astype(np.float64) * s[:, None] * ws[None, :]
    if bias is not None:
        y += bias
    return np.maximum(y, 0) if relu else y


def ref_weight_only(w, group, bits):
    n, k = w.shape
    kp = -(-k // group) * group
    wp = np.zeros((n, kp), np.float32)
    wp[:, :k] = w
    g = wp.reshape(n, kp // group, group)
    if bits == 8:
        d = f16(np.abs(g).max(2) / 127)
        q = np.clip(np.rint(g / np.where(d == 0, 1, d)[..., None]), -127, 127)
        q = np.where(d[..., None] == 0, 0, q)
        deq = q * d[..., None]
    else:
        idx = np.abs(g).argmax(2)
        extreme = np.take_along_axis(g, idx[..., None], 2)[..., 0]
        d = f16(extreme / -8)
        inv = np.where(d == 0, 0, 1 / np.where(d == 0, 1, d))
        q = np.clip(np.rint(g * inv[..., None]) + 8, 0, 15)
        deq = (q - 8) * d[..., None]
    return deq.reshape(n, kp)[:, :k].astype(np.float32), d


# ------------------------------------------------------------------------------------- tests

@pytest.mark.parametrize("shape", [(1, 1), (7, 33), (64, 256), (3, 1000)])
def test_weights_s8_match_reference(shape):
    w = rng.standard_normal(shape).astype(np.float32)
    w[0] = 0 if shape[0] > 1 else w[0]   # an all-zero channel gets scale 1
    q, scale = Q.quantize_per_channel_s8(am.tensor(w))
    rq, rs = ref_weights_s8(w)
    np.testing.assert_array_equal(q.numpy(), rq)
    np.testing.assert_allclose(scale.numpy(), rs, rtol=1e-6)
    assert q.dtype == am.int8 and scale.dtype == am.float32


@pytest.mark.parametrize("m,k,n", [(1, 16, 1), (5, 33, 10), (17, 64, 48), (40, 257, 19)])
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("with_bias", [False, True])
def test_int8_linear_dynamic_matches_integer_reference(m, k, n, relu, with_bias):
    x = rng.standard_normal((m, k)).astype(np.float32) * 3
    w = rng.standard_normal((n, k)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32) if with_bias else None
    q, s = Q.quantize_per_channel_s8(am.tensor(w))
    y = Q.int8_linear(am.tensor(x), q, s, am.tensor(b) if with_bias else None, relu=relu).numpy()
    ref = ref_int8_linear(x, w, b, relu)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())
    # and the quantisation error against float is what 8 bits allow
    exact = x @ w.T + (b if with_bias else 0)
    exact = np.maximum(exact, 0) if relu else exact
    assert np.abs(y - exact).max() < 0.02 * (np.abs(x) @ np.abs(w).T).max()


def test_int8_linear_static_and_batched_input_shapes():
    x = rng.uniform(-1, 2, (2, 3, 40)).astype(np.float32)
    w = rng.standard_normal((12, 40)).astype(np.float32)
    q, s = Q.quantize_per_channel_s8(am.tensor(w))
    scale, zero = Q.u8_qparams(-1.0, 2.0)
    y = Q.int8_linear(am.tensor(x), q, s, input_scale=scale, input_zero_point=zero).numpy()
    assert y.shape == (2, 3, 12)
    ref = ref_int8_linear(x.reshape(6, 40), w, static=(scale, zero)).reshape(2, 3, 12)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)


def test_int8_linear_saturating_extremes_are_exact():
    # u8 255 x s8 127 everywhere: the case where AVX2's pairwise s16 sums would saturate.
    k = 64
    x = np.full((3, k), 255.0, np.float32)
    w = np.full((16, k), 1.0, np.float32)
    w[1] = -1.0
    q, s = Q.quantize_per_channel_s8(am.tensor(w))
    scale, zero = 1.0, 0
    y = Q.int8_linear(am.tensor(x), q, s, input_scale=scale, input_zero_point=zero).numpy()
    np.testing.assert_allclose(y[:, 0], 255 * k, rtol=1e-6)
    np.testing.assert_allclose(y[:, 1], -255 * k, rtol=1e-6)


def test_int8_linear_nan_row_gives_nan_row_only():
    x = rng.standard_normal((3, 32)).astype(np.float32)
    x[1, 5] = np.nan
    w = rng.standard_normal((8, 32)).astype(np.float32)
    q, s = Q.quantize_per_channel_s8(am.tensor(w))
    y = Q.int8_linear(am.tensor(x), q, s).numpy()
    assert np.isnan(y[1]).all() and np.isfinite(y[[0, 2]]).all()


def test_int8_linear_bad_input():
    w = rng.standard_normal((8, 32)).astype(np.float32)
    q, s = Q.quantize_per_channel_s8(am.tensor(w))
    with pytest.raises(ValueError, match=r"\(\.\.\., 32\)"):
        Q.int8_linear(am.tensor(np.zeros((2, 31), np.float32)), q, s)
    with pytest.raises(TypeError, match="floating"):
        Q.int8_linear(am.tensor(np.zeros((2, 32), np.int64)), q, s)
    with pytest.raises(ValueError, match="w_scale"):
        Q.int8_linear(am.tensor(np.zeros((2, 32), np.float32)), q, am.tensor(np.ones(7, np.float32)))
    with pytest.raises(ValueError, match="scale"):
        Q.int8_linear(am.tensor(np.zeros((2, 32), np.float32)), q, s, input_scale=0.0, input_zero_point=0)
    with pytest.raises(ValueError, match="zero point"):
        Q.int8_linear(am.tensor(np.zeros((2, 32), np.float32)), q, s, input_scale=0.1, input_zero_point=300)
    with pytest.raises(ValueError, match="int8 weights"):
        Q.int8_linear(am.tensor(np.zeros((2, 32), np.float32)), am.tensor(w), s)
    with pytest.raises(ValueError, match="finite"):
        Q.quantize_per_channel_s8(am.tensor(np.array([[1.0, np.inf]], np.float32)))
    with pytest.raises(ValueError, match="non-empty"):
        Q.quantize_per_channel_s8(am.tensor(np.zeros((0, 4), np.float32)))
    y = Q.int8_linear(am.tensor(np.zeros((0, 32), np.float32)), q, s).numpy()
    assert y.shape == (0, 8)


@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("group", [32, 64, 128])
@pytest.mark.parametrize("k", [32, 100, 256])
def test_weight_only_format_matches_reference(bits, group, k):
    w = rng.standard_normal((9, k)).astype(np.float32)
    w[3] = 0
    q, scales = Q.quantize_weight_only(am.tensor(w), group, bits)
    groups = -(-k // group)
    assert q.dtype == am.uint8 and q.shape == (9, groups * group * bits // 8)
    assert scales.dtype == am.float16 and scales.shape == (9, groups)
    deq = Q.dequantize_weight_only(q, scales, k, group, bits).numpy()
    ref, d = ref_weight_only(w, group, bits)
    np.testing.assert_array_equal(scales.numpy().astype(np.float32), d)
    np.testing.assert_allclose(deq, ref, rtol=0, atol=1e-6)
    # error bound: half a step of each group's scale
    step = np.repeat(np.abs(d), group, axis=1)[:, :k]
    assert (np.abs(deq - w) <= 0.5 * step * (1 + 1e-3) + 1e-7).all() if bits == 8 else \
        (np.abs(deq - w) <= step * (1 + 1e-3) + 1e-7).all()


def test_int4_nibble_layout():
    # group of 32: byte i holds element i (low nibble) and element i + 16 (high nibble)
    w = np.zeros((1, 32), np.float32)
    w[0, 0], w[0, 16], w[0, 1] = -8.0, 4.0, 7.0      # d = -8 / -8 = 1
    q, scales = Q.quantize_weight_only(am.tensor(w), 32, 4)
    b = q.numpy()[0]
    assert scales.numpy().astype(np.float32)[0, 0] == 1.0
    assert b[0] == ((-8 + 8) | ((4 + 8) << 4)) and b[1] == ((7 + 8) | (8 << 4))


@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("m", [1, 3, 16, 33, 64])
def test_weight_only_linear_matches_dequantised_float(bits, m):
    k, n = 200, 70
    w = rng.standard_normal((n, k)).astype(np.float32)
    x = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    q, scales = Q.quantize_weight_only(am.tensor(w), 64, bits)
    deq = Q.dequantize_weight_only(q, scales, k, 64, bits).numpy()
    for relu in (False, True):
        y = Q.weight_only_linear(am.tensor(x), q, scales, k, 64, bits, am.tensor(b), relu=relu).numpy()
        ref = x.astype(np.float64) @ deq.T.astype(np.float64) + b
        ref = np.maximum(ref, 0) if relu else ref
        bound = 1e-5 * (np.abs(x) @ np.abs(deq).T).max()
        np.testing.assert_allclose(y, ref, rtol=0, atol=bound)


def test_weight_only_bad_input():
    w = rng.standard_normal((4, 64)).astype(np.float32)
    with pytest.raises(ValueError, match="group_size must be 32, 64 or 128"):
        Q.quantize_weight_only(am.tensor(w), 48, 4)
    with pytest.raises(ValueError, match="bits must be 4 or 8"):
        Q.quantize_weight_only(am.tensor(w), 32, 3)
    w[1, 1] = np.nan
    with pytest.raises(ValueError, match="finite"):
        Q.quantize_weight_only(am.tensor(w), 32, 4)
    q, s = Q.quantize_weight_only(am.tensor(np.ones((4, 64), np.float32)), 32, 4)
    with pytest.raises(ValueError, match="does not hold"):
        Q.weight_only_linear(am.tensor(np.ones((1, 96), np.float32)), q, s, 96, 32, 4)
    with pytest.raises(ValueError, match=r"\(\.\.\., 64\)"):
        Q.weight_only_linear(am.tensor(np.ones((1, 63), np.float32)), q, s, 64, 32, 4)


# --------------------------------------------------------------------------------- observers

def test_u8_qparams():
    assert Q.u8_qparams(0.0, 2.55) == pytest.approx((0.01, 0))
    s, z = Q.u8_qparams(-1.0, 1.0)
    assert s == pytest.approx(2 / 255) and z in (127, 128)   # 127.5 in float rounds either way
    s, z = Q.u8_qparams(0.5, 1.0)               # the range always holds 0
    assert s == pytest.approx(1 / 255) and z == 0
    s, z = Q.u8_qparams(-3.0, 1.0, symmetric=True)
    assert s == pytest.approx(6 / 255) and z == 128
    assert Q.u8_qparams(0.0, 0.0) == (1.0, 0)


def test_minmax_and_moving_average_observers():
    batches = [rng.standard_normal((32, 10)).astype(np.float32) * (i + 1) for i in range(5)]
    mm, mv = Q.Observer("minmax"), Q.Observer("moving_average", momentum=0.5)
    avg_lo = avg_hi = None
    for b in batches:
        mm.update(b)
        mv.update(b)
        lo, hi = float(b.min()), float(b.max())
        avg_lo = lo if avg_lo is None else avg_lo + 0.5 * (lo - avg_lo)
        avg_hi = hi if avg_hi is None else avg_hi + 0.5 * (hi - avg_hi)
    allv = np.concatenate([b.ravel() for b in batches])
    assert mm.range() == pytest.approx((allv.min(), allv.max()))
    assert mv.range() == pytest.approx((avg_lo, avg_hi), rel=1e-5)
    assert mm.count == allv.size


def test_percentile_observer_clips_outliers():
    x = rng.uniform(-1, 1, 100_000).astype(np.float32)
    x[:10] = 50.0
    obs = Q.Observer("percentile", percentile=99.9)
    obs.update(x)
    lo, hi = obs.range()
    assert 0.95 < hi < 1.1 and -1.0 <= lo < -0.95


def test_entropy_observer_threshold_on_gaussian():
    x = rng.standard_normal(200_000).astype(np.float32)
    obs = Q.Observer("entropy")
    for chunk in np.array_split(x, 4):
        obs.update(chunk)
    lo, hi = obs.range()
    # TensorRT-style KL calibration of N(0, 1) for 128 levels clips at roughly 2.5 to 4.5 sigma
    assert 2.0 < hi < 5.0 and -5.0 < lo < -2.0
    assert hi < float(x.max())


def test_observer_bad_input():
    with pytest.raises(ValueError, match="unknown method"):
        Q.Observer("mean")
    obs = Q.Observer("minmax")
    with pytest.raises(ValueError, match="no calibration data"):
        obs.range()
    with pytest.raises(ValueError, match="finite"):
        obs.update(np.array([1.0, np.nan], np.float32))
    with pytest.raises(ValueError, match="momentum"):
        Q.Observer("moving_average", momentum=0.0)
    with pytest.raises(ValueError, match="percentile"):
        Q.Observer("percentile", percentile=150)


def test_kernel_names():
    assert Q.int8_gemm_kernel() in ("avx512_vnni", "avx2", "baseline")
    assert Q.weight_only_kernel() in ("avx512", "avx2", "baseline")


# ------------------------------------------------------------------------------------- int8 conv

def ref_int8_conv2d(x, qw, ws, bias, scale, zero, stride, padding, dilation, relu):
    """The integer arithmetic of int8_conv2d: x quantised per tensor, padded with the zero point
    (real 0), windows in (c, kh, kw) order against the int8 weights, exact int64 sums."""
    n, c, h, w = x.shape
    o, _, kh, kw = qw.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    qa = np.clip(np.rint(x * np.float32(1 / scale)) + zero, 0, 255).astype(np.int64)
    qa = np.pad(qa, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=zero)
    oh = (h + 2 * ph - (kh - 1) * dh - 1) // sh + 1
    ow = (w + 2 * pw - (kw - 1) * dw - 1) // sw + 1
    cols = np.empty((n, oh, ow, c, kh, kw), np.int64)
    for a in range(kh):
        for b in range(kw):
            cols[:, :, :, :, a, b] = qa[:, :, a * dh:a * dh + (oh - 1) * sh + 1:sh,
                                        b * dw:b * dw + (ow - 1) * sw + 1:sw].transpose(0, 2, 3, 1)
    qw2 = qw.reshape(o, -1).astype(np.int64)
    acc = cols.reshape(n * oh * ow, -1) @ qw2.T - zero * qw2.sum(1)[None, :]
    y = acc.astype(np.float64) * scale * ws[None, :].astype(np.float64)
    if bias is not None:
        y += bias
    if relu:
        y = np.maximum(y, 0)
    return y.reshape(n, oh, ow, o).transpose(0, 3, 1, 2)


@pytest.mark.parametrize("batch", [1, 3, 70])
@pytest.mark.parametrize("c,h,w,o,kernel,stride,padding,dilation", [
    (1, 8, 8, 32, (3, 3), (1, 1), (1, 1), (1, 1)),     # the digits CNN's first layer
    (32, 8, 8, 32, (3, 3), (1, 1), (1, 1), (1, 1)),    # and its second
    (3, 11, 9, 20, (3, 3), (2, 2), (1, 1), (1, 1)),    # stride 2
    (4, 10, 12, 17, (5, 3), (1, 2), (2, 0), (1, 1)),   # 5x3, uneven stride and padding
    (2, 13, 13, 8, (3, 3), (1, 1), (2, 2), (2, 2)),    # dilation
    (5, 7, 6, 40, (1, 1), (1, 1), (0, 0), (1, 1)),     # 1x1
    (3, 6, 20, 9, (2, 7), (1, 3), (0, 3), (1, 2)),     # wide kernel, dilated, strided
    (2, 4, 4, 3, (3, 3), (1, 1), (3, 3), (1, 1)),      # padding wider than the window reach
])
def test_int8_conv2d_matches_integer_reference(batch, c, h, w, o, kernel, stride, padding, dilation):
    x = rng.uniform(-1, 2, (batch, c, h, w)).astype(np.float32)
    qw = rng.integers(-127, 128, (o, c) + kernel).astype(np.int8)
    ws = rng.uniform(0.001, 0.05, o).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    scale, zero = Q.u8_qparams(-1.0, 2.0)
    relu = batch != 3
    layer = am.nn.QuantizedConv2D(o, kernel, strides=stride, padding=padding, dilation=dilation,
                                  activation="relu" if relu else None, in_channels=c)
    layer.load_state_dict({"weight": am.tensor(qw), "weight_scale": am.tensor(ws), "bias": am.tensor(b),
                           "input_scale": am.tensor(np.array([scale], np.float32)),
                           "input_zero_point": am.tensor(np.array([zero], np.int32))})
    y = layer(am.tensor(x)).numpy()
    ref = ref_int8_conv2d(x, qw, ws, b, scale, zero, stride, padding, dilation, relu)
    assert y.shape == ref.shape
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())

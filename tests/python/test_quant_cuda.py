"""The CUDA int8 / int4 kernels (csrc/ops/cuda/quant_*.cu) against the CPU ones (csrc/quant) on
the same data, through the public ops and the quantised layers moved with .to("cuda").

What must match, and how closely:
  int8 (int8_linear, QuantizedDense, QuantizedConv2D, QuantizedEmbedding): equal, bit for bit. The
      CUDA quantiser makes the CPU's bytes and (scale, zero point) (the same float operations), the
      int32 sums are exact on both, and the epilogue is the CPU's formula without FMA contraction.
      Both the cuBLASLt IMMA path and the dp4a fallback (AIMASS_CUDA_INT8_GEMM=dp4a) are run.
  weight-only (weight_only_linear, WeightOnlyDense): the same dequantised weights, float32 sums in
      another order: |cuda - cpu| <= 2e-5 * sum_k |x * w| + 1e-6, elementwise.
  whole models: an all-int8 MLP predicts identically; where a float layer (cuDNN / cuBLAS round
      differently from the CPU) feeds an int8 one, a u8 code may move by one: within 2e-2 of the
      output scale.
Everything here is marked `cuda` and skips cleanly, saying why, where there is no GPU.
"""
from __future__ import annotations

import numpy as np
import pytest

import aimass as am
from aimass import _core

pytestmark = pytest.mark.cuda
Q = _core.quant
nn = am.nn


@pytest.fixture(autouse=True)
def _needs_cuda(cuda_device):
    """Every test here skips, saying why, where CUDA is unavailable."""


@pytest.fixture(params=["auto", "dp4a"])
def int8_path(request, monkeypatch):
    """Runs a test through each CUDA int8 GEMM: the default (cuBLASLt's IMMA kernels where it offers
    an algorithm, else the fallback) and our dp4a fallback forced."""
    if request.param == "dp4a":
        monkeypatch.setenv("AIMASS_CUDA_INT8_GEMM", "dp4a")
    else:
        monkeypatch.delenv("AIMASS_CUDA_INT8_GEMM", raising=False)
    return request.param


rng = np.random.default_rng(0)


def cuda(a):
    return am.tensor(a, device="cuda") if isinstance(a, np.ndarray) else a.to("cuda")


def host(t):
    return np.asarray(t.cpu().numpy())


def both(*arrays):
    """Each array as a CPU tensor and as a CUDA tensor."""
    cpu = [am.tensor(a) if a is not None else None for a in arrays]
    return cpu, [cuda(t) if t is not None else None for t in cpu]


def weight_only_bound(x, deq):
    return 2e-5 * (np.abs(x).astype(np.float64) @ np.abs(deq).T.astype(np.float64)) + 1e-6


# ------------------------------------------------------------------------------ int8 linear

@pytest.mark.parametrize("m", [1, 3, 16, 64])
@pytest.mark.parametrize("k,n", [(16, 1), (33, 10), (64, 48), (257, 19), (130, 33)])
def test_int8_linear_dynamic_equals_cpu(int8_path, m, k, n):
    x = (rng.standard_normal((m, k)) * 3).astype(np.float32)
    w = rng.standard_normal((n, k)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    q, s = Q.quantize_per_channel_s8(am.tensor(w))
    for relu in (False, True):
        for bias in (None, b):
            (xc, bc), (xg, bg) = both(x, bias)
            ref = host(Q.int8_linear(xc, q, s, bc, relu=relu))
            got = Q.int8_linear(xg, cuda(q), cuda(s), bg, relu=relu)
            assert str(got.device).startswith("cuda")
            np.testing.assert_array_equal(host(got), ref)


@pytest.mark.parametrize("m", [1, 3, 16, 64])
def test_int8_linear_static_and_batched_shapes_equal_cpu(int8_path, m):
    x = rng.uniform(-1, 2, (m, 3, 41)).astype(np.float32)
    w = rng.standard_normal((12, 41)).astype(np.float32)
    q, s = Q.quantize_per_channel_s8(am.tensor(w))
    scale, zero = Q.u8_qparams(-1.0, 2.0)
    ref = host(Q.int8_linear(am.tensor(x), q, s, input_scale=scale, input_zero_point=zero, relu=True))
    got = host(Q.int8_linear(cuda(x), cuda(q), cuda(s), input_scale=scale, input_zero_point=zero, relu=True))
    assert got.shape == (m, 3, 12)
    np.testing.assert_array_equal(got, ref)


def test_int8_linear_extremes_and_nan_rows_equal_cpu(int8_path):
    k = 64
    x = np.full((3, k), 255.0, np.float32)
    w = np.full((16, k), 1.0, np.float32)
    w[1] = -1.0
    q, s = Q.quantize_per_channel_s8(am.tensor(w))
    y = host(Q.int8_linear(cuda(x), cuda(q), cuda(s), input_scale=1.0, input_zero_point=0))
    np.testing.assert_allclose(y[:, 0], 255 * k, rtol=1e-6)  # sum u8 255 x s8 127: no saturation
    np.testing.assert_allclose(y[:, 1], -255 * k, rtol=1e-6)
    x = rng.standard_normal((4, 32)).astype(np.float32)
    x[1, 5], x[3, 0] = np.nan, np.inf
    w = rng.standard_normal((8, 32)).astype(np.float32)
    q, s = Q.quantize_per_channel_s8(am.tensor(w))
    got = host(Q.int8_linear(cuda(x), cuda(q), cuda(s)))
    assert np.isnan(got[[1, 3]]).all() and np.isfinite(got[[0, 2]]).all()
    np.testing.assert_array_equal(got, host(Q.int8_linear(am.tensor(x), q, s)))


@pytest.mark.parametrize("m", [1, 16, 64, 200])
@pytest.mark.parametrize("k,n", [(64, 48), (256, 128), (1024, 512)])
def test_cublaslt_imma_takes_common_shapes(monkeypatch, m, k, n):
    """AIMASS_CUDA_INT8_GEMM=cublaslt: no fallback, so this fails ("cuBLASLt has no int8
    algorithm") where cuBLASLt refuses the padded row/column-major int8 layout."""
    monkeypatch.setenv("AIMASS_CUDA_INT8_GEMM", "cublaslt")
    x = rng.standard_normal((m, k)).astype(np.float32)
    w = rng.standard_normal((n, k)).astype(np.float32)
    q, s = Q.quantize_per_channel_s8(am.tensor(w))
    np.testing.assert_array_equal(host(Q.int8_linear(cuda(x), cuda(q), cuda(s))), host(Q.int8_linear(am.tensor(x), q, s)))


def test_int8_linear_bad_input_names_what_was_wrong():
    w = rng.standard_normal((8, 32)).astype(np.float32)
    q, s = Q.quantize_per_channel_s8(am.tensor(w))
    qg, sg = cuda(q), cuda(s)
    with pytest.raises(ValueError, match=r"the input .* on cpu, but the other operands are on cuda"):
        Q.int8_linear(am.tensor(np.zeros((2, 32), np.float32)), qg, sg)
    with pytest.raises(ValueError, match=r"the input .* on cuda.*, but the other operands are on cpu"):
        Q.int8_linear(cuda(np.zeros((2, 32), np.float32)), q, s)
    with pytest.raises(ValueError, match="w_scale must be contiguous float32 .* on cuda"):
        Q.int8_linear(cuda(np.zeros((2, 32), np.float32)), qg, s)
    with pytest.raises(ValueError, match=r"\(\.\.\., 32\)"):
        Q.int8_linear(cuda(np.zeros((2, 31), np.float32)), qg, sg)
    with pytest.raises(TypeError, match="floating"):
        Q.int8_linear(cuda(np.zeros((2, 32), np.int64)), qg, sg)
    with pytest.raises(ValueError, match="int8 weights"):
        Q.int8_linear(cuda(np.zeros((2, 32), np.float32)), cuda(w), sg)
    assert host(Q.int8_linear(cuda(np.zeros((0, 32), np.float32)), qg, sg)).shape == (0, 8)


# ---------------------------------------------------------------------------- weight-only

@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("group", [32, 64, 128])
@pytest.mark.parametrize("m", [1, 3, 16, 17, 64])
def test_weight_only_linear_close_to_cpu(bits, group, m):
    k, n = 131, 70  # odd K: the format's zero padding of the last group
    w = rng.standard_normal((n, k)).astype(np.float32)
    x = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    q, scales = Q.quantize_weight_only(am.tensor(w), group, bits)
    deq = host(Q.dequantize_weight_only(q, scales, k, group, bits))
    qg, sg = cuda(q), cuda(scales)
    np.testing.assert_array_equal(host(Q.dequantize_weight_only(qg, sg, k, group, bits)), deq)
    for relu in (False, True):
        ref = host(Q.weight_only_linear(am.tensor(x), q, scales, k, group, bits, am.tensor(b), relu=relu))
        got = host(Q.weight_only_linear(cuda(x), qg, sg, k, group, bits, cuda(b), relu=relu))
        assert np.all(np.abs(got - ref) <= weight_only_bound(x, deq)), (bits, group, m, relu)


def test_weight_only_prepares_on_cuda_and_checks_devices():
    w = rng.standard_normal((6, 64)).astype(np.float32)
    q, s = Q.quantize_weight_only(am.tensor(w), 32, 4)
    qg, sg = Q.quantize_weight_only(cuda(w), 32, 4)  # prepared on the host, returned on the device
    assert str(qg.device).startswith("cuda") and str(sg.device).startswith("cuda")
    np.testing.assert_array_equal(host(qg), host(q))
    with pytest.raises(ValueError, match="scales .* but the other operands are on cuda"):
        Q.weight_only_linear(cuda(np.ones((1, 64), np.float32)), qg, s, 64, 32, 4)
    with pytest.raises(ValueError, match="the input .* on cpu"):
        Q.weight_only_linear(am.tensor(np.ones((1, 64), np.float32)), qg, sg, 64, 32, 4)
    with pytest.raises(ValueError, match="does not hold"):
        Q.weight_only_linear(cuda(np.ones((1, 96), np.float32)), qg, sg, 96, 32, 4)


# ------------------------------------------------------------------------- quantised layers

def _load(layer, **buffers):
    layer.load_state_dict({k: am.tensor(v) for k, v in buffers.items()})
    return layer


@pytest.mark.parametrize("c,h,w,o,kernel,stride,padding,dilation", [
    (1, 8, 8, 32, (3, 3), (1, 1), (1, 1), (1, 1)),
    (3, 11, 9, 20, (3, 3), (2, 2), (1, 1), (1, 1)),
    (4, 10, 12, 17, (5, 3), (1, 2), (2, 0), (1, 1)),
    (2, 13, 13, 8, (3, 3), (1, 1), (2, 2), (2, 2)),
    (3, 6, 20, 9, (2, 7), (1, 3), (0, 3), (1, 2)),
])
@pytest.mark.parametrize("batch", [1, 3, 16])
def test_quantized_conv2d_equals_cpu(int8_path, batch, c, h, w, o, kernel, stride, padding, dilation):
    x = rng.uniform(-1, 2, (batch, c, h, w)).astype(np.float32)
    scale, zero = Q.u8_qparams(-1.0, 2.0)
    layer = _load(nn.QuantizedConv2D(o, kernel, strides=stride, padding=padding, dilation=dilation,
                                     activation="relu", in_channels=c),
                  weight=rng.integers(-127, 128, (o, c) + kernel).astype(np.int8),
                  weight_scale=rng.uniform(0.001, 0.05, o).astype(np.float32),
                  bias=rng.standard_normal(o).astype(np.float32),
                  input_scale=np.array([scale], np.float32), input_zero_point=np.array([zero], np.int32))
    ref = host(layer(am.tensor(x)))
    layer.to("cuda")
    np.testing.assert_array_equal(host(layer(cuda(x))), ref)


def test_quantized_embedding_equals_cpu_and_checks_range():
    num, dim = 50, 24
    layer = _load(nn.QuantizedEmbedding(num, dim), weight=rng.integers(-127, 128, (num, dim)).astype(np.int8),
                  weight_scale=rng.uniform(0.01, 0.1, num).astype(np.float32))
    ids = rng.integers(0, num, (3, 7))
    ref = host(layer(am.tensor(ids)))
    layer.to("cuda")
    np.testing.assert_array_equal(host(layer(cuda(ids))), ref)
    with pytest.raises(IndexError, match=r"index 50 is out of range \[0, 50\)"):
        layer(cuda(np.array([[1, 50]])))


def _mlp(k=48):
    am.manual_seed(0)
    model = nn.Sequential([nn.Dense(96, activation="relu"), nn.Dense(64, activation="relu"), nn.Dense(10)])
    model.build((None, k))
    return model


@pytest.mark.parametrize("how", ["dynamic", "static", "int4", "int8wo"])
def test_quantised_model_moves_to_cuda(int8_path, how):
    model = _mlp()
    x = rng.standard_normal((40, 48)).astype(np.float32)
    if how == "dynamic":
        q = am.quant.quantize_dynamic(model, min_layer_size=0)
    elif how == "static":
        q = am.quant.quantize(model, x)
    else:
        q = am.quant.quantize_weight_only(model, bits=4 if how == "int4" else 8, group_size=32)
    assert q.quantization_report.quantized, str(q.quantization_report)
    ref = q.predict(x)
    q.to("cuda")
    got = q.predict(cuda(x))
    if how in ("dynamic", "static"):  # all-int8 layers: the same bits
        np.testing.assert_array_equal(got, ref)
    else:
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-4 * np.abs(ref).max())


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_sixteen_bit_quantised_model_on_cuda(dtype):
    """model.to(am.float16 / am.bfloat16) then .to("cuda"): the float buffers (scales, biases) become
    16-bit, the layers widen them to float32 for the kernels, as on the CPU."""
    model = _mlp()
    x = rng.standard_normal((16, 48)).astype(np.float32)
    for q in (am.quant.quantize_dynamic(model, min_layer_size=0),
              am.quant.quantize_weight_only(model, bits=4, group_size=32)):
        q.to(getattr(am, dtype))
        ref = q.predict(x)
        q.to("cuda")
        got = q.predict(cuda(x))
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-3 * np.abs(ref).max())


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_float_layers_around_an_int8_layer_on_cuda(dtype):
    """Float layers (cuBLAS on CUDA, 16-bit when asked) with an int8 layer between them: the int8
    layer takes their output and gives float32 to the next, on either device."""
    am.manual_seed(0)
    model = nn.Sequential([nn.Dense(64, activation="relu"), nn.Dense(128, activation="relu"), nn.Dense(10)])
    model.build((None, 32))
    q = am.quant.quantize_dynamic(model)  # only the middle layer is large enough
    kinds = [type(layer).__name__ for layer in q]
    assert kinds == ["Dense", "QuantizedDense", "Dense"], kinds
    if dtype != "float32":
        q.to(getattr(am, dtype))
    x = rng.standard_normal((8, 32)).astype(np.float32)
    ref = q.predict(x)
    q.to("cuda")
    got = q.predict(cuda(x))
    # The float layer's last bit may differ between cuBLAS and the CPU, and move a u8 code of the
    # int8 layer's input by one: one quantisation step, ~1e-3 of the output scale here.
    tol = 2e-2
    np.testing.assert_allclose(got.astype(np.float32), ref.astype(np.float32), rtol=0,
                               atol=tol * np.abs(ref.astype(np.float32)).max())

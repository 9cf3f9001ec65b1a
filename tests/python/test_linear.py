"""aimass.nn.functional.linear (x @ w.T + bias, optional fused ReLU; PyTorch's weight layout) against
NumPy: shapes, dtypes, non-contiguous operands, empty batches, errors, and gradients for x, w and
bias against central finite differences."""
from __future__ import annotations

import numpy as np
import pytest

import aimass as am
import aimass.nn.functional as F

from conftest import NP_BF16, make_tensor, numeric_grad, to_np


def ref_linear(x, w, b=None, activation=None):
    y = np.asarray(x, np.float64) @ np.asarray(w, np.float64).T
    if b is not None:
        y = y + np.asarray(b, np.float64)
    return np.maximum(y, 0) if activation == "relu" else y


@pytest.mark.parametrize("activation", [None, "relu"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("x_shape", [(5, 7), (7,), (2, 3, 7), (1, 7), (0, 7)], ids=str)
def test_matches_numpy_float64(rng, x_shape, bias, activation):
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal((4, 7))
    b = rng.standard_normal(4) if bias else None
    out = F.linear(am.tensor(x), am.tensor(w), None if b is None else am.tensor(b), activation=activation)
    assert out.dtype == am.float64
    want = ref_linear(x, w, b, activation)
    assert out.shape == want.shape
    np.testing.assert_allclose(to_np(out), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("layout", ["contiguous", "transposed", "strided", "offset", "from_numpy_strided"])
def test_float32_layouts(rng, layout):
    x = rng.standard_normal((33, 65)).astype(np.float32)
    w = rng.standard_normal((17, 65)).astype(np.float32)
    b = rng.standard_normal(17).astype(np.float32)
    for activation in [None, "relu"]:
        out = F.linear(make_tensor(x, layout), make_tensor(w, layout), make_tensor(b, layout), activation)
        assert out.dtype == am.float32
        np.testing.assert_allclose(to_np(out), ref_linear(x, w, b, activation), rtol=1e-4, atol=1e-4)
    # A weight stored as its transpose (tied embeddings): w = e.T
    e = rng.standard_normal((65, 17)).astype(np.float32)
    np.testing.assert_allclose(to_np(F.linear(am.tensor(x), am.tensor(e).T)), x @ e, rtol=1e-4, atol=1e-4)


def test_large_relu_and_bias(rng):
    """Sizes where the BLAS threads and the ReLU pass spans several row blocks."""
    x = rng.standard_normal((300, 512)).astype(np.float32)
    w = (rng.standard_normal((384, 512)) * 0.05).astype(np.float32)
    b = rng.standard_normal(384).astype(np.float32)
    out = to_np(F.linear(am.tensor(x), am.tensor(w), am.tensor(b), "relu"))
    np.testing.assert_allclose(out, ref_linear(x, w, b, "relu"), rtol=1e-4, atol=1e-4)
    assert (out >= 0).all() and (out == 0).any()


@pytest.mark.parametrize("m", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("k,n", [(1, 3), (17, 13), (1000, 300), (4096, 40)])
def test_float32_few_rows_path(rng, m, k, n):
    """Batches of 1 to 4 take the dot-product path (no GEMM packing); 5 the GEMM: both match."""
    x = rng.standard_normal((m, k)).astype(np.float32)
    w = rng.standard_normal((n, k)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    for bias in (b, None):
        for activation in (None, "relu"):
            out = to_np(F.linear(am.tensor(x), am.tensor(w), None if bias is None else am.tensor(bias), activation))
            want = ref_linear(x, w, bias, activation)
            np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-4 * np.sqrt(k))


def test_empty_and_zero_features(rng):
    w = am.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = am.tensor(rng.standard_normal(3), requires_grad=True)
    x = am.tensor(np.zeros((0, 4)), requires_grad=True)
    out = F.linear(x, w, b)
    assert out.shape == (0, 3)
    out.sum().backward()
    assert x.grad.shape == (0, 4)
    np.testing.assert_array_equal(to_np(w.grad), np.zeros((3, 4)))
    np.testing.assert_array_equal(to_np(b.grad), np.zeros(3))
    # in_features = 0: the empty sum is 0, so the result is the bias (then the ReLU).
    bias = rng.standard_normal(3)
    out0 = F.linear(am.zeros((2, 0), dtype=am.float64), am.zeros((3, 0), dtype=am.float64), am.tensor(bias), "relu")
    np.testing.assert_allclose(to_np(out0), np.maximum(np.tile(bias, (2, 1)), 0))
    np.testing.assert_array_equal(to_np(F.linear(am.zeros((2, 0)), am.zeros((3, 0)))), np.zeros((2, 3)))
    assert F.linear(am.zeros((2, 4)), am.zeros((0, 4))).shape == (2, 0)


@pytest.mark.parametrize("dtype,tol", [(np.float16, 1e-2), ("bf16", 6e-2)])
def test_16_bit_floats_compute_in_float32(rng, dtype, tol):
    if dtype == "bf16":
        if NP_BF16 is None:
            pytest.skip("ml_dtypes not installed")
        dtype = NP_BF16
    x = rng.uniform(-1, 1, (6, 16)).astype(dtype)
    w = rng.uniform(-1, 1, (5, 16)).astype(dtype)
    b = rng.uniform(-1, 1, 5).astype(dtype)
    xt, wt, bt = (am.tensor(a, requires_grad=True) for a in (x, w, b))
    out = F.linear(xt, wt, bt, "relu")
    assert out.dtype == xt.dtype
    np.testing.assert_allclose(to_np(out).astype(np.float64),
                               ref_linear(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), "relu"),
                               rtol=tol, atol=tol)
    out.sum().backward()
    assert (xt.grad.dtype, wt.grad.dtype, bt.grad.dtype) == (xt.dtype,) * 3


def test_mixed_dtypes_promote(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    w = rng.standard_normal((2, 4))
    out = F.linear(am.tensor(x), am.tensor(w), am.tensor(np.ones(2, np.float32)))
    assert out.dtype == am.float64
    np.testing.assert_allclose(to_np(out), ref_linear(x, w, np.ones(2)), rtol=1e-12)
    xt = am.tensor(x, requires_grad=True)
    F.linear(xt, am.tensor(w)).sum().backward()
    assert xt.grad.dtype == am.float32  # each gradient in its operand's dtype


def test_errors():
    x, w = am.zeros((3, 4)), am.zeros((5, 4))
    with pytest.raises(ValueError, match=r"linear: input .*\(3, 4\).* has 4 features but weight .*\(5, 3\).* expects 3"):
        F.linear(x, am.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"linear: weight must be 2-D \(out_features, in_features\), got .*\(4,\)"):
        F.linear(x, am.zeros((4,)))
    with pytest.raises(ValueError, match=r"linear: weight must be 2-D .*\(1, 5, 4\)"):
        F.linear(x, am.zeros((1, 5, 4)))
    with pytest.raises(ValueError, match=r"linear: bias .*\(4,\).* must have shape \(5,\) for weight .*\(5, 4\)"):
        F.linear(x, w, am.zeros((4,)))
    with pytest.raises(ValueError, match=r"linear: bias .*\(1, 5\).* must have shape \(5,\)"):
        F.linear(x, w, am.zeros((1, 5)))
    with pytest.raises(ValueError, match="linear: input must have a feature axis"):
        F.linear(am.tensor(1.0), w)
    with pytest.raises(TypeError, match="linear: input must be a floating tensor, got int64"):
        F.linear(am.zeros((3, 4), dtype=am.int64), w)
    with pytest.raises(TypeError, match="linear: weight must be a floating tensor, got int32"):
        F.linear(x, am.zeros((5, 4), dtype=am.int32))
    with pytest.raises(TypeError, match="linear: bias must be a floating tensor"):
        F.linear(x, w, am.zeros((5,), dtype=am.int32))
    with pytest.raises(ValueError, match="linear: activation must be None or 'relu', got 'gelu'"):
        F.linear(x, w, activation="gelu")



@pytest.mark.parametrize("activation", [None, "relu"])
@pytest.mark.parametrize("x_shape", [(5, 6), (2, 3, 6), (6,)], ids=str)
def test_gradient_matches_finite_differences(rng, x_shape, activation):
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal((4, 6))
    b = rng.standard_normal(4)
    y_shape = x_shape[:-1] + (4,)
    upstream = rng.uniform(-1.5, 1.5, y_shape)

    def f(xv, wv, bv):
        return float((ref_linear(xv, wv, bv, activation) * upstream).sum())

    xt, wt, bt = (am.tensor(a, requires_grad=True) for a in (x, w, b))
    (F.linear(xt, wt, bt, activation) * am.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(to_np(xt.grad), numeric_grad(lambda v: f(v, w, b), x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(to_np(wt.grad), numeric_grad(lambda v: f(x, v, b), w), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(to_np(bt.grad), numeric_grad(lambda v: f(x, w, v), b), rtol=1e-6, atol=1e-8)


def test_gradient_subsets_and_no_bias(rng):
    x, w = rng.standard_normal((5, 3)), rng.standard_normal((2, 3))
    g = np.ones((5, 2))
    # Only the weight requires grad: x gets none.
    xt, wt = am.tensor(x), am.tensor(w, requires_grad=True)
    F.linear(xt, wt).sum().backward()
    assert xt.grad is None
    np.testing.assert_allclose(to_np(wt.grad), g.T @ x, rtol=1e-12)
    # Only x; a bias that needs no gradient.
    xt2, bt = am.tensor(x, requires_grad=True), am.tensor(np.ones(2))
    F.linear(xt2, am.tensor(w), bt).sum().backward()
    np.testing.assert_allclose(to_np(xt2.grad), g @ w, rtol=1e-12)
    assert bt.grad is None
    assert not F.linear(am.tensor(x), am.tensor(w)).requires_grad
    # The saved weight changed in place before the backward is caught.
    w3 = am.tensor(w, requires_grad=True)
    w3_data = w3.detach()
    out = F.linear(am.tensor(x, requires_grad=True), w3)
    w3_data[0, 0] = 2.0
    with pytest.raises(RuntimeError, match="in-place"):
        out.sum().backward()


def test_composes_with_losses(rng):
    """A two-layer MLP trained one step by hand: the gradients agree with finite differences."""
    x, y = rng.standard_normal((8, 5)), rng.standard_normal((8, 2))
    w1, b1, w2 = rng.standard_normal((6, 5)), rng.standard_normal(6), rng.standard_normal((2, 6))

    def f(w1v):
        return float(((ref_linear(ref_linear(x, w1v, b1, "relu"), w2) - y) ** 2).mean())

    t1 = am.tensor(w1, requires_grad=True)
    F.mse_loss(F.linear(F.linear(am.tensor(x), t1, am.tensor(b1), "relu"), am.tensor(w2)), am.tensor(y)).backward()
    np.testing.assert_allclose(to_np(t1.grad), numeric_grad(f, w1), rtol=1e-6, atol=1e-8)


def test_on_device(rng, device):
    x = rng.standard_normal((37, 29)).astype(np.float32)
    w = rng.standard_normal((11, 29)).astype(np.float32)
    b = rng.standard_normal(11).astype(np.float32)
    for activation in [None, "relu"]:
        for dtype in [np.float32, np.float64]:
            xt, wt, bt = (am.tensor(a.astype(dtype), device=device, requires_grad=True) for a in (x, w, b))
            out = F.linear(xt, wt, bt, activation)
            assert out.device.type == device
            np.testing.assert_allclose(to_np(out), ref_linear(x, w, b, activation), rtol=1e-4, atol=1e-4)
            out.sum().backward()
            mask = (ref_linear(x, w, b) > 0) if activation else np.ones((37, 11))
            np.testing.assert_allclose(to_np(xt.grad), mask @ w, rtol=1e-4, atol=1e-4)
            np.testing.assert_allclose(to_np(wt.grad), mask.T @ x, rtol=1e-4, atol=1e-4)
            np.testing.assert_allclose(to_np(bt.grad), mask.sum(axis=0), rtol=1e-4, atol=1e-4)


def test_inference_packs_unchanged_weights_once(rng):
    """ops/cpu/weight_pack_cache.h: a weight seen twice unchanged is packed once and reused; any
    change (an aimass write, load_state_dict, a write through a NumPy view) is seen and repacked."""
    from aimass import _core

    avx512 = _core.get_cpu_isa() == "avx512"
    layer = am.nn.Dense(96, input_shape=(80,))
    x = am.tensor(rng.standard_normal((16, 80)).astype(np.float32))
    w = layer.weight.numpy()
    b = layer.bias.numpy()
    _core._clear_weight_pack_cache()
    before = _core._weight_pack_count()
    with am.no_grad():
        outs = [layer(x).numpy() for _ in range(4)]
    for out in outs:
        np.testing.assert_allclose(out, ref_linear(x.numpy(), w, b), rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(out, outs[0])
    assert _core._weight_pack_count() - before == (1 if avx512 else 0)
    # load_state_dict bumps the version: the next calls see the new weights
    w2 = rng.standard_normal((96, 80)).astype(np.float32)
    layer.load_state_dict({"weight": am.tensor(w2), "bias": layer.bias})
    with am.no_grad():
        for _ in range(3):
            np.testing.assert_allclose(layer(x).numpy(), ref_linear(x.numpy(), w2, b), rtol=1e-5, atol=1e-5)
    # a write straight into the memory (a NumPy view) is caught by the spot check
    view = layer.weight.numpy()
    view[:] = 0.5
    with am.no_grad():
        np.testing.assert_allclose(layer(x).numpy(), ref_linear(x.numpy(), np.full((96, 80), 0.5), b), rtol=1e-5,
                                   atol=1e-4)
    # training changes the weights every step: they are never packed
    model = am.nn.Sequential([am.nn.Dense(32, input_shape=(40,))])
    model.compile(optimizer="sgd", loss="mse")
    count = _core._weight_pack_count()
    model.fit(rng.standard_normal((256, 40)).astype(np.float32), rng.standard_normal((256, 32)).astype(np.float32),
              batch_size=32, epochs=2, verbose=0)
    assert _core._weight_pack_count() == count

"""Quantisation-aware training (am.quant.prepare_qat / convert): the fake-quantisation ops against
NumPy references of the int8 formats, their straight-through gradients numerically, the QAT
layers' ranges, save / load, QAT fine-tuning of the digits CNN and MLP then conversion (accuracy,
and the converted model against its QAT model), and bad input."""
import numpy as np
import pytest

import aimass as am
from aimass._demo import build_model, load_digits_dataset

nn = am.nn
fq_tensor = am._core.quant.fake_quant_per_tensor_u8
fq_channel = am._core.quant.fake_quant_per_channel_s8


# --------------------------------------------------------------------------------------- ops

def _ref_u8(x, scale, zero):
    """NumPy reference: u8 quantise (round half to even of x * (1 / scale), as quant/quantize.h) and dequantise."""
    inv = np.float32(1) / np.float32(scale)
    q = np.clip(np.rint(x.astype(np.float32) * inv) + zero, 0, 255)
    return ((q - zero) * np.float32(scale)).astype(np.float32)


def test_fake_quant_per_tensor_equals_the_numpy_reference():
    rng = np.random.default_rng(0)
    scale, zero = am._core.quant.u8_qparams(-1.5, 3.0)
    x = np.concatenate([rng.uniform(-3, 5, 5000), [0.0, -1.5, 3.0, 100.0, -100.0]]).astype(np.float32)
    x = np.concatenate([x, (np.arange(-20, 280) - zero + 0.5) * np.float32(scale)]).astype(np.float32)  # ties
    y = fq_tensor(am.tensor(x), scale, zero).numpy()
    np.testing.assert_array_equal(y, _ref_u8(x, scale, zero))
    assert y[x == 0].tolist() == [0.0]                                  # zero is exact
    assert y.min() == pytest.approx(-zero * scale) and y.max() == pytest.approx((255 - zero) * scale)
    assert np.unique(np.rint(y / scale)).size <= 256


def test_fake_quant_per_channel_equals_the_int8_weights():
    rng = np.random.default_rng(1)
    w = (rng.standard_normal((6, 3, 3, 3)) * np.array([1, 0.01, 5, 1, 1, 0])[:, None, None, None]).astype(np.float32)
    scales = am._core.quant.weight_scales_s8(am.tensor(w)).numpy()
    q, ref_scales = am._core.quant.quantize_per_channel_s8(am.tensor(w.reshape(6, -1)))
    np.testing.assert_array_equal(scales, ref_scales.numpy())
    assert scales[5] == 1.0                                            # an all-zero channel
    y = fq_channel(am.tensor(w), am.tensor(scales)).numpy()
    np.testing.assert_array_equal(y, (q.numpy().astype(np.float32) * scales[:, None]).reshape(w.shape))
    inv = np.float32(1) / scales
    ref = np.clip(np.rint(w * inv[:, None, None, None]), -127, 127) * scales[:, None, None, None]
    np.testing.assert_array_equal(y, ref.astype(np.float32))


def _grad(fn, x, upstream):
    t = am.tensor(x, requires_grad=True)
    (fn(t) * am.tensor(upstream)).sum().backward()
    return t.grad.numpy()


def test_straight_through_gradient_numerically():
    scale, zero = 0.05, 40                                             # grid [-2.0, 10.75]
    h = 8 * scale                                                      # central differences over 16 grid steps
    inside = np.linspace(-2.0 + 1.5 * h, 10.75 - 1.5 * h, 50)
    outside = np.concatenate([np.linspace(-6, -2.0 - 1.5 * h, 10), np.linspace(10.75 + 1.5 * h, 15, 10)])
    x = np.concatenate([inside, outside]).astype(np.float32)
    g = np.random.default_rng(2).uniform(0.5, 1.5, x.shape).astype(np.float32)
    analytic = _grad(lambda t: fq_tensor(t, scale, zero), x, g)
    f = lambda v: fq_tensor(am.tensor(v.astype(np.float32)), scale, zero).numpy().astype(np.float64)
    numeric = (f(x + h) - f(x - h)) / (2 * h) * g
    # inside the grid the step function's slope over 2h is 1 within (one step) / 2h; outside it is 0
    np.testing.assert_allclose(analytic[:50], numeric[:50], atol=scale / (2 * h) * 1.5 + 1e-6)
    np.testing.assert_array_equal(analytic[50:], 0)
    np.testing.assert_array_equal(numeric[50:], 0)
    np.testing.assert_array_equal(analytic[:50], g[:50])               # the STE: exactly the upstream gradient

    w = np.random.default_rng(3).standard_normal((4, 30)).astype(np.float32)
    s = am._core.quant.weight_scales_s8(am.tensor(w))
    gw = np.random.default_rng(4).standard_normal(w.shape).astype(np.float32)
    np.testing.assert_array_equal(_grad(lambda t: fq_channel(t, s), w, gw), gw)   # every weight is on the grid
    small = am.tensor(s.numpy() / 2)                                   # half the range: the large half clamps
    wg = _grad(lambda t: fq_channel(t, small), w, gw)
    clamped = np.abs(w) > 127.5 * small.numpy()[:, None]
    np.testing.assert_array_equal(wg[clamped], 0)
    np.testing.assert_array_equal(wg[~clamped], gw[~clamped])


# ------------------------------------------------------------------------------ models

@pytest.fixture(scope="module")
def digits():
    x, y = load_digits_dataset()
    return am.data.train_test_split(x, y, test_size=0.25, stratify=y, seed=0)


def _train(model, x, y, epochs, lr=3e-3):
    am.manual_seed(0)
    model.compile(optimizer=am.optim.AdamW(model.parameters(), lr=lr), loss="cross_entropy", metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    return model


@pytest.fixture(scope="module")
def cnn(digits):
    am.manual_seed(0)
    model = build_model()
    model.build((None, 1, 8, 8))
    return _train(model, digits[0], digits[2], 8)


@pytest.fixture(scope="module")
def mlp(digits):
    am.manual_seed(1)
    model = nn.Sequential([nn.Flatten(), nn.Dense(256, activation="relu"), nn.Dense(128, activation="relu"),
                           nn.Dense(10)])
    model.build((None, 1, 8, 8))
    return _train(model, digits[0], digits[2], 12)


def _accuracy(model, x, y):
    return float(np.mean(model.predict(x, batch_size=256).argmax(1) == y))


def test_prepare_replaces_what_static_int8_takes(cnn, digits):
    qat = am.quant.prepare_qat(cnn)
    names = [type(layer).__name__ for layer in qat]
    # the first conv (9 inputs per output) and the 10-way head are too small, as in am.quant.quantize
    assert names[0] == "Conv2D" and names[10] == "Dense"
    assert names[2] == "FakeQuantConv2D" and names[4] == "FakeQuantConv2D" and names[9] == "FakeQuantDense"
    assert type(cnn[2]).__name__ == "Conv2D"                           # the original is untouched
    params = dict(qat.named_parameters())
    assert "2.weight" in params and "9.bias" in params                # float weights, trained by fit
    assert {"2.input_min", "2.input_max", "2.input_batches"} <= set(dict(qat.named_buffers()))
    report = qat.quantization_report
    assert [d.name for d in report.quantized] == ["2", "4", "9"]
    with pytest.raises(ValueError, match="never observed"):           # no calibration, no training yet
        qat.predict(digits[1][:4])


def test_calibrated_qat_model_converts_to_what_quantize_gives(cnn, digits):
    x_cal, x_test = digits[0][:300], digits[1]
    qat = am.quant.prepare_qat(cnn, calibration=x_cal, method="minmax")
    q = am.quant.convert(qat)
    ptq = am.quant.quantize(cnn, x_cal, method="minmax", min_sqnr_db=0)
    assert [type(a).__name__ for a in q] == [type(b).__name__ for b in ptq]
    for d, e in zip(q.quantization_report.quantized, ptq.quantization_report.quantized):
        assert (d.name, d.input_scale, d.input_zero_point) == (e.name, e.input_scale, e.input_zero_point)
    np.testing.assert_array_equal(q.predict(x_test), ptq.predict(x_test))


@pytest.mark.parametrize("which", ["cnn", "mlp"])
def test_qat_fine_tune_then_convert(request, digits, which):
    model = request.getfixturevalue(which)
    x_train, x_test, y_train, y_test = digits
    base = _accuracy(model, x_test, y_test)
    assert base > 0.9
    qat = am.quant.prepare_qat(model, calibration=x_train[:256])
    _train(qat, x_train, y_train, 2, lr=3e-4)                          # the native fit loop
    assert all(int(b.numpy()[0]) > 2 for n, b in qat.named_buffers() if n.endswith("input_batches"))
    q = am.quant.convert(qat)
    report = q.quantization_report
    assert report.quantized and all(d.kind == "int8 static" for d in report.quantized), str(report)
    assert {type(layer).__name__ for layer in q} & {"QuantizedDense", "QuantizedConv2D"}
    int8 = _accuracy(q, x_test, y_test)
    assert int8 >= base - 0.005, (which, base, int8, str(report))
    # The converted model computes on the QAT model's grids: equal up to float rounding (a sum
    # rounded differently can move an activation across a rounding boundary: one grid step there).
    a, b = qat.predict(x_test), q.predict(x_test)
    agreement = float(np.mean(a.argmax(1) == b.argmax(1)))
    max_diff = float(np.abs(a - b).max())
    assert agreement >= 0.995, (agreement, max_diff)
    assert max_diff <= 0.005 * float(np.abs(a).max()), (agreement, max_diff, float(np.abs(a).max()))
    assert float(np.abs(a - b).mean()) <= 1e-4 * float(np.abs(a).max())


def test_ranges_move_with_training_and_freeze_in_eval():
    am.manual_seed(5)
    model = nn.Sequential([nn.Dense(64, activation="relu", input_shape=(32,)), nn.Dense(64), nn.Dense(3)])
    model.build((None, 32))
    x = np.random.default_rng(5).standard_normal((128, 32)).astype(np.float32)
    qat = am.quant.prepare_qat(model, calibration=x, min_layer_size=0)
    assert [type(layer).__name__ for layer in qat] == ["FakeQuantDense"] * 3
    lo, hi = float(qat[0].input_min.numpy()[0]), float(qat[0].input_max.numpy()[0])
    assert (lo, hi) == (pytest.approx(x.min()), pytest.approx(x.max()))  # one calibration batch
    qat.predict(3 * x)                                                 # eval: frozen
    assert float(qat[0].input_max.numpy()[0]) == pytest.approx(hi)
    qat.compile(optimizer="sgd", loss="cross_entropy")
    qat.fit(3 * x, np.arange(128) % 3, epochs=1, batch_size=32, verbose=0)   # 4 batches at momentum 0.01
    moved = float(qat[0].input_max.numpy()[0])
    assert hi < moved < 3 * hi
    assert int(qat[0].input_batches.numpy()[0]) == 5


def test_save_load_round_trip(digits, tmp_path, mlp):
    qat = am.quant.prepare_qat(mlp, calibration=digits[0][:128], method="minmax", momentum=0.1)
    path = str(tmp_path / "qat.safetensors")
    qat.save(path)
    again = am.load(path)
    assert [type(a).__name__ for a in again] == [type(b).__name__ for b in qat]
    assert again[1].get_config() == qat[1].get_config() and again[1].get_config()["method"] == "minmax"
    for (n, t), (m, u) in zip(sorted(dict(again.named_buffers()).items()), sorted(dict(qat.named_buffers()).items())):
        assert n == m
        np.testing.assert_array_equal(t.numpy(), u.numpy())
    np.testing.assert_array_equal(again.predict(digits[1]), qat.predict(digits[1]))
    np.testing.assert_array_equal(am.quant.convert(again).predict(digits[1]), am.quant.convert(qat).predict(digits[1]))


def test_bad_input(mlp, digits):
    x = digits[0][:64].copy()
    with pytest.raises(ValueError, match="no QAT layers"):
        am.quant.convert(mlp)                                          # not prepared
    with pytest.raises(ValueError, match="never observed"):
        am.quant.convert(am.quant.prepare_qat(mlp))                    # prepared, neither calibrated nor trained
    with pytest.raises(ValueError, match="method"):
        am.quant.prepare_qat(mlp, method="entropy")
    with pytest.raises(ValueError, match="momentum"):
        am.quant.prepare_qat(mlp, momentum=0)
    with pytest.raises(TypeError):
        am.quant.prepare_qat("model")
    bad = x.copy()
    bad[3, 0, 2, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        am.quant.prepare_qat(mlp, calibration=bad)
    qat = am.quant.prepare_qat(mlp, calibration=x)
    qat.compile(optimizer="sgd", loss="cross_entropy")
    with pytest.raises(ValueError, match="finite"):
        qat.fit(bad, np.zeros(64, np.int64), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="finite"):                    # a diverged weight
        qat = am.quant.prepare_qat(mlp, calibration=x)
        w = qat[1].weight.numpy().copy()
        w[0, 0] = np.nan
        qat[1].load_state_dict({**dict(qat[1].state_dict()), "weight": am.tensor(w)})
        am.quant.convert(qat)
    with pytest.raises(ValueError, match="momentum"):
        nn.FakeQuantDense(4, 8, momentum=1.5)
    with pytest.raises(NotImplementedError, match="grouped"):
        nn.FakeQuantConv2D(4, 3, groups=2, in_channels=4)
    with pytest.raises(ValueError, match="scale"):
        fq_tensor(am.tensor(np.ones(3, np.float32)), 0.0, 0)
    with pytest.raises(ValueError, match="zero point"):
        fq_tensor(am.tensor(np.ones(3, np.float32)), 0.1, 300)

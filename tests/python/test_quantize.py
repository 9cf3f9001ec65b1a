"""am.quant on whole models: int8 dynamic / static and int4 / int8 weight-only quantisation of the
digits CNN and MLP within the accuracy bars of issue 12, the report of what stayed float and
why, BatchNorm folding, saving and loading, 16-bit models, serving a quantised model, threads,
and bad input."""
import concurrent.futures
import json
import os

import numpy as np
import pytest

import aimass as am
from aimass._demo import build_model, load_digits_dataset

nn = am.nn


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits_dataset()
    return am.data.train_test_split(x, y, test_size=0.25, stratify=y, seed=0)


def _train(model, x, y, epochs):
    am.manual_seed(0)
    model.compile(optimizer=am.optim.AdamW(model.parameters(), lr=3e-3), loss="cross_entropy", metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    return model


@pytest.fixture(scope="module")
def cnn(digits):
    x_train, _, y_train, _ = digits
    am.manual_seed(0)
    model = build_model()
    model.build((None, 1, 8, 8))
    return _train(model, x_train, y_train, 10)


@pytest.fixture(scope="module")
def mlp(digits):
    x_train, _, y_train, _ = digits
    am.manual_seed(1)
    model = nn.Sequential([nn.Flatten(), nn.Dense(256, activation="relu"), nn.Dense(128, activation="relu"),
                           nn.Dense(10)])
    model.build((None, 1, 8, 8))
    return _train(model, x_train, y_train, 15)


def _accuracy(model, x, y):
    return float(np.mean(model.predict(x, batch_size=256).argmax(1) == y))


@pytest.mark.parametrize("which", ["cnn", "mlp"])
@pytest.mark.parametrize("how", ["dynamic", "static-minmax", "static-percentile", "static-entropy", "int4", "int8wo"])
def test_accuracy_bars(request, digits, which, how):
    model = request.getfixturevalue(which)
    x_train, x_test, _, y_test = digits
    if how == "dynamic":
        q, bar = am.quant.quantize_dynamic(model), 0.5
    elif how.startswith("static"):
        q, bar = am.quant.quantize(model, x_train[:400], method=how.split("-")[1]), 0.5
    elif how == "int4":
        q, bar = am.quant.quantize_weight_only(model, bits=4, group_size=32), 1.5
    else:
        q, bar = am.quant.quantize_weight_only(model, bits=8, group_size=64), 0.5
    base = _accuracy(model, x_test, y_test)
    assert base > 0.9
    quantised = _accuracy(q, x_test, y_test)
    assert quantised >= base - bar / 100, (how, which, base, quantised, str(q.quantization_report))
    assert q.quantization_report.quantized, str(q.quantization_report)
    cmp = am.quant.compare(model, q, x_test, y_test)
    assert cmp["accuracy_change_points"] == pytest.approx(100 * (quantised - base))
    assert cmp["argmax_agreement"] > 0.97


def test_static_report_and_layers(cnn, digits):
    x_train = digits[0]
    q = am.quant.quantize(cnn, x_train[:300])
    report = q.quantization_report
    kinds = {d.name: (d.layer, d.kind) for d in report.layers}
    # the first conv (9 inputs per output) and the 10-way head (1,280 multiply-adds) are too small
    assert kinds["0"] == ("Conv2D", "float") and "too small" in report.layers[0].reason
    assert kinds["10"] == ("Dense", "float")
    assert kinds["2"] == ("Conv2D", "int8 static") and kinds["9"] == ("Dense", "int8 static")
    assert type(q[2]).__name__ == "QuantizedConv2D" and type(q[9]).__name__ == "QuantizedDense"
    for d in report.quantized:
        assert d.sqnr_db > 25 and d.input_scale > 0 and 0 <= d.input_zero_point <= 255
    text = str(report)
    assert "QuantizationReport" in text and "too small" in text
    json.dumps(report.to_dict())
    # the original is untouched
    assert type(cnn[2]).__name__ == "Conv2D"


def test_min_sqnr_keeps_lossy_layers_float(cnn, digits):
    q = am.quant.quantize(cnn, digits[0][:200], min_sqnr_db=200.0)
    assert not q.quantization_report.quantized
    assert all("SQNR" in d.reason or "too small" in d.reason for d in q.quantization_report.layers)
    np.testing.assert_allclose(q.predict(digits[1][:50]), cnn.predict(digits[1][:50]), rtol=1e-4, atol=1e-4)


def test_fold_batchnorm_and_relu_equal_float():
    am.manual_seed(3)
    model = nn.Sequential([nn.Conv2D(8, 3, padding="same"), nn.BatchNorm2D(), nn.ReLU(), nn.Flatten(),
                           nn.Dense(16), nn.BatchNorm1D(), nn.Activation("relu"), nn.Dense(4)])
    model.build((None, 2, 6, 6))
    x = np.random.default_rng(0).standard_normal((64, 2, 6, 6)).astype(np.float32)
    model.compile(optimizer="adam", loss="cross_entropy")
    model.fit(x, np.arange(64) % 4, epochs=2, verbose=0)      # running statistics away from (0, 1)
    fused = am.quant.fuse_for_inference(model)
    names = [type(layer).__name__ for layer in fused]
    assert names == ["Conv2D", "Flatten", "Dense", "Dense"]
    assert fused[0].get_config()["activation"] == "relu" and fused[2].get_config()["activation"] == "relu"
    np.testing.assert_allclose(fused.predict(x), model.predict(x), rtol=1e-4, atol=1e-5)
    q = am.quant.quantize(model, x, min_layer_size=0)
    assert "folded" in q.quantization_report.notes[0]
    np.testing.assert_allclose(q.predict(x), model.predict(x), atol=0.1 * np.abs(model.predict(x)).max())


def test_save_load_and_serve_a_quantised_model(cnn, digits, tmp_path):
    x_test = digits[1]
    for q in (am.quant.quantize(cnn, digits[0][:200]), am.quant.quantize_dynamic(cnn),
              am.quant.quantize_weight_only(cnn, bits=4, group_size=64)):
        path = str(tmp_path / "q.safetensors")
        q.save(path)
        again = am.load(path)
        np.testing.assert_array_equal(again.predict(x_test), q.predict(x_test))
        assert [type(a).__name__ for a in again] == [type(b).__name__ for b in q]
    # int4 weights: the file is much smaller than float32's
    f32 = str(tmp_path / "f32.safetensors")
    cnn.save(f32, include_optimizer=False)
    wide = nn.Sequential([nn.Dense(512, input_shape=(512,)), nn.Dense(512)])
    wide.save(str(tmp_path / "wide.safetensors"), include_optimizer=False)
    am.quant.quantize_weight_only(wide, bits=4).save(str(tmp_path / "wide4.safetensors"), include_optimizer=False)
    ratio = os.path.getsize(tmp_path / "wide.safetensors") / os.path.getsize(tmp_path / "wide4.safetensors")
    assert ratio > 6

    # served by aimass serve, answers equal predict
    import urllib.request

    q = am.quant.quantize(cnn, digits[0][:200])
    root = tmp_path / "repo"
    (root / "digits_int8" / "1").mkdir(parents=True)
    q.save(str(root / "digits_int8" / "1" / "model.safetensors"))
    x = x_test[:5]
    body = json.dumps({"inputs": [{"name": "input", "shape": list(x.shape), "datatype": "FP32",
                                   "data": x.ravel().tolist()}]}).encode()
    with am.serve.Server(str(root), http_port=0, grpc_port=None, metrics_port=None) as server:
        request = urllib.request.Request(f"http://127.0.0.1:{server.http_port}/v2/models/digits_int8/infer", body,
                                         {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
    out = np.array(answer["outputs"][0]["data"], np.float32).reshape(answer["outputs"][0]["shape"])
    np.testing.assert_allclose(out, q.predict(x), rtol=1e-5, atol=1e-5)


def test_quantised_weights_repack_after_load_state_dict():
    layer = nn.QuantizedDense(4, 32)
    x = am.tensor(np.ones((2, 32), np.float32))
    np.testing.assert_array_equal(layer(x).numpy(), np.zeros((2, 4)))
    state = layer.state_dict()
    w = np.zeros((4, 32), np.int8)
    w[1] = 1
    layer.load_state_dict({**state, "weight": am.tensor(w)})
    y = layer(x).numpy()
    assert y[0, 1] == pytest.approx(32.0, rel=0.01) and y[0, 0] == 0


def test_quantised_model_predicts_from_many_threads(cnn, digits):
    q = am.quant.quantize(cnn, digits[0][:200])
    x = digits[1][:64]
    expected = q.predict(x)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: q.predict(x, batch_size=8), range(8)))
    for r in results:
        np.testing.assert_array_equal(r, expected)


def test_functional_model_quantises():
    am.manual_seed(0)
    inp = nn.Input((64,))
    h = nn.Dense(128, activation="relu")(inp)
    out = nn.Dense(64)(h)
    model = nn.Model(inp, out)
    x = np.random.default_rng(0).standard_normal((100, 64)).astype(np.float32)
    for q in (am.quant.quantize(model, x), am.quant.quantize_dynamic(model)):
        kinds = [d.kind for d in q.quantization_report.layers]
        assert kinds.count("float") == 0, str(q.quantization_report)
        ref = model.predict(x)
        assert np.abs(q.predict(x) - ref).max() < 0.05 * np.abs(ref).max()


def test_sixteen_bit_models(cnn, digits):
    x_test, y_test = digits[1], digits[3]
    for dtype, bar in ((am.float16, 0.5), (am.bfloat16, 1.0)):
        m = _copy(cnn)  # keep the trained model: convert a copy
        m.to(dtype)
        assert all(p.dtype == dtype for p in m.parameters())
        out = m.predict(x_test)
        assert out.dtype == (np.float16 if dtype == am.float16 else out.dtype)
        cmp = am.quant.compare(cnn, m, x_test, y_test)
        assert cmp["accuracy_change_points"] >= -bar
        m.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"])
        assert m.evaluate(x_test, y_test)["accuracy"] == pytest.approx(cmp["candidate_accuracy"], abs=0.01)


def _copy(model):
    from aimass.quant._graph import rebuild

    return rebuild(model, lambda path, layer: None)


def test_bad_input(cnn, digits):
    x_train = digits[0]
    with pytest.raises(ValueError, match="calibration set is empty"):
        am.quant.quantize(cnn, x_train[:0])
    bad = x_train[:50].copy()
    bad[3, 0, 2, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        am.quant.quantize(cnn, bad)
    with pytest.raises(ValueError, match="does not fit the model"):
        am.quant.quantize(cnn, np.zeros((10, 3, 8, 8), np.float32))
    with pytest.raises(ValueError, match="method must be one of"):
        am.quant.quantize(cnn, x_train[:10], method="median")
    with pytest.raises(ValueError, match="not built"):
        am.quant.quantize_dynamic(nn.Sequential([nn.Dense(4)]))
    with pytest.raises(TypeError, match="expected an aimass model"):
        am.quant.quantize_dynamic("model.safetensors")
    with pytest.raises(ValueError, match="bits must be 4 or 8"):
        am.quant.quantize_weight_only(cnn, bits=2)
    with pytest.raises(ValueError, match="group_size"):
        am.quant.quantize_weight_only(cnn, group_size=100)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Dense(8, input_shape=(4,))

        def forward(self, x):
            return self.fc(x)

    with pytest.raises(NotImplementedError, match="subclassed in Python"):
        am.quant.quantize_dynamic(Net())
    layer = nn.QuantizedConv2D(4, 3, in_channels=2)
    with pytest.raises(ValueError, match="not calibrated"):
        layer(am.tensor(np.zeros((1, 2, 5, 5), np.float32)))
    with pytest.raises(ValueError, match="2 channels"):
        layer(am.tensor(np.zeros((1, 3, 5, 5), np.float32)))
    grouped = nn.Sequential([nn.Conv2D(8, 3, groups=2, input_shape=(4, 6, 6)), nn.Flatten(), nn.Dense(4)])
    q = am.quant.quantize(grouped, np.ones((4, 4, 6, 6), np.float32), min_layer_size=0)
    assert q.quantization_report.layers[0].reason == "grouped convolution has no int8 kernel"


def test_the_demo_compression_stage(cnn, digits, tmp_path, capsys):
    from aimass._demo_quant import run_compress_stage

    x_train, x_test, _, y_test = digits
    result = run_compress_stage(cnn, x_train, x_test, y_test, str(tmp_path / "cnn.safetensors"))
    assert result["reloaded_identical"] and os.path.exists(result["path"])
    assert result["accuracy_change_points"] >= -0.5
    out = capsys.readouterr().out
    assert "static int8" in out and "reloaded predictions identical: True" in out


def test_dynamic_quantises_attention_blocks_and_embeddings(tmp_path):
    am.manual_seed(0)
    model = nn.Sequential([nn.Embedding(50, 32), nn.TransformerBlock(32, 4, mlp_dim=64, activation="relu"),
                           nn.MultiHeadAttention(32, 4)])
    tokens = np.random.default_rng(0).integers(0, 50, (6, 10))
    ref = model.predict(tokens)
    q = am.quant.quantize_dynamic(model)
    assert [d.layer for d in q.quantization_report.quantized] == ["Embedding", "TransformerBlock", "MultiHeadAttention"]
    assert type(q[0]).__name__ == "QuantizedEmbedding"
    kinds = {name: type(m).__name__ for name, m in q.named_modules()}
    assert kinds["1.attn.q_proj"] == "QuantizedDense" and kinds["1.fc1"] == "QuantizedDense"
    assert kinds["2.out_proj"] == "QuantizedDense" and kinds["1.ln1"] == "LayerNorm"
    out = q.predict(tokens)
    assert np.abs(out - ref).max() < 0.05 * np.abs(ref).max()
    path = str(tmp_path / "t.safetensors")
    q.save(path)
    np.testing.assert_array_equal(am.load(path).predict(tokens), out)
    with pytest.raises(IndexError, match="out of range"):
        q.predict(np.full((1, 3), 50))

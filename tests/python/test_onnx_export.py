"""am.onnx.export: every supported layer type exported and run by ONNX Runtime against
model.predict (max abs error < 1e-4, at batch 1 and 7), the demo's digits CNN and an MLP, a
functional model of two inputs and two outputs, and the errors (unsupported layer, no input
shape, missing folder)."""
from __future__ import annotations

import os

import numpy as np
import pytest

import aimass as am

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
nn = am.nn

TOLERANCE = 1e-4


def _run_ort(path, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, inputs)


def _random_stats(model) -> None:
    """Non-trivial running statistics for every BatchNorm (fresh ones are 0 and 1)."""
    rng = np.random.default_rng(1)
    state = {}
    for name, t in model.state_dict().items():
        if name.endswith("running_mean"):
            state[name] = rng.standard_normal(t.shape).astype(np.float32)
        elif name.endswith("running_var"):
            state[name] = rng.uniform(0.5, 2.0, t.shape).astype(np.float32)
        elif name.endswith("bias"):
            state[name] = rng.standard_normal(t.shape).astype(np.float32) * 0.1
    model.load_state_dict(state, strict=False)


def _inputs(shape, batch, dtype="float32", high=10, seed=0):
    rng = np.random.default_rng(seed + batch)
    if np.dtype(dtype).kind == "i":
        return rng.integers(0, high, size=(batch, *shape)).astype(dtype)
    return rng.standard_normal((batch, *shape)).astype(np.float32)


def _export_and_compare(model, tmp_path, shape, dtype="float32", batches=(1, 7), **kwargs) -> float:
    path = tmp_path / "model.onnx"
    am.onnx.export(model, path, **kwargs)
    loaded = onnx.load(str(path))
    onnx.checker.check_model(loaded)
    worst = 0.0
    for batch in batches:
        x = _inputs(shape, batch, dtype)
        (got,) = _run_ort(path, {loaded.graph.input[0].name: x})
        expected = model.predict(x)
        assert got.shape == expected.shape
        err = float(np.max(np.abs(got - expected)))
        assert err < TOLERANCE, f"batch {batch}: max abs error {err}"
        worst = max(worst, err)
    return worst


# (id, layers, per-sample input shape, input dtype)
CASES = [
    ("dense", lambda: [nn.Dense(5)], (6,), "float32"),
    ("dense_relu_no_bias", lambda: [nn.Dense(5, activation="relu", use_bias=False)], (6,), "float32"),
    ("dense_3d", lambda: [nn.Dense(4, activation="tanh")], (3, 6), "float32"),
    ("conv2d_valid", lambda: [nn.Conv2D(4, 3)], (2, 8, 8), "float32"),
    ("conv2d_same_stride2", lambda: [nn.Conv2D(4, 3, strides=2, padding="same", activation="relu")], (2, 9, 8),
     "float32"),
    ("conv2d_same_even_kernel", lambda: [nn.Conv2D(3, 4, padding="same")], (2, 7, 7), "float32"),
    ("conv2d_pad_dilation", lambda: [nn.Conv2D(4, (3, 2), padding=(1, 2), dilation=2)], (2, 9, 9), "float32"),
    ("conv2d_groups", lambda: [nn.Conv2D(6, 3, groups=2, padding="same", activation="silu")], (4, 6, 6), "float32"),
    ("conv1d", lambda: [nn.Conv1D(4, 3, strides=2, padding="same", activation="gelu")], (3, 11), "float32"),
    ("maxpool", lambda: [nn.MaxPool2D(2)], (3, 8, 8), "float32"),
    ("maxpool_pad_ceil", lambda: [nn.MaxPool2D(3, strides=2, padding=1, ceil_mode=True)], (2, 8, 9), "float32"),
    ("avgpool", lambda: [nn.AvgPool2D(2)], (3, 8, 8), "float32"),
    ("avgpool_pad_exclude", lambda: [nn.AvgPool2D(3, strides=1, padding=1, count_include_pad=False)], (2, 6, 6),
     "float32"),
    ("avgpool_pad_include", lambda: [nn.AvgPool2D(3, strides=2, padding=1)], (2, 7, 7), "float32"),
    ("global_avgpool", lambda: [nn.GlobalAveragePooling2D()], (3, 5, 4), "float32"),
    ("global_avgpool_keepdims", lambda: [nn.GlobalAveragePooling2D(keepdims=True)], (3, 5, 4), "float32"),
    ("batchnorm2d", lambda: [nn.BatchNorm2D()], (3, 4, 4), "float32"),
    ("batchnorm1d", lambda: [nn.BatchNorm1D()], (5,), "float32"),
    ("batchnorm1d_3d", lambda: [nn.BatchNorm1D(affine=False)], (4, 6), "float32"),
    ("layernorm", lambda: [nn.LayerNorm()], (3, 8), "float32"),
    ("layernorm_2d_shape", lambda: [nn.LayerNorm((3, 8), elementwise_affine=False)], (3, 8), "float32"),
    ("dropout", lambda: [nn.Dropout(0.5), nn.Dense(3)], (4,), "float32"),
    ("flatten", lambda: [nn.Flatten()], (2, 3, 4), "float32"),
    ("flatten_partial", lambda: [nn.Flatten(start_axis=2)], (2, 3, 4), "float32"),
    ("reshape", lambda: [nn.Reshape((4, -1))], (2, 3, 4), "float32"),
    ("embedding", lambda: [nn.Embedding(10, 4)], (5,), "int64"),
    ("relu", lambda: [nn.ReLU()], (7,), "float32"),
    ("leaky_relu", lambda: [nn.LeakyReLU(0.2)], (7,), "float32"),
    ("gelu", lambda: [nn.GELU()], (7,), "float32"),
    ("gelu_tanh", lambda: [nn.GELU("tanh")], (7,), "float32"),
    ("silu", lambda: [nn.SiLU()], (7,), "float32"),
    ("sigmoid", lambda: [nn.Sigmoid()], (7,), "float32"),
    ("tanh", lambda: [nn.Tanh()], (7,), "float32"),
    ("softmax", lambda: [nn.Softmax()], (7,), "float32"),
    ("softmax_axis1", lambda: [nn.Softmax(axis=1)], (3, 4), "float32"),
    ("log_softmax", lambda: [nn.LogSoftmax()], (7,), "float32"),
    ("activation_by_name", lambda: [nn.Activation("leaky_relu")], (7,), "float32"),
    ("dense_fused_softmax", lambda: [nn.Dense(4, activation="softmax")], (6,), "float32"),
    ("dense_fused_gelu_tanh", lambda: [nn.Dense(4, activation="gelu_tanh")], (6,), "float32"),
    ("multi_head_attention", lambda: [nn.MultiHeadAttention(8, 2)], (5, 8), "float32"),
    ("multi_head_attention_no_bias", lambda: [nn.MultiHeadAttention(8, 4, bias=False)], (3, 8), "float32"),
    ("transformer_block", lambda: [nn.TransformerBlock(8, 2)], (5, 8), "float32"),
    ("transformer_block_causal", lambda: [nn.TransformerBlock(8, 2, causal=True, activation="relu")], (5, 8),
     "float32"),
    ("nested_sequential", lambda: [nn.Sequential([nn.Dense(4), nn.ReLU()]), nn.Dense(2)], (3,), "float32"),
]


@pytest.mark.parametrize("layers, shape, dtype", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_layer_exports_and_matches_predict(tmp_path, layers, shape, dtype):
    am.manual_seed(0)
    model = nn.Sequential(layers())
    model(am.asarray(_inputs(shape, 2, dtype)))  # builds it and records the input shape
    _random_stats(model)
    _export_and_compare(model, tmp_path, shape, dtype)


def test_digits_cnn_exports(tmp_path):
    from aimass._demo import build_model

    am.manual_seed(0)
    model = build_model()
    model.build((None, 1, 8, 8))
    _random_stats(model)
    _export_and_compare(model, tmp_path, (1, 8, 8))
    graph_ops = {n.op_type for n in onnx.load(str(tmp_path / "model.onnx")).graph.node}
    assert {"Conv", "BatchNormalization", "MaxPool", "Relu", "Gemm"} <= graph_ops
    assert "Dropout" not in graph_ops


def test_mlp_exports_trained(tmp_path):
    am.manual_seed(0)
    model = nn.Sequential([nn.Dense(16, activation="relu"), nn.Dense(16, activation="gelu"), nn.Dense(3)])
    x = _inputs((4,), 64)
    y = np.random.default_rng(0).integers(0, 3, 64)
    model.compile(optimizer="adam", loss="cross_entropy")
    model.fit(x, y, epochs=2, verbose=0)
    _export_and_compare(model, tmp_path, (4,))


def test_dynamic_batch_is_symbolic_and_static_batch_is_one(tmp_path):
    model = nn.Sequential([nn.Dense(3)])
    model.build((None, 4))
    dynamic = am.onnx.export(model, tmp_path / "d.onnx")
    assert dynamic.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert dynamic.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    static = am.onnx.export(model, tmp_path / "s.onnx", dynamic_batch=False)
    assert static.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 1
    _export_and_compare(model, tmp_path, (4,), batches=(1,), dynamic_batch=False)


def test_functional_two_inputs_two_outputs_residual(tmp_path):
    am.manual_seed(0)
    a = nn.Input(shape=(6,), name="a")
    b = nn.Input(shape=(1, 6, 6), name="image")
    h = nn.Dense(6, activation="relu")(a)
    res = nn.Add()([a, h])                                      # residual
    conv = nn.Flatten()(nn.Conv2D(2, 3, padding="same", activation="relu")(b))   # (None, 72)
    joined = nn.Concatenate()([res, conv])
    out1 = nn.Dense(3, activation="softmax")(joined)
    out2 = nn.Dense(2)(nn.Multiply()([res, nn.Dense(6, activation="sigmoid")(res)]))
    model = nn.Model(inputs=[a, b], outputs=[out1, out2])
    path = tmp_path / "f.onnx"
    proto = am.onnx.export(model, path)
    assert [i.name for i in proto.graph.input] == ["a", "image"]
    assert [o.name for o in proto.graph.output] == model.output_names
    for batch in (1, 7):
        xa, xb = _inputs((6,), batch), _inputs((1, 6, 6), batch, seed=5)
        got = _run_ort(path, {"a": xa, "image": xb})
        expected = model.predict([xa, xb])
        for g, e in zip(got, expected):
            assert float(np.max(np.abs(g - e))) < TOLERANCE


@pytest.mark.parametrize("merge", [nn.Subtract, nn.Average, nn.Maximum, nn.Minimum, nn.Multiply, nn.Add])
def test_merge_layers(tmp_path, merge):
    a, b = nn.Input(shape=(5,)), nn.Input(shape=(5,))
    n = 2 if merge is nn.Subtract else 3
    ins = [a, b, nn.Dense(5)(a)][:n]
    model = nn.Model(inputs=[a, b], outputs=nn.Dense(2)(merge()(ins)))
    path = tmp_path / "m.onnx"
    am.onnx.export(model, path)
    xa, xb = _inputs((5,), 4), _inputs((5,), 4, seed=3)
    (got,) = _run_ort(path, dict(zip(model._graph["input_names"], [xa, xb])))
    assert float(np.max(np.abs(got - model.predict([xa, xb])))) < TOLERANCE


def test_functional_embedding_and_attention(tmp_path):
    am.manual_seed(0)
    ids = nn.Input(shape=(6,), dtype="int64", name="tokens")
    h = nn.Embedding(20, 8)(ids)                                 # (None, 6, 8)
    # MultiHeadAttention's own __call__ takes tensors (query, key, value): in a graph it sits in a Sequential
    h = nn.Add()([h, nn.Sequential([nn.LayerNorm(), nn.MultiHeadAttention(8, 2)])(h)])
    y = nn.Dense(3)(nn.Flatten()(h))
    model = nn.Model(inputs=ids, outputs=y)
    path = tmp_path / "t.onnx"
    am.onnx.export(model, path)
    x = np.random.default_rng(0).integers(0, 20, (7, 6)).astype(np.int64)
    (got,) = _run_ort(path, {"tokens": x})
    assert float(np.max(np.abs(got - model.predict(x)))) < TOLERANCE


def test_functional_model_nested_as_layer(tmp_path):
    inner_in = nn.Input(shape=(4,))
    inner = nn.Model(inputs=inner_in, outputs=nn.Dense(4, activation="relu")(inner_in))
    x = nn.Input(shape=(4,))
    model = nn.Model(inputs=x, outputs=nn.Dense(2)(inner(x)))
    _export_and_compare(model, tmp_path, (4,))


def test_input_and_output_names(tmp_path):
    model = nn.Sequential([nn.Dense(3)])
    model.build((None, 4))
    proto = am.onnx.export(model, tmp_path / "n.onnx", input_names=["features"], output_names=["logits"])
    assert proto.graph.input[0].name == "features" and proto.graph.output[0].name == "logits"
    with pytest.raises(ValueError, match="output_names"):
        am.onnx.export(model, tmp_path / "n.onnx", output_names=["a", "b"])


class _PythonLayer(am.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Dense(3)

    def forward(self, x):
        return self.fc(x) * 2


def test_unsupported_layer_names_type_and_path(tmp_path):
    model = nn.Sequential([nn.Dense(4), nn.ReLU(), _PythonLayer()])
    model.build((None, 4))
    with pytest.raises(NotImplementedError, match=r"model\.layers\[2\] \(_PythonLayer\).*Dense"):
        am.onnx.export(model, tmp_path / "u.onnx")
    assert not (tmp_path / "u.onnx").exists()


def test_unsupported_layer_in_functional_model(tmp_path):
    x = nn.Input(shape=(4,))
    model = nn.Model(inputs=x, outputs=_PythonLayer()(nn.Dense(4)(x)))
    with pytest.raises(NotImplementedError, match=r"model\.layers\[1\] \(_PythonLayer\)"):
        am.onnx.export(model, tmp_path / "u.onnx")


def test_batchnorm_without_running_stats_is_refused(tmp_path):
    model = nn.Sequential([nn.BatchNorm1D(track_running_stats=False)])
    model(am.randn((3, 4)))
    with pytest.raises(NotImplementedError, match="track_running_stats"):
        am.onnx.export(model, tmp_path / "b.onnx")


def test_no_input_shape_is_a_value_error(tmp_path):
    model = nn.Sequential([nn.Dense(3), nn.ReLU()])
    with pytest.raises(ValueError, match="input_shape"):
        am.onnx.export(model, tmp_path / "x.onnx")


def test_input_shape_argument_builds_and_exports(tmp_path):
    model = nn.Sequential([nn.Flatten(), nn.Dense(3)])
    am.onnx.export(model, tmp_path / "x.onnx", input_shape=(2, 3))  # sizes the lazily built Dense
    _export_and_compare(model, tmp_path, (2, 3), input_shape=(2, 3))
    model(am.randn((1, 2, 3)))  # now the model records its input shape
    with pytest.raises(ValueError, match="does not match"):
        am.onnx.export(model, tmp_path / "x.onnx", input_shape=(5,))


def test_missing_folder_is_a_clear_error(tmp_path):
    model = nn.Sequential([nn.Dense(3)])
    model.build((None, 4))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        am.onnx.export(model, tmp_path / "no" / "such" / "m.onnx")


def test_written_file_loads_and_passes_checker(tmp_path):
    model = nn.Sequential([nn.Conv2D(2, 3), nn.Flatten(), nn.Dense(2)])
    model.build((None, 1, 5, 5))
    path = tmp_path / "c.onnx"
    am.onnx.export(model, path, check=False)
    loaded = onnx.load(str(path))
    onnx.checker.check_model(loaded, full_check=True)
    assert loaded.opset_import[0].version == 17
    assert [p for p in os.listdir(tmp_path) if p.endswith(".tmp")] == []


def test_a_wrong_export_raises_and_writes_nothing(tmp_path, monkeypatch):
    from aimass.onnx import _layers

    model = nn.Sequential([nn.Dense(3)])
    model.build((None, 4))
    def wrong(b, layer, xs, shapes, out_shape, name):  # a Dense converter that forgets it is linear
        return b.op("Relu", [_layers.dense(b, layer, xs, shapes, out_shape, name)], name)

    monkeypatch.setitem(_layers.CONVERTERS, am._core.nn.Dense, wrong)
    with pytest.raises(RuntimeError, match=r"output 'output' differs.*max abs error"):
        am.onnx.export(model, tmp_path / "w.onnx")
    assert os.listdir(tmp_path) == []


def test_export_does_not_change_the_model(tmp_path):
    from aimass._demo import build_model

    model = build_model()
    model.build((None, 1, 8, 8))
    model.train()
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    am.onnx.export(model, tmp_path / "d.onnx")
    assert model.training and all(m.training for m in model.modules())
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(np.array_equal(before[k], after[k].numpy()) for k in before)
    model.eval()
    am.onnx.export(model, tmp_path / "d.onnx")
    assert not model.training


def test_onnx_is_imported_lazily():
    import subprocess
    import sys

    code = "import sys, aimass; assert 'onnx' not in sys.modules and 'aimass.onnx' not in sys.modules; " \
           "aimass.onnx.export; assert 'aimass.onnx' in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("opset", [13, 17, 18, 20, 21])
def test_opsets(tmp_path, opset):
    am.manual_seed(0)
    model = nn.Sequential([nn.Conv1D(4, 3, activation="gelu"), nn.Flatten(), nn.Dense(8, activation="gelu_tanh"),
                           nn.Dense(3, activation="softmax")])
    model.build((None, 2, 6))
    _export_and_compare(model, tmp_path, (2, 6), opset=opset)
    ops = {n.op_type for n in onnx.load(str(tmp_path / "model.onnx")).graph.node}
    assert ("Gelu" in ops) == (opset >= 20)


def test_layernorm_needs_opset_17(tmp_path):
    model = nn.Sequential([nn.LayerNorm()])
    model.build((None, 4))
    with pytest.raises(NotImplementedError, match="opset 17"):
        am.onnx.export(model, tmp_path / "l.onnx", opset=13)


def test_float64_model_is_refused(tmp_path):
    model = nn.Sequential([nn.Dense(3)])
    model.build((None, 4))
    model.to(am.float64)
    with pytest.raises(NotImplementedError, match="float32"):
        am.onnx.export(model, tmp_path / "f.onnx")


def test_missing_onnx_package_says_what_to_install(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    model = nn.Sequential([nn.Dense(3)])
    model.build((None, 4))
    with pytest.raises(ImportError, match="pip install onnx onnxruntime"):
        am.onnx.export(model, tmp_path / "m.onnx")


def test_shared_layer_is_stored_once(tmp_path):
    x = nn.Input(shape=(4,))
    shared = nn.Dense(4, activation="tanh")
    model = nn.Model(inputs=x, outputs=shared(shared(x)))
    _export_and_compare(model, tmp_path, (4,))
    weights = [i for i in onnx.load(str(tmp_path / "model.onnx")).graph.initializer if i.dims == [4, 4]]
    assert len(weights) == 1

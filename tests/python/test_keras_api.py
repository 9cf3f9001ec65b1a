"""What Keras users write first: optimizers bound by compile, model.summary(), the functional API,
input_shape=, and Keras's crossentropy losses (values against NumPy references of Keras's formulas)."""
import numpy as np
import pytest

import aimass as am
from aimass import nn


def blobs(n=240, classes=3, features=4, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, (classes, features))
    y = rng.integers(0, classes, n)
    x = (centers[y] + rng.normal(0, 1, (n, features))).astype(np.float32)
    return x, y.astype(np.int64)


def mlp(out_activation=None, seed=0):
    am.manual_seed(seed)
    return nn.Sequential([nn.Dense(16, activation="relu", in_features=4),
                          nn.Dense(3, activation=out_activation, in_features=16)])


def weights(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def trained(model, optimizer, loss="cross_entropy", epochs=2, x=None, y=None):
    if x is None:
        x, y = blobs()
    model.compile(optimizer=optimizer, loss=loss)
    am.manual_seed(99)  # the shuffle
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    return weights(model)


# ---------------------------------------------------------------------------------------------
# optimizers without parameters, bound by compile

KERAS_FORMS = [
    ("SGD", 0.05), ("Adam", 3e-3), ("AdamW", 3e-3), ("RMSprop", 1e-3), ("Adagrad", 0.05), ("Lion", 1e-3),
]


@pytest.mark.parametrize("name,lr", KERAS_FORMS)
def test_keras_optimizer_forms_train_exactly_as_pytorch_construction(name, lr):
    cls = getattr(am.optim, name)
    m = mlp()
    reference = trained(m, cls(m.parameters(), lr=lr))
    for make in (lambda: cls(learning_rate=lr), lambda: cls(lr)):
        got = trained(mlp(), make())
        for k in reference:
            np.testing.assert_array_equal(got[k], reference[k], err_msg=f"{name} {k}")


@pytest.mark.parametrize("name,cls,kwargs", [("adam", "Adam", {}), ("sgd", "SGD", {"lr": 1e-2}), ("adamw", "AdamW", {}),
                                              ("rmsprop", "RMSprop", {}), ("adagrad", "Adagrad", {}),
                                              ("lion", "Lion", {})])
def test_optimizer_names_are_the_default_optimizers(name, cls, kwargs):
    m = mlp()
    reference = trained(m, getattr(am.optim, cls)(m.parameters(), **kwargs), epochs=1)
    got = trained(mlp(), name, epochs=1)
    for k in reference:
        np.testing.assert_array_equal(got[k], reference[k])


def test_keras_argument_names():
    opt = am.optim.Adam(learning_rate=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-7)
    assert opt.defaults["lr"] == pytest.approx(0.01) and opt.defaults["betas"] == pytest.approx((0.8, 0.99))
    assert opt.defaults["eps"] == pytest.approx(1e-7)
    assert am.optim.RMSprop(rho=0.9).defaults["alpha"] == pytest.approx(0.9)
    assert not opt.is_bound and opt.param_groups == []
    with pytest.raises(TypeError, match="twice"):
        am.optim.Adam(1e-3, learning_rate=1e-3)


def test_unbound_and_misbound_optimizers_raise_clearly():
    opt = am.optim.Adam(learning_rate=1e-3)
    with pytest.raises(RuntimeError, match="model.compile"):
        opt.step()
    a, b = mlp(), mlp(seed=1)
    a.compile(optimizer=opt, loss="cross_entropy")
    assert opt.is_bound and len(opt.param_groups[0]["params"]) == 4
    with pytest.raises(ValueError, match="not this model's"):
        b.compile(optimizer=opt, loss="cross_entropy")
    with pytest.raises(ValueError, match="not this model's"):
        b.compile(optimizer=am.optim.SGD(a.parameters(), lr=0.1), loss="cross_entropy")
    with pytest.raises(RuntimeError, match="already bound"):
        opt.bind(b.parameters())
    a.compile(optimizer=opt, loss="cross_entropy")  # recompiling the same model keeps it


def test_unbound_optimizer_on_a_lazy_model_is_bound_at_fit():
    x, y = blobs()
    am.manual_seed(0)
    lazy = nn.Sequential([nn.Dense(16, activation="relu", in_features=4), nn.Dense(3)])  # half built
    opt = am.optim.Adam(3e-3)
    lazy.compile(optimizer=opt, loss="cross_entropy")
    assert not opt.is_bound
    lazy.fit(x, y, epochs=1, verbose=0)
    assert opt.is_bound and len(opt.param_groups[0]["params"]) == 4
    assert opt.param_groups[0]["lr"] == pytest.approx(3e-3)


def test_save_load_with_a_keras_form_optimizer(tmp_path):
    x, y = blobs()
    m = mlp()
    m.compile(optimizer=am.optim.Adam(learning_rate=3e-3), loss="cross_entropy", metrics=["accuracy"])
    m.fit(x, y, epochs=1, verbose=0)
    m.save(tmp_path / "m.safetensors")
    loaded = am.load(tmp_path / "m.safetensors")
    assert type(loaded.optimizer).__name__ == "Adam" and loaded.optimizer.param_groups[0]["lr"] == pytest.approx(3e-3)
    am.manual_seed(5)
    m.fit(x, y, epochs=1, verbose=0)
    am.manual_seed(5)
    loaded.fit(x, y, epochs=1, verbose=0)
    for k, v in weights(m).items():
        np.testing.assert_array_equal(weights(loaded)[k], v)


# ---------------------------------------------------------------------------------------------
# input_shape= / input_dim=

def test_input_shape_builds_at_construction():
    am.manual_seed(0)
    model = nn.Sequential([nn.Dense(10, input_shape=(4,), activation="relu"), nn.Dense(3)])
    assert all(m.built for m in model.modules())
    assert model[0].weight.shape == (10, 4) and model[1].weight.shape == (3, 10)
    assert nn.Dense(5, input_dim=7).weight.shape == (5, 7)
    conv = nn.Sequential([nn.Conv2D(4, 3, input_shape=(1, 8, 8)), nn.Flatten(), nn.Dense(2)])
    assert conv[2].weight.shape == (2, 4 * 6 * 6)
    keras3 = nn.Sequential([nn.Input(shape=(4,)), nn.Dense(3)])
    assert len(keras3) == 1 and keras3[0].weight.shape == (3, 4)
    with pytest.raises(TypeError, match="not both"):
        nn.Dense(3, input_shape=(4,), input_dim=4)
    with pytest.raises(ValueError, match="input_shape"):
        nn.Dense(3, input_shape=(0,))


# ---------------------------------------------------------------------------------------------
# summary

def test_sequential_summary_table():
    am.manual_seed(0)
    model = nn.Sequential([nn.Dense(10, input_shape=(4,), activation="relu"), nn.BatchNorm1D(), nn.Dropout(0.1),
                           nn.Dense(3)])
    text = model.summary(return_string=True)
    lines = text.split("\n")
    assert lines[0] == 'Model: "sequential"' and lines[1] == "_" * 65
    assert lines[2].split() == ["Layer", "(type)", "Output", "Shape", "Param", "#"]
    assert lines[2].index("Output Shape") == 30 and lines[2].index("Param #") == 56  # Keras's column stops
    rows = {line.split()[0]: line for line in lines if line.startswith(" ") and "(" in line and "Layer" not in line}
    assert rows["dense"].split()[1:] == ["(Dense)", "(None,", "10)", "50"]
    assert rows["batch_norm1d"].split()[-1] == "40"  # weight, bias, running mean and var
    assert rows["dense_1"].split()[1:] == ["(Dense)", "(None,", "3)", "33"]
    assert model.num_parameters() == 50 + 20 + 33
    assert "Total params: 123 (492.00 Byte)" in lines
    assert "Trainable params: 103 (412.00 Byte)" in lines
    assert "Non-trainable params: 20 (80.00 Byte)" in lines
    printed = []
    assert model.summary(print_fn=printed.append) is None
    assert "\n".join(printed) == text


def test_summary_of_an_unbuilt_model_and_a_subclass():
    lazy = nn.Sequential([nn.Dense(8), nn.Dense(2)])
    text = lazy.summary(return_string=True)
    assert "Total params: 0" in text and "?" in text

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Dense(8, activation="relu")
            self.head = nn.Dense(2)

        def forward(self, x):
            return self.head(self.body(x))

    net = Net()
    net(am.zeros((5, 3)))
    lines = net.summary(return_string=True).split("\n")
    assert lines[0] == 'Model: "net"'
    body = next(line for line in lines if line.startswith(" body"))
    head = next(line for line in lines if line.startswith(" head"))
    assert body.split()[1:] == ["(Dense)", "(None,", "8)", "32"] and head.split()[1:] == ["(Dense)", "(None,", "2)", "18"]
    assert f"Total params: {net.num_parameters()} " in "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# functional API

def branch_model(seed=0):
    am.manual_seed(seed)
    x = nn.Input(shape=(1, 8, 8))
    a = nn.Conv2D(4, 3, padding="same", activation="relu")(x)
    b = nn.Conv2D(4, 3, padding="same")(x)
    merged = nn.Add()([a, b])                                        # (None, 4, 8, 8)
    h = nn.Concatenate(axis=1)([merged, x])                          # (None, 5, 8, 8)
    h = nn.Flatten()(nn.MaxPool2D(2)(h))                             # (None, 80)
    y = nn.Dense(3, activation="softmax")(h)
    return nn.Model(inputs=x, outputs=y)


def images(n=96, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.normal(0, 0.3, (n, 1, 8, 8)).astype(np.float32)
    for i, c in enumerate(y):
        x[i, 0, 2 * c:2 * c + 3, :] += 1.5
    return x, y.astype(np.int64)


def test_functional_forward_equals_the_hand_composition():
    model = branch_model()
    assert [name for name, _ in model.named_children()] == ["conv2d", "conv2d_1", "add", "concatenate", "max_pool2d",
                                                            "flatten", "dense"]
    conv_a, conv_b, _, _, pool, flatten, dense = model.layers
    x, _ = images(5)
    xt = am.asarray(x)
    h = am.concatenate([conv_a(xt) + conv_b(xt), xt], 1)
    expected = dense(flatten(pool(h))).numpy()
    with am.no_grad():
        np.testing.assert_allclose(model(xt).numpy(), expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-6, atol=1e-7)
    # the merge ops against NumPy
    a, b = np.arange(6.0).reshape(2, 3), np.full((2, 3), 2.0)
    ta, tb = am.asarray(a), am.asarray(b)
    np.testing.assert_array_equal(nn.Add()([ta, tb, tb]).numpy(), a + 2 * b)
    np.testing.assert_array_equal(nn.Subtract()([ta, tb]).numpy(), a - b)
    np.testing.assert_array_equal(nn.Multiply()([ta, tb]).numpy(), a * b)
    np.testing.assert_array_equal(nn.Average()([ta, tb]).numpy(), (a + b) / 2)
    np.testing.assert_array_equal(nn.Maximum()([ta, tb]).numpy(), np.maximum(a, b))
    np.testing.assert_array_equal(nn.Concatenate()([ta, tb]).numpy(), np.concatenate([a, b], -1))


def test_functional_summary_and_parameter_counts():
    model = branch_model()
    text = model.summary(return_string=True)
    assert 'Model: "model"' in text and "Connected to" in text
    row = next(line for line in text.split("\n") if line.startswith(" concatenate"))
    assert "(None, 5, 8, 8)" in row and "add" in row
    assert f"Total params: {model.num_parameters():,} " in text
    assert model.num_parameters() == 2 * (4 * 9 + 4) + 80 * 3 + 3


def test_functional_fit_reduces_the_loss_natively_and_round_trips(tmp_path):
    x, y = images()
    model = branch_model()
    model.compile(optimizer=am.optim.Adam(learning_rate=1e-2), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=6, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.9
    path = tmp_path / "functional.safetensors"
    model.save(path)
    loaded = am.load(path)
    assert isinstance(loaded, nn.Model)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    np.testing.assert_allclose(loaded.evaluate(x, y)["loss"], model.evaluate(x, y)["loss"], rtol=1e-6)


def test_multi_input_multi_output_model():
    am.manual_seed(0)
    rng = np.random.default_rng(1)
    n = 256
    xa = rng.normal(size=(n, 3)).astype(np.float32)
    xb = rng.normal(size=(n, 2)).astype(np.float32)
    cls = (xa[:, 0] + xb[:, 0] > 0).astype(np.int64)
    reg = (xa[:, 1:2] * 2 - xb[:, 1:2]).astype(np.float32)
    ia, ib = nn.Input((3,), name="a"), nn.Input((2,), name="b")
    h = nn.Dense(16, activation="relu")(nn.Concatenate()([ia, ib]))
    out_cls = nn.Dense(2, activation="softmax")(h)
    out_reg = nn.Dense(1)(h)
    model = nn.Model(inputs=[ia, ib], outputs=[out_cls, out_reg])
    assert model.output_names == ["dense_1", "dense_2"]
    model.compile(optimizer=am.optim.Adam(learning_rate=1e-2),
                  loss={"dense_1": "sparse_categorical_crossentropy", "dense_2": "mse"}, metrics=["accuracy"])
    before = model.evaluate([xa, xb], [cls, reg])
    history = model.fit([xa, xb], [cls, reg], epochs=15, batch_size=32, verbose=0)
    after = model.evaluate([xa, xb], [cls, reg])
    assert after["loss"] < 0.3 * before["loss"] and history.history["loss"][-1] < history.history["loss"][0]
    p_cls, p_reg = model.predict([xa, xb])
    assert p_cls.shape == (n, 2) and p_reg.shape == (n, 1)
    # the loss is the sum of the outputs' losses, each as its NumPy formula
    ce = -np.mean(np.log(np.clip(p_cls[np.arange(n), cls], 1e-7, 1 - 1e-7)))
    np.testing.assert_allclose(after["loss"], ce + np.mean((p_reg - reg) ** 2), rtol=1e-4)
    assert after["dense_1_accuracy"] > 0.9


def test_functional_errors():
    x = nn.Input((4,))
    with pytest.raises(TypeError, match="list"):
        nn.Add()(x)
    with pytest.raises(TypeError, match="one tensor"):
        nn.Dense(2)([x, x])
    with pytest.raises(ValueError, match="one shape"):
        nn.Add()([x, nn.Dense(3)(x)])
    with pytest.raises(ValueError, match="disconnected"):
        nn.Model(inputs=x, outputs=nn.Dense(2)(nn.Input((4,))))
    with pytest.raises(TypeError, match="Input"):
        x + x
    model = nn.Model(inputs=[x, nn.Input((4,))], outputs=nn.Dense(2)(x))
    with pytest.raises(ValueError, match="2 inputs"):
        model(am.zeros((1, 4)))


# ---------------------------------------------------------------------------------------------
# Keras's losses

def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def keras_cce(y, p):  # keras.losses.categorical_crossentropy, from_logits=False
    p = np.clip(p / p.sum(-1, keepdims=True), 1e-7, 1 - 1e-7)
    return -(y * np.log(p)).sum(-1)


def keras_bce(y, p):
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(-1)


def loss_value(loss, p, y):
    return float(loss(am.asarray(p), am.asarray(y)).item())


def test_keras_loss_values_against_numpy():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, (6, 4))
    p = softmax(z).astype(np.float32)
    p[0] = [1.0, 0.0, 0.0, 0.0]  # clipped: a certain (and a certainly wrong) prediction stays finite
    labels = np.array([1, 0, 3, 2, 1, 0])
    onehot = np.eye(4, dtype=np.float32)[labels]
    np.testing.assert_allclose(loss_value(nn.CategoricalCrossentropy(), p, onehot), keras_cce(onehot, p).mean(), rtol=1e-5)
    np.testing.assert_allclose(loss_value(nn.Loss("categorical_crossentropy"), p, onehot), keras_cce(onehot, p).mean(),
                               rtol=1e-5)
    np.testing.assert_allclose(loss_value(nn.SparseCategoricalCrossentropy(), p, labels), keras_cce(onehot, p).mean(),
                               rtol=1e-5)
    np.testing.assert_allclose(loss_value(nn.SparseCategoricalCrossentropy(), p, labels[:, None].astype(np.float32)),
                               keras_cce(onehot, p).mean(), rtol=1e-5)
    zf = z.astype(np.float32)
    log_softmax = np.log(softmax(z))
    np.testing.assert_allclose(loss_value(nn.CategoricalCrossentropy(from_logits=True), zf, onehot),
                               -(onehot * log_softmax).sum(-1).mean(), rtol=1e-5)
    np.testing.assert_allclose(loss_value(nn.SparseCategoricalCrossentropy(from_logits=True), zf, labels),
                               -log_softmax[np.arange(6), labels].mean(), rtol=1e-5)
    per_sample = nn.CategoricalCrossentropy(reduction=None)(am.asarray(p), am.asarray(onehot)).numpy()
    np.testing.assert_allclose(per_sample, keras_cce(onehot, p), rtol=1e-5)
    np.testing.assert_allclose(loss_value(nn.CategoricalCrossentropy(reduction="sum"), p, onehot),
                               keras_cce(onehot, p).sum(), rtol=1e-5)
    # binary: the mean over the last axis, then over the samples
    q = rng.uniform(0, 1, (5, 3)).astype(np.float32)
    q[0, 0] = 0.0
    t = rng.integers(0, 2, (5, 3)).astype(np.float32)
    np.testing.assert_allclose(loss_value(nn.BinaryCrossentropy(), q, t), keras_bce(t, q).mean(), rtol=1e-5)
    logits = rng.normal(0, 3, (5, 3)).astype(np.float32)
    np.testing.assert_allclose(loss_value(nn.BinaryCrossentropy(from_logits=True), logits, t),
                               keras_bce(t, 1 / (1 + np.exp(-logits.astype(np.float64)))).mean(), rtol=1e-5)
    # (N, T, C): classes on the last axis, as Keras
    seq = softmax(rng.normal(size=(2, 3, 4))).astype(np.float32)
    seq_labels = rng.integers(0, 4, (2, 3))
    np.testing.assert_allclose(loss_value(nn.SparseCategoricalCrossentropy(), seq, seq_labels),
                               keras_cce(np.eye(4)[seq_labels], seq).mean(), rtol=1e-5)
    with pytest.raises(IndexError, match="class labels"):
        loss_value(nn.SparseCategoricalCrossentropy(), p, np.array([0, 1, 2, 3, 4, 0]))
    with pytest.raises(ValueError, match="one-hot"):
        loss_value(nn.CategoricalCrossentropy(), p, labels)


@pytest.mark.parametrize("loss,target", [
    (nn.CategoricalCrossentropy(), "onehot"), (nn.SparseCategoricalCrossentropy(), "labels"),
    (nn.BinaryCrossentropy(), "binary"), (nn.CategoricalCrossentropy(from_logits=True), "onehot"),
    (nn.SparseCategoricalCrossentropy(from_logits=True), "labels"), (nn.BinaryCrossentropy(from_logits=True), "binary"),
])
def test_keras_loss_gradients_match_finite_differences(loss, target):
    rng = np.random.default_rng(1)
    logits = "from_logits" in loss.get_config()["kind"]
    x = rng.normal(0, 1, (4, 3)) if logits else rng.uniform(0.1, 0.9, (4, 3))
    y = {"onehot": np.eye(3)[[0, 2, 1, 1]], "labels": np.array([0, 2, 1, 1]),
         "binary": rng.integers(0, 2, (4, 3)).astype(np.float64)}[target]
    xt = am.tensor(x, requires_grad=True)  # float64: a tight finite-difference check
    loss(xt, am.asarray(y)).backward()
    numeric = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        hi, lo = x.copy(), x.copy()
        hi[i] += 1e-6
        lo[i] -= 1e-6
        numeric[i] = (loss_value(loss, hi, y) - loss_value(loss, lo, y)) / 2e-6
    np.testing.assert_allclose(xt.grad.numpy(), numeric, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("keras_loss,logits_loss,last", [
    ("sparse_categorical_crossentropy", nn.SparseCategoricalCrossentropy(from_logits=True), "dense"),
    ("sparse_categorical_crossentropy", nn.SparseCategoricalCrossentropy(from_logits=True), "layer"),
    ("categorical_crossentropy", nn.CategoricalCrossentropy(from_logits=True), "dense"),
])
def test_a_final_softmax_is_fused_into_the_logits_path(keras_loss, logits_loss, last):
    """Training a softmax model with the probability loss is exactly training its logits with the
    from-logits loss (Keras's fusion), and the model still predicts probabilities."""
    x, labels = blobs()
    y = np.eye(3, dtype=np.float32)[labels] if keras_loss == "categorical_crossentropy" else labels

    def softmax_model():
        am.manual_seed(0)
        layers = [nn.Dense(16, activation="relu", in_features=4)]
        layers += ([nn.Dense(3, activation="softmax", in_features=16)] if last == "dense"
                   else [nn.Dense(3, in_features=16), nn.Softmax()])
        return nn.Sequential(layers)

    probs = softmax_model()
    got = trained(probs, am.optim.SGD(learning_rate=0.1), loss=keras_loss, x=x, y=y)
    reference = trained(mlp(), am.optim.SGD(learning_rate=0.1), loss=logits_loss, x=x, y=y)
    for (k, v), ref in zip(got.items(), reference.values()):
        np.testing.assert_allclose(v, ref, rtol=1e-6, atol=1e-7, err_msg=k)
    out = probs.predict(x[:5])
    np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-6)


def test_fusion_keeps_the_gradient_where_the_probability_saturates():
    # A confident wrong softmax: the clipped probability path would give no gradient; the fused one does.
    am.manual_seed(0)
    model = nn.Sequential([nn.Dense(2, activation="softmax", in_features=1)])
    with am.no_grad():
        model[0].weight.copy_(am.asarray(np.array([[60.0], [-60.0]], np.float32)))
    x, y = np.ones((4, 1), np.float32), np.ones(4, np.int64)
    model.compile(optimizer=am.optim.SGD(learning_rate=0.1), loss="sparse_categorical_crossentropy")
    assert model.evaluate(x, y)["loss"] == pytest.approx(120.0, rel=1e-4)  # from logits: not capped at -log(1e-7)
    before = model[0].weight.numpy().copy()
    model.fit(x, y, epochs=1, verbose=0)
    assert not np.array_equal(model[0].weight.numpy(), before)


def test_binary_crossentropy_with_a_final_sigmoid():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    am.manual_seed(0)
    model = nn.Sequential([nn.Dense(1, activation="sigmoid", in_features=2)])
    model.compile(optimizer=am.optim.Adam(learning_rate=0.05), loss="binary_crossentropy", metrics=["binary_accuracy"])
    history = model.fit(x, y, epochs=20, batch_size=20, verbose=0)
    assert history.history["binary_accuracy"][-1] > 0.95
    p = model.predict(x)
    assert ((p > 0) & (p < 1)).all()
    np.testing.assert_allclose(model.evaluate(x, y)["loss"], keras_bce(y, p).mean(), rtol=1e-4)


def test_save_load_before_fit_keeps_an_unbound_optimizer(tmp_path):
    am.manual_seed(0)
    lazy = nn.Sequential([nn.Dense(8, activation="relu"), nn.Dense(3)])
    lazy.compile(optimizer=am.optim.RMSprop(learning_rate=5e-3, momentum=0.5), loss="cross_entropy")
    lazy.build((None, 4))  # built after compile: the optimizer is still unbound
    lazy.save(tmp_path / "lazy.safetensors")
    loaded = am.load(tmp_path / "lazy.safetensors")
    opt = loaded.optimizer
    assert type(opt).__name__ == "RMSprop" and opt.is_bound  # bound by the load's compile
    assert opt.param_groups[0]["lr"] == pytest.approx(5e-3) and opt.param_groups[0]["momentum"] == pytest.approx(0.5)


def test_multi_io_takes_dicts_by_name():
    am.manual_seed(0)
    ia, ib = nn.Input((3,), name="left"), nn.Input((2,), name="right")
    out = nn.Dense(1)(nn.Concatenate()([ia, ib]))
    model = nn.Model(inputs=[ia, ib], outputs=out)
    xa, xb = np.ones((4, 3), np.float32), np.ones((4, 2), np.float32)
    np.testing.assert_array_equal(model.predict({"left": xa, "right": xb}), model.predict([xa, xb]))
    w = model.layers[1].weight.numpy()
    np.testing.assert_allclose(model.predict([xa, xb])[:, 0], w.sum() + model.layers[1].bias.numpy()[0], rtol=1e-6)
    model.compile(optimizer="sgd", loss="mse")
    assert model.evaluate({"left": xa, "right": xb}, np.zeros((4, 1), np.float32))["loss"] >= 0
    with pytest.raises(ValueError, match="exactly"):
        model.predict({"left": xa})

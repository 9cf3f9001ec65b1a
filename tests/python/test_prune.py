"""am.quant.prune: unstructured masks kept through fit and saved with the model; structured pruning
that makes a smaller model (exact when only all-zero channels go; accurate after a short fine-tune)."""
from __future__ import annotations

import json

import numpy as np
import pytest

import aimass as am
from aimass._demo import load_digits_dataset

nn = am.nn


def _mlp(sizes=(10, 20, 12, 3), seed=0):
    am.manual_seed(seed)
    layers = [nn.Dense(n, activation="relu") for n in sizes[1:-1]] + [nn.Dense(sizes[-1])]
    return nn.Sequential(layers).build((None, sizes[0]))


def _w(layer) -> np.ndarray:
    return layer.weight.numpy().copy()


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits_dataset()
    return am.data.train_test_split(x, y, test_size=0.2, stratify=y, seed=0)


# ---------------------------------------------------------------------------------------------
# unstructured

def test_per_layer_and_global_amounts_are_exact():
    model, original = _mlp(), _mlp()  # one seed: the same weights
    am.quant.prune(model, 0.3, scope="layer")
    for layer, before in zip(model, original):
        w = _w(layer)
        assert np.count_nonzero(w == 0) == round(0.3 * w.size)
        mask = layer.weight_mask.numpy()
        assert set(np.unique(mask)) == {0.0, 1.0} and np.array_equal(mask == 0, w == 0)
        assert np.abs(_w(before))[w == 0].max() <= np.abs(w[w != 0]).min()  # the smallest of the layer went

    model, original = _mlp(), _mlp()
    am.quant.prune(model, 0.4)  # global: one threshold over every layer
    weights = [np.abs(_w(layer)) for layer in original]
    masks = [layer.weight_mask.numpy() for layer in model]
    total = sum(w.size for w in weights)
    assert sum(int((m == 0).sum()) for m in masks) == round(0.4 * total)
    assert max(w[m == 0].max() for w, m in zip(weights, masks)) <= min(w[m == 1].min() for w, m in zip(weights, masks))
    s = am.quant.sparsity(model)
    assert s.total == pytest.approx(round(0.4 * total) / total)
    assert set(s.layers) == {"0", "1", "2"} and s.size == total
    assert len({round(v, 3) for v in s.layers.values()}) > 1  # global: the layers differ


def test_pruning_again_keeps_what_was_pruned_and_layers_selects():
    model = _mlp()
    am.quant.prune(model, 0.3)
    first = [layer.weight_mask.numpy().copy() for layer in model]
    am.quant.prune(model, 0.6)
    second = [layer.weight_mask.numpy() for layer in model]
    assert all(np.all(b[a == 0] == 0) for a, b in zip(first, second))
    assert am.quant.sparsity(model).total == pytest.approx(0.6, abs=1e-2)
    am.quant.prune(model, 0.1)  # a smaller amount prunes nothing back
    assert am.quant.sparsity(model).total == pytest.approx(0.6, abs=1e-2)

    model = _mlp()
    am.quant.prune(model, 0.5, layers=["1"])
    assert model[0]._buffer("weight_mask") is None and model[1]._buffer("weight_mask") is not None
    am.quant.prune(model, 0.5, layers=[model[2]], scope="layer")
    assert am.quant.sparsity(model).layers["2"] == pytest.approx(0.5, abs=0.03)


@pytest.mark.parametrize("optimizer", ["adam", "sgd_momentum"])
def test_masks_are_kept_through_fit(optimizer):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((256, 10)).astype(np.float32), rng.integers(0, 3, 256)
    model = _mlp()
    am.quant.prune(model, 0.7)
    zero = [_w(layer) == 0 for layer in model]
    before = [_w(layer) for layer in model]
    opt = am.optim.Adam(lr=1e-2) if optimizer == "adam" else am.optim.SGD(lr=0.1, momentum=0.9)
    model.compile(optimizer=opt, loss="cross_entropy")
    model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    for layer, z, b in zip(model, zero, before):
        w = _w(layer)
        assert np.all(w[z] == 0.0), "a pruned weight moved"
        assert not np.allclose(w[~z], b[~z]), "the kept weights trained"
    assert am.quant.sparsity(model).total == pytest.approx(0.7, abs=1e-2)


def test_remove_pruning_folds_and_drops_the_masks():
    model = _mlp()
    am.quant.prune(model, 0.5)
    am.quant.remove_pruning(model)
    assert not [n for n, _ in model.named_buffers() if n.endswith("_mask")]
    assert am.quant.sparsity(model).total == pytest.approx(0.5, abs=1e-2)
    rng = np.random.default_rng(1)
    model.compile(optimizer=am.optim.SGD(lr=0.1), loss="cross_entropy")
    model.fit(rng.standard_normal((64, 10)).astype(np.float32), rng.integers(0, 3, 64), epochs=1, verbose=0)
    assert am.quant.sparsity(model).total < 0.4  # no longer kept


def test_masks_survive_save_and_load_and_a_wrong_mask_is_refused(tmp_path):
    from safetensors import safe_open
    from safetensors.numpy import save_file

    model = _mlp()
    am.quant.prune(model, 0.5)
    model.compile(optimizer="adam", loss="cross_entropy")
    path = tmp_path / "pruned.safetensors"
    model.save(path)
    loaded = am.load(path)
    names = {n for n, _ in loaded.named_buffers()}
    assert {"0.weight_mask", "1.weight_mask", "2.weight_mask"} <= names
    for a, b in zip(model, loaded):
        assert np.array_equal(a.weight_mask.numpy(), b.weight_mask.numpy())
        assert np.array_equal(_w(a), _w(b))
    rng = np.random.default_rng(2)
    zero = _w(loaded[1]) == 0
    loaded.fit(rng.standard_normal((64, 10)).astype(np.float32), rng.integers(0, 3, 64), epochs=1, verbose=0)
    assert np.all(_w(loaded[1])[zero] == 0)

    with safe_open(str(path), framework="np") as f:
        tensors, metadata = {k: f.get_tensor(k) for k in f.keys()}, f.metadata()
    tensors["1.weight_mask"] = np.ones((3, 3), np.float32)
    bad = tmp_path / "bad.safetensors"
    save_file(tensors, str(bad), metadata=metadata)
    with pytest.raises(ValueError, match=r"pruning mask '1.weight_mask' has shape \(3, 3\)"):
        am.load(bad)
    assert json.loads(metadata["architecture"])["class"] == "Sequential"


def test_bad_arguments_give_clear_errors():
    model = _mlp()
    for amount in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match=r"amount .* must be in \[0, 1\)"):
            am.quant.prune(model, amount)
    with pytest.raises(TypeError, match="amount"):
        am.quant.prune(model, "half")
    with pytest.raises(ValueError, match="scope"):
        am.quant.prune(model, 0.5, scope="model")
    with pytest.raises(ValueError, match="no prunable layer"):
        am.quant.prune(nn.Sequential([nn.ReLU(), nn.Flatten()]), 0.5)
    with pytest.raises(ValueError, match="not a Dense or Conv layer"):
        am.quant.prune(model, 0.5, layers=["7"])
    with pytest.raises(ValueError, match="not built"):
        am.quant.prune(nn.Sequential([nn.Dense(4)]), 0.5)
    with pytest.raises(ValueError, match="output layer"):
        am.quant.prune(model, 0.5, structured=True, layers=["2"])
    with pytest.raises(ValueError, match="importance"):
        am.quant.prune(model, 0.5, structured=True, importance="l3")
    with pytest.raises(NotImplementedError, match="LayerNorm 'layer_norm'|LayerNorm '1'"):
        am.quant.prune(nn.Sequential([nn.Dense(8), nn.LayerNorm(), nn.Dense(3)]).build((None, 4)), 0.5, structured=True)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Dense(3, input_dim=4)

        def forward(self, x):
            return self.fc(x)

    with pytest.raises(NotImplementedError, match="Net"):
        am.quant.prune(Net(), 0.5, structured=True)
    x = nn.Input((4,))
    a, b = nn.Dense(4)(x), nn.Dense(4)(x)
    with pytest.raises(NotImplementedError, match="not a chain"):
        am.quant.prune(nn.Model(x, nn.Dense(2)(nn.Add()([a, b]))), 0.5, structured=True)


# ---------------------------------------------------------------------------------------------
# structured

def _zero_channels(producer, consumer, channels, per_channel=1):
    """Zeroes producer's output channels and consumer's inputs fed by them: removing them changes nothing."""
    w, b = producer.weight.numpy().copy(), producer.bias.numpy().copy()
    w[channels], b[channels] = 0, 0
    cw = consumer.weight.numpy().copy()
    cols = np.concatenate([np.arange(c * per_channel, (c + 1) * per_channel) for c in channels])
    cw[:, cols] = 0
    producer.load_state_dict({"weight": w, "bias": b})
    consumer.load_state_dict({"weight": cw, "bias": consumer.bias.numpy()})


def test_removing_all_zero_channels_keeps_the_outputs_and_shrinks_the_model():
    am.manual_seed(0)
    model = nn.Sequential([
        nn.Conv2D(8, 3, padding="same"), nn.BatchNorm2D(), nn.ReLU(), nn.MaxPool2D(2),   # (N, 8, 4, 4)
        nn.Conv2D(6, 3, padding="same", activation="relu"), nn.MaxPool2D(2),           # (N, 6, 2, 2)
        nn.Flatten(), nn.Dropout(0.2),                                                  # (N, 24)
        nn.Dense(10, activation="relu"), nn.Dense(3)]).build((None, 1, 8, 8))
    x = np.random.default_rng(0).standard_normal((16, 1, 8, 8)).astype(np.float32)
    model.compile(optimizer="adam", loss="cross_entropy")
    model.fit(x, np.arange(16) % 3, epochs=1, batch_size=8, verbose=0)  # running statistics that are not trivial
    _zero_channels(model[0], model[4], [1, 4, 6, 7])
    _zero_channels(model[4], model[8], [0, 2, 5], per_channel=4)  # NCHW Flatten: channel c -> 4c ... 4c + 3
    _zero_channels(model[8], model[9], [0, 3, 5, 8, 9])
    expected = model.predict(x)

    small = am.quant.prune(model, 0.5, structured=True, scope="layer")
    np.testing.assert_allclose(small.predict(x), expected, rtol=1e-5, atol=1e-5)
    assert type(small) is nn.Sequential and model[0].weight.shape == (8, 1, 3, 3)  # the original is untouched
    assert small[0].weight.shape == (4, 1, 3, 3) and small[1].running_mean.shape == (4,)
    assert small[4].weight.shape == (3, 4, 3, 3) and small[8].weight.shape == (5, 12) and small[9].weight.shape == (3, 5)
    r = small.prune_report
    assert r.params_after == small.num_parameters() < r.params_before == model.num_parameters()
    assert r.channels == {"0": (4, 8), "4": (3, 6), "8": (5, 10)} and r.kept["0"] == [0, 2, 3, 5]
    assert r.file_bytes_after < r.file_bytes_before and r.latency_ms_after > 0
    assert "channels kept" in str(r)
    small.compile(optimizer="adam", loss="cross_entropy")
    small.fit(x, np.arange(16) % 3, epochs=1, batch_size=8, verbose=0)  # trains as any model

    # a functional chain, global scope, L2, and masks from unstructured pruning carried along
    inp = nn.Input((6,))
    h = nn.Dense(8, activation="relu")(inp)
    chain = nn.Model(inp, nn.Dense(2)(nn.Dense(5, activation="relu")(h)))
    _zero_channels(chain.layers[0], chain.layers[1], [2, 3, 7])
    _zero_channels(chain.layers[1], chain.layers[2], [1, 4])
    am.quant.prune(chain, 0.2, scope="layer", layers=[chain.layers[2]])
    xs = np.random.default_rng(1).standard_normal((5, 6)).astype(np.float32)
    small = am.quant.prune(chain, 5 / 13, structured=True, importance="l2", measure=False)
    assert type(small) is nn.Model
    np.testing.assert_allclose(small.predict(xs), chain.predict(xs), rtol=1e-5, atol=1e-5)
    assert small.prune_report.channels == {"dense": (5, 8), "dense_1": (3, 5)}
    assert small.layers[2].weight_mask.shape == (2, 3)


def test_structured_through_conv1d_global_pooling_and_batch_norm_1d():
    am.manual_seed(0)
    seq = nn.Sequential([nn.Conv1D(6, 3, padding="same", activation="relu"), nn.Flatten(),  # (N, 6 * 5)
                         nn.Dense(8), nn.BatchNorm1D(), nn.ReLU(), nn.Dense(2)]).build((None, 2, 5))
    _zero_channels(seq[0], seq[2], [0, 5], per_channel=5)
    _zero_channels(seq[2], seq[5], [1, 2, 6, 7])
    x = np.random.default_rng(0).standard_normal((4, 2, 5)).astype(np.float32)
    small = am.quant.prune(seq, 0.4, structured=True, scope="layer", measure=False)
    assert small.prune_report.channels == {"0": (4, 6), "2": (5, 8)}  # round(0.4 * 8) = 3 of the 4 zero units go
    assert small[2].weight.shape == (5, 20) and small[3].running_var.shape == (5,)
    np.testing.assert_allclose(small.predict(x), seq.predict(x), rtol=1e-5, atol=1e-5)

    gap = nn.Sequential([nn.Conv2D(5, 3), nn.GlobalAveragePooling2D(), nn.Dense(3)]).build((None, 1, 6, 6))
    _zero_channels(gap[0], gap[2], [1, 3])
    xs = np.random.default_rng(1).standard_normal((3, 1, 6, 6)).astype(np.float32)
    small = am.quant.prune(gap, 0.4, structured=True, measure=False)
    assert small[0].weight.shape == (3, 1, 3, 3) and small[2].weight.shape == (3, 3)
    np.testing.assert_allclose(small.predict(xs), gap.predict(xs), rtol=1e-5, atol=1e-5)


def test_masks_are_kept_by_the_multi_input_loop():
    a, b = nn.Input((4,)), nn.Input((3,))
    model = nn.Model([a, b], nn.Dense(2)(nn.Concatenate()([nn.Dense(5)(a), b])))
    am.quant.prune(model, 0.5)
    zero = [layer.weight.numpy() == 0 for layer in model.layers if isinstance(layer, nn.Dense)]
    rng = np.random.default_rng(0)
    model.compile(optimizer=am.optim.SGD(lr=0.1, momentum=0.9), loss="cross_entropy")
    model.fit([rng.standard_normal((32, 4)).astype(np.float32), rng.standard_normal((32, 3)).astype(np.float32)],
              rng.integers(0, 2, 32), epochs=2, batch_size=8, verbose=0)
    dense = [layer for layer in model.layers if isinstance(layer, nn.Dense)]
    assert all(np.all(layer.weight.numpy()[z] == 0) for layer, z in zip(dense, zero))


def _cnn():
    return nn.Sequential([
        nn.Conv2D(32, 3, padding="same"), nn.BatchNorm2D(), nn.ReLU(), nn.MaxPool2D(2),  # (N, 32, 4, 4)
        nn.Conv2D(64, 3, padding="same"), nn.BatchNorm2D(), nn.ReLU(), nn.MaxPool2D(2),  # (N, 64, 2, 2)
        nn.Flatten(), nn.Dense(64, activation="relu"), nn.Dense(10)]).build((None, 1, 8, 8))


def _mlp_digits():
    return nn.Sequential([nn.Flatten(), nn.Dense(128, activation="relu"), nn.Dense(64, activation="relu"),
                          nn.Dense(10)]).build((None, 1, 8, 8))


@pytest.mark.parametrize("make, epochs", [(_cnn, 12), (_mlp_digits, 30)], ids=["cnn", "mlp"])
def test_half_the_channels_pruned_and_fine_tuned_stays_within_a_point(digits, make, epochs):
    x_train, x_test, y_train, y_test = digits
    am.manual_seed(0)
    model = make()
    model.compile(optimizer=am.optim.Adam(lr=3e-3), loss="cross_entropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=0)
    base = model.evaluate(x_test, y_test)["accuracy"]
    assert base > 0.95

    small = am.quant.prune(model, 0.5, structured=True, scope="layer", measure=False)
    assert small.num_parameters() < 0.5 * model.num_parameters()
    small.compile(optimizer=am.optim.Adam(lr=1e-3), loss="cross_entropy", metrics=["accuracy"])
    small.fit(x_train, y_train, epochs=8, batch_size=32, verbose=0)
    assert small.evaluate(x_test, y_test)["accuracy"] >= base - 0.01

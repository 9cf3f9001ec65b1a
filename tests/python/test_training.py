"""Model.compile / fit / evaluate / predict on the native loop, callbacks, Ctrl-C, and model files."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest

import aimass as am
import aimass.nn as nn
from aimass.nn import callbacks as cb


def blobs(n=600, classes=3, d=4, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((classes, d)) * 4
    y = rng.integers(0, classes, n)
    x = (centers[y] + rng.standard_normal((n, d))).astype(np.float32)
    return x, y.astype(np.int64)


def mlp(classes=3):
    return nn.Sequential([nn.Dense(32, activation="relu"), nn.Dense(classes)])


def compiled(model=None, lr=1e-2, metrics=("accuracy",)):
    model = model or mlp()
    model.build((None, 4))
    model.compile(optimizer=am.optim.Adam(model.parameters(), lr=lr), loss="cross_entropy", metrics=list(metrics))
    return model


def test_fit_learns_and_reports_history():
    am.manual_seed(0)
    x, y = blobs()
    model = compiled()
    history = model.fit(x, y, epochs=5, batch_size=32, validation_split=0.2, verbose=0)
    h = history.history
    assert history.epoch == [0, 1, 2, 3, 4]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "samples_per_second"} <= set(h)
    assert h["loss"][-1] < h["loss"][0] and h["val_accuracy"][-1] > 0.95
    result = model.evaluate(x, y, batch_size=100)
    assert set(result) == {"loss", "accuracy"} and result["accuracy"] > 0.95
    logits = model.predict(x, batch_size=64)
    assert logits.shape == (600, 3)
    model.eval()
    np.testing.assert_allclose(logits, model(x).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result["accuracy"], (logits.argmax(1) == y).mean(), rtol=1e-12)


def test_fit_is_reproducible_with_a_seed():
    x, y = blobs()
    weights = []
    for _ in range(2):
        am.manual_seed(123)
        model = compiled(nn.Sequential([nn.Dense(16, activation="relu"), nn.Dropout(0.2), nn.Dense(3)]))
        model.fit(x, y, epochs=2, batch_size=50, verbose=0)
        weights.append({k: v.numpy().copy() for k, v in model.state_dict().items()})
    for k in weights[0]:
        np.testing.assert_array_equal(weights[0][k], weights[1][k], err_msg=k)


def test_fit_with_validation_data_and_string_optimizer():
    am.manual_seed(1)
    x, y = blobs()
    model = mlp()
    model.compile(optimizer="adam", loss=nn.CrossEntropyLoss(), metrics=["accuracy"])  # lazily sized: built in fit
    history = model.fit(x[:500], y[:500], epochs=8, validation_data=(x[500:], y[500:]), verbose=0)
    assert len(history.history["val_loss"]) == 8 and history.history["val_accuracy"][-1] > 0.9


def test_regression_with_mse_and_a_python_subclass_model():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Dense(16, activation="tanh", in_features=3)
            self.out = nn.Dense(1, in_features=16)

        def forward(self, x):
            return self.out(self.hidden(x))

    am.manual_seed(2)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.3).astype(np.float32)
    net = Net()
    net.compile(optimizer=am.optim.Adam(net.parameters(), lr=3e-2), loss="mse", metrics=["mae"])
    history = net.fit(x, y, epochs=30, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.02 < history.history["loss"][0]
    assert net.evaluate(x, y)["mae"] < 0.15


def test_class_weight_changes_the_loss():
    x, y = blobs()
    am.manual_seed(3)
    a = compiled()
    la = a.fit(x, y, epochs=1, shuffle=False, verbose=0).history["loss"][0]
    am.manual_seed(3)
    b = compiled()
    lb = b.fit(x, y, epochs=1, shuffle=False, class_weight={0: 5.0, 1: 1.0, 2: 1.0}, verbose=0).history["loss"][0]
    assert la != lb


def test_errors():
    x, y = blobs()
    with pytest.raises(RuntimeError, match="compile"):
        mlp().fit(x, y)
    model = compiled()
    with pytest.raises(ValueError, match="same number of samples"):
        model.fit(x, y[:10], verbose=0)
    with pytest.raises(ValueError, match="batch_size"):
        model.fit(x, y, batch_size=0, verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(x, y, validation_split=1.5, verbose=0)
    with pytest.raises(ValueError, match="unknown loss"):
        model.compile(loss="nope")
    with pytest.raises(ValueError, match="Dense"):
        model.fit(np.zeros((10, 7), np.float32), np.zeros(10, np.int64), verbose=0)


# ---------------------------------------------------------------------------------------------
# callbacks

def test_early_stopping_restores_best_weights():
    x, y = blobs()
    am.manual_seed(4)
    model = compiled(lr=0.5)  # a large step: the validation loss soon stops improving
    stopper = cb.EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)

    class Snapshot(cb.Callback):
        def __init__(self):
            super().__init__()
            self.weights = []

        def on_epoch_end(self, epoch, logs=None):
            self.weights.append({k: v.numpy().copy() for k, v in self.model.state_dict().items()})

    snap = Snapshot()
    history = model.fit(x, y, epochs=40, validation_split=0.3, callbacks=[snap, stopper], verbose=0)
    assert len(history.epoch) < 40 and stopper.stopped_epoch == history.epoch[-1]
    best = int(np.argmin(history.history["val_loss"]))
    assert stopper.best_epoch == best
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), snap.weights[best][k], err_msg=k)


def test_checkpoint_csv_logger_scheduler_and_batch_hooks(tmp_path):
    x, y = blobs()
    am.manual_seed(5)
    model = compiled()
    path = tmp_path / "best.safetensors"
    csv_path = tmp_path / "log.csv"
    seen = []

    class CountBatches(cb.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append((batch, logs["samples"]))

    callbacks = [cb.ModelCheckpoint(path, monitor="val_accuracy", save_best_only=True), cb.CSVLogger(csv_path),
                 cb.LearningRateScheduler(lambda epoch, lr: 0.01 * 0.5 ** epoch), CountBatches()]
    history = model.fit(x, y, epochs=3, batch_size=100, validation_split=0.25, callbacks=callbacks, verbose=0)
    assert history.history["lr"] == pytest.approx([0.01, 0.005, 0.0025])
    assert seen[:5] == [(0, 100), (1, 200), (2, 300), (3, 400), (4, 450)] and len(seen) == 15
    rows = csv_path.read_text().strip().splitlines()
    assert rows[0].startswith("epoch,loss,accuracy") and len(rows) == 4
    assert path.exists() and am.load(path).predict(x).shape == (600, 3)


def test_stop_training_from_a_batch_hook():
    class StopAfter(cb.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 2:
                self.model.stop_training = True

    x, y = blobs()
    model = compiled()
    history = model.fit(x, y, epochs=5, batch_size=10, callbacks=[StopAfter()], verbose=0)
    assert history.epoch == [0]


def test_ctrl_c_stops_between_steps_and_keeps_a_consistent_model():
    x, y = blobs(n=20000)
    model = compiled()
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    history = model.fit(x, y, epochs=1000, batch_size=8, verbose=0)
    timer.join()
    assert history.interrupted and len(history.epoch) < 1000
    out = model.predict(x[:5])
    assert np.isfinite(out).all()


def test_progress_bar_output(capsys):
    x, y = blobs(n=100)
    model = compiled()
    model.fit(x, y, epochs=2, batch_size=25, verbose=1)
    err = capsys.readouterr().err
    assert "Epoch 1/2" in err and "Epoch 2/2" in err and "samples/s" in err and "accuracy=" in err


# ---------------------------------------------------------------------------------------------
# model files

def trained_cnn():
    am.manual_seed(6)
    model = nn.Sequential([nn.Conv2D(4, 3, padding="same", activation="relu"), nn.BatchNorm2D(), nn.MaxPool2D(2),
                           nn.Flatten(), nn.Dense(8, activation="gelu"), nn.LayerNorm(), nn.Dropout(0.1), nn.Dense(3)])
    model.build((None, 1, 6, 6))
    model.compile(optimizer=am.optim.AdamW(model.parameters(), lr=1e-2), loss="cross_entropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 1, 6, 6)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    return model, x, y


def test_save_and_load_in_a_fresh_process(tmp_path):
    model, x, y = trained_cnn()
    path = tmp_path / "model.safetensors"
    model.save(path)
    np.save(tmp_path / "x.npy", x)
    expected = model.predict(x)
    code = (f"import numpy as np, aimass as am; m = am.load({str(path)!r}); "
            f"np.save({str(tmp_path / 'out.npy')!r}, m.predict(np.load({str(tmp_path / 'x.npy')!r})))")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ})
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)
    # The safetensors package reads the weights.
    from safetensors.numpy import load_file

    weights = load_file(path)
    np.testing.assert_array_equal(weights["0.weight"], model.state_dict()["0.weight"].numpy())


def test_load_restores_the_optimizer_and_training_resumes_identically(tmp_path):
    model, x, y = trained_cnn()
    path = tmp_path / "m.safetensors"
    model.save(path)
    again = am.load(path)
    am.manual_seed(9)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    am.manual_seed(9)
    again.fit(x, y, epochs=1, batch_size=16, verbose=0)
    for (k, a), (_, b) in zip(model.state_dict().items(), again.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)


def test_corrupt_truncated_and_mismatched_files(tmp_path):
    model, x, y = trained_cnn()
    path = tmp_path / "m.safetensors"
    model.save(path)
    data = path.read_bytes()
    (tmp_path / "trunc.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="trunc.safetensors"):
        am.load(tmp_path / "trunc.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"not a model at all")
    with pytest.raises(ValueError, match="junk.safetensors"):
        am.load(tmp_path / "junk.safetensors")
    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        am.load(tmp_path / "missing.safetensors")
    from safetensors.numpy import save_file

    save_file({"w": np.zeros(2, np.float32)}, tmp_path / "plain.safetensors")
    with pytest.raises(ValueError, match="not an aimass model"):
        am.load(tmp_path / "plain.safetensors")
    # Weights of the wrong shape for the architecture.
    from aimass.nn.serialization import _read

    tensors, metadata = _read(str(path))
    tensors["0.weight"] = np.zeros((4, 1, 2, 2), np.float32)
    save_file(tensors, tmp_path / "bad.safetensors", metadata=metadata)
    with pytest.raises(ValueError, match=r"bad.safetensors.*0.weight"):
        am.load(tmp_path / "bad.safetensors")


def test_a_failed_save_leaves_the_old_file(tmp_path, monkeypatch):
    model, x, y = trained_cnn()
    path = tmp_path / "m.safetensors"
    model.save(path)
    before = path.read_bytes()
    import safetensors.numpy

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.numpy, "save_file", boom)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]

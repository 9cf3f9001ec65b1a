"""am.quant.distill: Hinton's loss (value against NumPy, gradient against finite differences),
trained in the native fit loop with a frozen teacher; a student half the size within a point."""
from __future__ import annotations

import numpy as np
import pytest

import aimass as am
from aimass._demo import load_digits_dataset

nn = am.nn


def _log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _reference(student, teacher, y, T, alpha):
    lp, lq = _log_softmax(teacher / T), _log_softmax(student / T)
    kd = (np.exp(lp) * (lp - lq)).sum(axis=1).mean() * T * T
    ce = -_log_softmax(student)[np.arange(len(y)), y].mean()
    return alpha * kd + (1 - alpha) * ce


def test_loss_matches_numpy():
    rng = np.random.default_rng(0)
    s, t = rng.standard_normal((6, 4)) * 3, rng.standard_normal((6, 4)) * 3
    y = rng.integers(0, 4, 6)
    for T, alpha in [(1.0, 0.5), (4.0, 0.9), (2.5, 0.0), (3.0, 1.0)]:
        loss = am.quant.DistillationLoss(temperature=T, alpha=alpha)
        value = loss(am.asarray(np.concatenate([s, t], 1)), am.asarray(y))
        assert float(value.item()) == pytest.approx(_reference(s, t, y, T, alpha), rel=1e-10)
        assert (loss.temperature, loss.alpha) == (T, alpha)


def test_loss_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    packed = rng.standard_normal((5, 6)) * 2  # student (5, 3) | teacher (5, 3)
    y = rng.integers(0, 3, 5)
    loss = am.quant.DistillationLoss(temperature=3.0, alpha=0.7)
    x = am.asarray(packed)
    x.requires_grad_(True)
    loss(x, am.asarray(y)).backward()
    grad = x.grad.numpy()
    eps = 1e-6
    numeric = np.zeros_like(packed)
    for i in np.ndindex(*packed.shape):
        up, down = packed.copy(), packed.copy()
        up[i] += eps
        down[i] -= eps
        numeric[i] = (_reference(up[:, :3], up[:, 3:], y, 3.0, 0.7)
                      - _reference(down[:, :3], down[:, 3:], y, 3.0, 0.7)) / (2 * eps)
    np.testing.assert_allclose(grad[:, :3], numeric[:, :3], rtol=1e-6, atol=1e-8)
    assert np.all(grad[:, 3:] == 0)  # the teacher's half is a constant: no gradient reaches it


def _data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 8)).astype(np.float32)
    return x, (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1)


def test_distill_trains_the_student_natively_and_leaves_the_teacher_alone():
    am.manual_seed(0)
    x, y = _data()
    teacher = nn.Sequential([nn.Dense(16), nn.BatchNorm1D(), nn.ReLU(), nn.Dropout(0.5), nn.Dense(3)]).build((None, 8))
    teacher.compile(optimizer="adam", loss="cross_entropy")
    teacher.fit(x, y, epochs=3, verbose=0)
    frozen = {k: v.numpy().copy() for k, v in teacher.state_dict().items()}
    student = nn.Sequential([nn.Dense(8, activation="relu"), nn.Dense(3)]).build((None, 8))
    before = student[0].weight.numpy().copy()
    teacher.eval()
    reference = teacher.predict(x)  # eval mode: dropout off, running statistics

    history = am.quant.distill(teacher, student, x, y, epochs=3, batch_size=32, optimizer=am.optim.Adam(lr=1e-2),
                               validation_data=_data(64, 1))
    assert set(history.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"} and len(history.epoch) == 3
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert not np.allclose(student[0].weight.numpy(), before)
    for k, v in teacher.state_dict().items():  # BatchNorm's running statistics included
        assert np.array_equal(v.numpy(), frozen[k]), k
    np.testing.assert_array_equal(teacher.predict(x), reference)
    assert not teacher.training  # its own mode is left as it was

    class Stop(nn.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True  # callbacks see the student
            assert self.model is student

    assert len(am.quant.distill(teacher, student, x, y, epochs=5, callbacks=[Stop()]).epoch) == 1


def test_bad_arguments():
    x, y = _data(32)
    teacher = nn.Sequential([nn.Dense(3)]).build((None, 8))
    student = nn.Sequential([nn.Dense(3)]).build((None, 8))
    with pytest.raises(ValueError, match="alpha"):
        am.quant.distill(teacher, student, x, y, alpha=1.5)
    with pytest.raises(ValueError, match="temperature"):
        am.quant.distill(teacher, student, x, y, temperature=0)
    with pytest.raises(ValueError, match="two models"):
        am.quant.distill(teacher, teacher, x, y)
    with pytest.raises(ValueError, match="one shape"):
        am.quant.distill(nn.Sequential([nn.Dense(4)]).build((None, 8)), student, x, y, epochs=1)
    with pytest.raises(ValueError, match="the student ends in a softmax"):
        am.quant.distill(teacher, nn.Sequential([nn.Dense(3, activation="softmax")]).build((None, 8)), x, y)
    with pytest.raises(ValueError, match="the teacher ends in a softmax"):
        am.quant.distill(nn.Sequential([nn.Dense(3), nn.Softmax()]).build((None, 8)), student, x, y)
    with pytest.raises(ValueError, match="student's parameters"):
        am.quant.distill(teacher, student, x, y, optimizer=am.optim.Adam(teacher.parameters()))


def test_a_student_half_the_size_comes_within_a_point_of_its_teacher():
    x, y = load_digits_dataset()
    x = x.reshape(len(x), -1)
    x_train, x_test, y_train, y_test = am.data.train_test_split(x, y, test_size=0.2, stratify=y, seed=0)
    am.manual_seed(0)
    teacher = nn.Sequential([nn.Dense(256, activation="relu"), nn.Dense(128, activation="relu"),
                             nn.Dense(10)]).build((None, 64))
    teacher.compile(optimizer=am.optim.Adam(lr=2e-3), loss="cross_entropy", metrics=["accuracy"])
    teacher.fit(x_train, y_train, epochs=25, batch_size=32, verbose=0)
    teacher_acc = teacher.evaluate(x_test, y_test)["accuracy"]

    student = nn.Sequential([nn.Dense(64, activation="relu"), nn.Dense(10)]).build((None, 64))
    assert student.num_parameters() <= teacher.num_parameters() / 2
    am.quant.distill(teacher, student, x_train, y_train, temperature=4.0, alpha=0.9, epochs=40, batch_size=32,
                     optimizer=am.optim.Adam(lr=3e-3))
    student.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"])
    assert student.evaluate(x_test, y_test)["accuracy"] >= teacher_acc - 0.01

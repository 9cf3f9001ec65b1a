"""am.nn.Module: registration, parameters, state_dict / load_state_dict, train / eval, to(),
Python subclasses inside native containers, Sequential, initialisers and loss modules."""
from __future__ import annotations

import math

import numpy as np
import pytest

import aimass as am
import aimass.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Dense(8, activation="relu", in_features=4)
        self.drop = nn.Dropout(0.5)
        self.fc2 = nn.Dense(3, in_features=8)
        self.scale = nn.Parameter(np.ones(3, np.float32))
        self.register_buffer("steps", am.zeros(()))
        self.note = "not registered"

    def forward(self, x):
        return self.fc2(self.drop(self.fc1(x))) * self.scale


def test_registration_and_names():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert list(net.state_dict()) == names + ["steps"]
    assert [n for n, _ in net.named_children()] == ["fc1", "drop", "fc2"]
    assert [n for n, _ in net.named_modules()] == ["", "fc1", "drop", "fc2"]
    assert net.num_parameters() == 3 + 8 * 4 + 8 + 3 * 8 + 3
    assert all(p.requires_grad for p in net.parameters())
    assert net.note == "not registered"
    assert isinstance(net.fc1, nn.Dense) and isinstance(net.fc1, nn.Module)
    with pytest.raises(AttributeError, match="nothing"):
        net.nothing


def test_python_subclass_trains_with_autograd():
    net = Net().eval()
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    loss = (net(x) ** 2).mean()
    loss.backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_python_subclass_inside_native_sequential():
    class Double(nn.Module):
        def forward(self, x):
            return x * 2.0

    model = nn.Sequential([nn.Dense(3, in_features=2), Double(), nn.ReLU()])
    x = np.array([[1.0, -2.0]], np.float32)
    w, b = model[0].weight.numpy(), model[0].bias.numpy()
    np.testing.assert_allclose(model(x).numpy(), np.maximum(2 * (x @ w.T + b), 0), rtol=1e-6)
    assert len(model) == 3 and isinstance(model[1], Double) and isinstance(model[-1], nn.ReLU)
    # The Python object stays alive while only the native container holds it.
    import gc

    model2 = nn.Sequential()
    model2.add(Double())
    gc.collect()
    np.testing.assert_allclose(model2(np.ones((1, 2), np.float32)).numpy(), 2.0)


def test_forward_not_implemented():
    class NoForward(nn.Module):
        pass

    with pytest.raises(NotImplementedError, match="forward"):
        nn.Sequential([NoForward()])(np.ones((1, 2), np.float32))


def test_state_dict_round_trip_and_strict_errors():
    a, b = Net(), Net()
    b.load_state_dict(a.state_dict())
    for (n, p), (_, q) in zip(a.state_dict().items(), b.state_dict().items()):
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=n)
    state = {k: v.numpy().copy() for k, v in a.state_dict().items()}
    state["extra"] = np.zeros(1, np.float32)
    del state["fc1.bias"]
    state["fc2.weight"] = np.zeros((2, 2), np.float32)
    before = b.fc2.weight.numpy().copy()
    with pytest.raises(ValueError) as info:
        b.load_state_dict(state)
    msg = str(info.value)
    assert "missing keys: 'fc1.bias'" in msg and "unexpected keys: 'extra'" in msg
    assert "fc2.weight: expected (3, 8), got (2, 2)" in msg
    np.testing.assert_array_equal(b.fc2.weight.numpy(), before)  # nothing changed
    del state["extra"]
    state["fc2.weight"] = a.fc2.weight.numpy()
    b.load_state_dict(state, strict=False)  # missing keys allowed


def test_load_state_dict_keeps_tensor_identity():
    layer = nn.Dense(2, in_features=2)
    w = layer.weight
    layer.load_state_dict({"weight": np.eye(2, dtype=np.float32), "bias": np.zeros(2, np.float32)})
    np.testing.assert_array_equal(w.numpy(), np.eye(2))


def test_train_eval_propagate():
    net = Net()
    assert net.training and net.fc1.training
    assert net.eval() is net
    assert not net.training and not net.drop.training
    net.train()
    assert net.drop.training


def test_to_dtype_in_place():
    net = Net()
    w = net.fc1.weight
    net.to(am.float64)
    assert w.dtype == am.float64 and net.fc1.weight.dtype == am.float64
    assert net.steps.dtype == am.float64
    out = net.eval()(np.ones((1, 4)))
    assert out.dtype == am.float64


def test_sequential_lazy_build_and_repr():
    model = nn.Sequential([nn.Conv2D(4, 3, padding="same", activation="relu"), nn.MaxPool2D(2), nn.Flatten(),
                           nn.Dense(10)])
    assert model.num_parameters() == 0
    model.build((None, 1, 8, 8))
    assert [tuple(p.shape) for p in model.parameters()] == [(4, 1, 3, 3), (4,), (10, 64), (10,)]
    text = repr(model)
    assert "(0): Conv2D(filters=4" in text and "(3): Dense(units=10, in_features=64" in text
    assert list(model.state_dict()) == ["0.weight", "0.bias", "3.weight", "3.bias"]
    assert [type(m).__name__ for m in model] == ["Conv2D", "MaxPool2D", "Flatten", "Dense"]
    with pytest.raises(IndexError, match="Sequential"):
        model[4]


def test_shared_layer_listed_once():
    shared = nn.Dense(2, in_features=2)
    model = nn.Sequential([shared, shared])
    assert len(list(model.parameters())) == 2


def test_lazy_state_dict_error_mentions_build():
    with pytest.raises(ValueError, match="first call"):
        nn.Sequential([nn.Dense(3)]).load_state_dict({"0.weight": np.zeros((3, 2), np.float32)})


def test_initializers():
    am.manual_seed(0)
    t = am.empty((400, 300))
    nn.init.glorot_normal_(t)
    assert abs(t.numpy().std() - math.sqrt(2 / 700)) < 0.002
    nn.init.he_uniform_(t)
    assert t.numpy().max() <= math.sqrt(6 / 300) and t.numpy().max() > 0.95 * math.sqrt(6 / 300)
    conv = am.empty((16, 8, 3, 3))
    nn.init.he_normal_(conv)
    assert abs(conv.numpy().std() - math.sqrt(2 / 72)) < 0.01
    nn.init.ones_(t)
    assert (t.numpy() == 1).all()
    nn.init.zeros_(t)
    assert (t.numpy() == 0).all()


def test_loss_modules_match_functional():
    F = nn.functional
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 4)).astype(np.float32)
    labels = rng.integers(0, 4, 6)
    np.testing.assert_allclose(nn.CrossEntropyLoss(label_smoothing=0.1)(logits, labels).item(),
                               F.cross_entropy(logits, labels, label_smoothing=0.1).item(), rtol=1e-6)
    y = rng.standard_normal((6, 4)).astype(np.float32)
    np.testing.assert_allclose(nn.MSELoss()(logits, y).item(), ((logits - y) ** 2).mean(), rtol=1e-5)
    np.testing.assert_allclose(nn.L1Loss(reduction="sum")(logits, y).item(), np.abs(logits - y).sum(), rtol=1e-5)
    np.testing.assert_allclose(nn.HuberLoss(delta=0.5)(logits, y).item(),
                               F.huber_loss(logits, y, delta=0.5).item(), rtol=1e-6)
    t = (rng.random((6, 4)) > 0.5).astype(np.float32)
    np.testing.assert_allclose(nn.BCEWithLogitsLoss()(logits, t).item(),
                               F.binary_cross_entropy_with_logits(logits, t).item(), rtol=1e-6)
    teacher = rng.standard_normal((6, 4)).astype(np.float32)
    np.testing.assert_allclose(nn.DistillationLoss(temperature=2.0)(logits, teacher).item(),
                               F.distillation_loss(logits, teacher, temperature=2.0).item(), rtol=1e-6)
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="unknown loss"):
        nn.Loss("nope")


def test_repr_of_a_layer_whose_init_never_ran_does_not_crash():
    # pytest's failure report and debuggers repr `self` of a constructor that raised
    from aimass import nn as _nn

    half_made = _nn.Dense.__new__(_nn.Dense)
    assert repr(half_made) == "<Dense (not constructed)>"
    assert not _nn.Module._is_constructed(half_made) and _nn.Module._is_constructed(_nn.Dense(2))
    assert not _nn.Module._is_constructed(object())

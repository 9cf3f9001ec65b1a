"""The rules that live in the core (issue 10, part 4), seen from Python: one parser of device
names behind every API that takes a device, and one native get_config per layer, from which
every registered layer type rebuilds itself."""
import numpy as np
import pytest

import aimass as am
from aimass import nn
from aimass.nn import registry


# ---------------------------------------------------------------------------------------------
# device names: am.Device / Device::parse (csrc/core/device.h) behind every API

def _outcome(fn):
    try:
        return ("ok", str(fn()))
    except Exception as e:  # noqa: BLE001  (the outcome itself is compared)
        return (type(e).__name__, str(e))


def _device_apis(name):
    return {
        "am.tensor(device=)": lambda: am.tensor([1.0], device=name).device,
        "am.zeros(device=)": lambda: am.zeros(2, device=name).device,
        "Tensor.to(name)": lambda: am.zeros(2).to(name).device,
        "Tensor.to(device=)": lambda: am.zeros(2).to(device=name).device,
        "Module.to(name)": lambda: nn.Dense(2, in_features=3).to(name).weight.device,
        "FlatIndex(device=)": lambda: am.knn.FlatIndex(4, device=name).device,
        "FlatIndex.to(name)": lambda: am.knn.FlatIndex(4).to(name).device,
    }


DEVICE_NAMES = ["cpu", "cuda", "gpu", "cuda:0", "gpu:0", "cuda:1", "gpu:1"]
BAD_DEVICE_NAMES = ["cuda:x", "gpu:-1", "cuda:", "gpu:", "cuda:1.5", "gpu:99999"]


@pytest.mark.parametrize("name", DEVICE_NAMES + BAD_DEVICE_NAMES)
def test_every_api_treats_a_device_name_alike(name):
    outcomes = {api: _outcome(fn) for api, fn in _device_apis(name).items()}
    assert len(set(outcomes.values())) == 1, outcomes


@pytest.mark.parametrize("name", BAD_DEVICE_NAMES + ["tpu", "CPU", ""])
def test_a_bad_device_name_is_a_value_error_naming_it_and_the_accepted_forms(name):
    for fn in (lambda: am.Device(name), lambda: am.tensor([1.0], device=name), lambda: am.zeros(2).to(device=name),
               lambda: am.knn.FlatIndex(4, device=name)):
        with pytest.raises(ValueError) as info:
            fn()
        msg = str(info.value)
        assert f"'{name}'" in msg
        assert "'cpu', 'cuda', 'cuda:N', 'gpu' or 'gpu:N'" in msg


def test_gpu_is_cuda():
    assert am.Device("gpu") == am.Device("cuda:0")
    assert am.Device("gpu:2") == am.Device("cuda:2")
    assert am.Device("gpu:2") == "cuda:2"


def test_module_to_gpu_is_a_device_not_a_dtype():
    model = nn.Dense(2, in_features=3)
    if am.cuda.is_available():
        assert model.to("gpu").weight.device == am.Device("cuda:0")
        assert model.to("cpu").weight.device == am.Device("cpu")
        return
    # Without CUDA: the same clear error as am.tensor(..., device="gpu"), not a TypeError about dtypes.
    with pytest.raises(RuntimeError) as expected:
        am.tensor([1.0], device="gpu")
    with pytest.raises(RuntimeError) as got:
        model.to("gpu")
    assert str(got.value) == str(expected.value)
    assert model.weight.device == am.Device("cpu")  # left where it was
    with pytest.raises(RuntimeError) as unbuilt:  # no tensors yet: refused all the same
        nn.Dense(2).to("gpu")
    assert str(unbuilt.value) == str(expected.value)


def test_a_string_that_is_not_a_device_is_a_dtype_for_tensor_and_module_alike():
    model = nn.Dense(2, in_features=3)
    model.to("float64")
    assert model.weight.dtype == am.float64
    assert am.zeros(2).to("float64").dtype == am.float64
    assert _outcome(lambda: am.zeros(2).to("tpu")) == _outcome(lambda: nn.Dense(2, in_features=3).to("tpu"))


# ---------------------------------------------------------------------------------------------
# configs: Module::config (csrc/nn/config.h), bound once as get_config

SAMPLE_ARGS = {
    "Activation": dict(activation="tanh"),
    "Add": {}, "Average": {}, "Maximum": {}, "Minimum": {}, "Multiply": {}, "Subtract": {},
    "AvgPool2D": dict(pool_size=3, strides=(2, 1), padding=1, ceil_mode=True, count_include_pad=False),
    "BatchNorm1D": dict(num_features=4, momentum=0.2, eps=1e-3),
    "BatchNorm2D": dict(affine=False, track_running_stats=False),
    "Concatenate": dict(axis=1),
    "Conv1D": dict(filters=3, kernel_size=5, strides=2, padding="same", activation="relu"),
    "Conv2D": dict(filters=4, kernel_size=(3, 5), strides=2, padding=(1, 2), dilation=1, groups=1, use_bias=False,
                   kernel_initializer="he_normal", in_channels=2),
    "Dense": dict(units=7, activation="gelu", bias_initializer="ones"),
    "Dropout": dict(p=0.25),
    "Embedding": dict(num_embeddings=10, embedding_dim=3),
    "FakeQuantConv2D": dict(filters=4, kernel_size=(3, 1), strides=2, padding="same", dilation=1, activation="relu",
                            use_bias=False, in_channels=3, method="minmax", momentum=0.05),
    "FakeQuantDense": dict(units=5, in_features=7, activation="relu", use_bias=False, method="minmax", momentum=0.2),
    "Flatten": dict(start_axis=2, end_axis=-1),
    "GELU": dict(approximate="tanh"),
    "GlobalAveragePooling2D": dict(keepdims=True),
    "LayerNorm": dict(normalized_shape=(4, 5), eps=1e-6, elementwise_affine=False),
    "LeakyReLU": dict(negative_slope=0.3),
    "Linear": dict(units=3, in_features=2),
    "LogSoftmax": dict(axis=1),
    "MaxPool2D": dict(pool_size=(2, 3)),
    "MultiHeadAttention": dict(embed_dim=8, num_heads=2, dropout=0.1, bias=False, kdim=4, vdim=6, quantized=True),
    "QuantizedConv2D": dict(filters=4, kernel_size=(3, 1), strides=2, padding="same", dilation=1, activation="relu",
                            use_bias=False, in_channels=3),
    "QuantizedEmbedding": dict(num_embeddings=12, embedding_dim=5),
    "QuantizedDense": dict(units=5, in_features=7, activation="relu", activations="static"),
    "ReLU": {},
    "Reshape": dict(target_shape=(2, -1)),
    "Sequential": {},
    "SiLU": {},
    "Sigmoid": {},
    "Softmax": dict(axis=0),
    "Tanh": {},
    "TransformerBlock": dict(embed_dim=8, num_heads=2, mlp_dim=16, dropout=0.0, activation="relu", causal=True),
    "WeightOnlyDense": dict(units=3, in_features=40, bits=8, group_size=32, activation="tanh"),
}
# Recorded by its graph (functional_api.Model.graph_config), not by a config of arguments.
NOT_BY_CONFIG = {"Model"}


def test_every_registered_layer_type_has_sample_arguments_here():
    assert set(registry._builtin) - NOT_BY_CONFIG == set(SAMPLE_ARGS)


@pytest.mark.parametrize("name", sorted(SAMPLE_ARGS))
def test_config_round_trips(name):
    cls = registry._builtin[name]
    layer = cls(**SAMPLE_ARGS[name])
    config = layer.get_config()
    assert isinstance(config, dict)
    rebuilt = cls(**config)
    assert type(rebuilt) is type(layer)
    assert rebuilt.get_config() == config
    # Every argument given is recorded (an int given for a pair as the pair: kernel_size=3 -> (3, 3)).
    for key, value in SAMPLE_ARGS[name].items():
        recorded = config[key]
        if isinstance(value, int) and isinstance(recorded, tuple):
            value = (value, value)
        assert recorded == (pytest.approx(value) if isinstance(value, float) else value), key


def test_config_of_a_built_layer_records_its_sizes():
    dense = nn.Dense(4)
    assert dense.get_config()["in_features"] is None
    dense(am.zeros((2, 6)))
    assert dense.get_config()["in_features"] == 6
    assert nn.Dense(**dense.get_config()).weight.shape == dense.weight.shape


def test_config_values_are_plain_python():
    config = nn.Conv2D(4, 3, padding="same").get_config()
    assert config["kernel_size"] == (3, 3) and type(config["kernel_size"][0]) is int
    assert config["padding"] == "same" and config["activation"] is None and config["use_bias"] is True
    loss = nn.CrossEntropyLoss(weight=np.array([0.5, 2.0], np.float32)).get_config()
    assert loss["weight"] == [0.5, 2.0] and loss["pos_weight"] is None


def test_a_user_module_without_get_config_records_nothing():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Dense(2)

        def forward(self, x):
            return self.fc(x)

    assert Net().get_config() == {}


# ---------------------------------------------------------------------------------------------
# weak scalar typing (csrc/ops/weak_scalar.h) through where and the in-place operators

def test_where_types_numbers_weakly():
    h = am.ones(3, dtype=am.float16)
    assert am.where(h > 0, h, 0.5).dtype == am.float16
    assert am.where(h > 0, 2, h).dtype == am.float16
    i = am.ones(3, dtype=am.int8)
    assert am.where(i > 0, i, 1.5).dtype == am.float32
    assert am.where(i > 0, 1, 2.5).dtype == am.float32
    h += 1.5
    assert h.dtype == am.float16 and h.tolist() == [2.5, 2.5, 2.5]

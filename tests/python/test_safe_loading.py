"""Loaders never run code a file names (issue: "a model file can run code"). Every crafted file
must end in a clear ValueError naming the class and the file, with no side effect: nothing
imported, nothing called, no file created. Also: saved files get the umask's permissions, a
failed save leaves the old file, and what is not a regular file is refused at once."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from safetensors.numpy import save_file

import aimass as am
from aimass import nn


def small_model():
    am.manual_seed(0)
    model = nn.Sequential([nn.Dense(4, activation="relu"), nn.Dense(2)])
    model.build((None, 3))
    return model


def write_model_file(path, architecture, training=None, tensors=None):
    """A file in the aimass.model format with whatever architecture (and training) JSON."""
    metadata = {"format": "aimass.model", "version": "1", "aimass_version": am.__version__,
                "architecture": architecture if isinstance(architecture, str) else json.dumps(architecture)}
    if training is not None:
        metadata["training"] = json.dumps(training)
    save_file(tensors if tensors is not None else {"w": np.zeros(1, np.float32)}, str(path), metadata=metadata)


@pytest.fixture
def evil_module(tmp_path, monkeypatch):
    """An importable module that leaves a marker file when imported or called: the loader must
    never reach it."""
    marker = tmp_path / "imported.marker"
    (tmp_path / "aimass_evil_mod.py").write_text(textwrap.dedent(f"""
        import pathlib
        pathlib.Path({str(marker)!r}).write_text("imported")
        class Thing:
            def __init__(self, **kw):
                pathlib.Path({str(marker)!r}).write_text("called")
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield marker
    sys.modules.pop("aimass_evil_mod", None)


HOSTILE_CLASSES = [
    ("os:system", lambda m: {"command": f"touch {m}"}),
    ("subprocess:run", lambda m: {"args": ["touch", str(m)]}),
    ("builtins:eval", lambda m: {"source": f"open({str(m)!r}, 'w')"}),
    ("builtins:exec", lambda m: {"source": f"open({str(m)!r}, 'w')"}),
    ("os.path:join", lambda m: {"a": str(m)}),
    ("shutil:rmtree", lambda m: {"path": str(m)}),
    ("aimass._files:atomic_save", lambda m: {"tensors": {}, "metadata": {}, "path": str(m)}),
    ("aimass_evil_mod:Thing", lambda m: {}),
    ("aimass_evil_mod.Thing", lambda m: {}),
    ("__import__", lambda m: {"name": "aimass_evil_mod"}),
    ("eval", lambda m: {"source": f"open({str(m)!r}, 'w')"}),
    ("Module", lambda m: {}),          # the native base class is not a layer a file may name
    ("Optimizer", lambda m: {}),
    ("_Activation", lambda m: {"name": "x", "activation": "relu"}),
]


@pytest.mark.parametrize("name,config", HOSTILE_CLASSES, ids=[c[0] for c in HOSTILE_CLASSES])
@pytest.mark.parametrize("where", ["top", "inside_sequential"])
def test_a_file_naming_a_function_or_foreign_class_is_refused_without_side_effect(tmp_path, evil_module, name,
                                                                                 config, where):
    marker = tmp_path / "pwned.marker"
    entry = {"class": name, "config": config(marker)}
    arch = entry if where == "top" else {"class": "Sequential", "layers": [{"class": "Dense", "config": {"units": 2}},
                                                                           entry]}
    path = tmp_path / "hostile.safetensors"
    write_model_file(path, arch)
    modules_before = set(sys.modules)
    with pytest.raises(ValueError) as err:
        am.load(path)
    message = str(err.value)
    assert repr(name) in message and "hostile.safetensors" in message
    assert not marker.exists() and not evil_module.exists()
    assert "aimass_evil_mod" not in sys.modules
    assert set(sys.modules) - modules_before == set()


@pytest.mark.parametrize("config", [
    {"units": "$(touch /tmp/x)"},
    {"units": 2, "activation": "os:system"},
    {"units": 2, "activation": "__import__('os').system('true')"},
    {"units": -3},
    {"units": 10 ** 40},
    {"units": 2, "kernel_initializer": {"class": "os:system"}},
    {"units": 2, "__class__": "x"},
    {"units": 2, "no_such_argument": 1},
    [2],
    "units=2",
    None,
    {1: 2},
])
def test_a_registered_class_with_hostile_config_values_is_a_clear_error(tmp_path, config):
    path = tmp_path / "cfg.safetensors"
    # json turns the int key into a string: write the JSON by hand to keep it an object key "1"
    write_model_file(path, {"class": "Sequential", "layers": [{"class": "Dense", "config": config}]})
    with pytest.raises(ValueError, match="cfg.safetensors"):
        am.load(path)


@pytest.mark.parametrize("architecture", [
    "not json", "[]", "null", "5", '{"class": 5}', '{"class": null}', '{"class": ["os", "system"]}',
    '{"class": "Sequential", "layers": {"class": "os:system"}}', '{"class": "Sequential", "layers": [5]}',
    '{"layers": []}',
    '{"class": "Model", "graph": {"layers": [{"name": "x", "class": "os:system", "config": {}}], "nodes": [[0, [-1]]], '
    '"inputs": [0], "outputs": [1], "input_shapes": [[2]], "input_dtypes": ["float32"], "input_names": ["in"]}}',
    '{"class": "Model", "graph": {"layers": [], "nodes": [[7, [99]]], "inputs": [0], "outputs": [5], '
    '"input_shapes": [[2]], "input_dtypes": ["float32"], "input_names": ["in"]}}',
    '{"class": "Model", "graph": {"layers": [], "nodes": [], "inputs": [0], "outputs": [0], '
    '"input_shapes": [[1152921504606846976]], "input_dtypes": ["os.system"], "input_names": ["in"]}}',
    '{"class": "Model", "graph": "touch x"}',
    '{"class": "Sequential", "layers": [' * 5000 + ']}' * 5000,   # nesting deeper than the recursion limit
])
def test_corrupt_architectures_are_value_errors(tmp_path, architecture):
    path = tmp_path / "arch.safetensors"
    write_model_file(path, architecture)
    with pytest.raises(ValueError, match="arch.safetensors"):
        am.load(path)


@pytest.mark.parametrize("training", [
    {"loss": {"kind": "os:system"}, "metrics": [], "optimizer": {"name": "adam"}},
    {"loss": {"kind": "cross_entropy", "command": "touch x"}, "metrics": [], "optimizer": {"name": "adam"}},
    {"loss": {"kind": "cross_entropy"}, "metrics": ["os:system"], "optimizer": {"name": "adam"}},
    {"loss": {"kind": "cross_entropy"}, "metrics": [], "optimizer": {"class": "lr_scheduler", "state": {}}},
    {"loss": {"kind": "cross_entropy"}, "metrics": [], "optimizer": {"class": "clip_grad_norm_", "state": {}}},
    {"loss": {"kind": "cross_entropy"}, "metrics": [], "optimizer": {"class": "GradScaler", "state": {}}},
    {"loss": {"kind": "cross_entropy"}, "metrics": [], "optimizer": {"class": "Optimizer", "state": {}}},
    {"loss": {"kind": "cross_entropy"}, "metrics": [], "optimizer": {"class": "os:system", "state": {}}},
    {"loss": {"kind": "cross_entropy"}, "metrics": [], "optimizer": {"name": "os:system"}},
    {"loss": {"kind": "cross_entropy"}, "metrics": [], "optimizer": {"class": "Adam", "state": "x",
                                                                      "param_index": [[99]]}},
    {"loss": {"kind": "cross_entropy"}, "metrics": [], "optimizer": {"class": "Adam", "options": {"lr": "os:system"}}},
    {"loss": {"kind": "cross_entropy"}, "metrics": [], "optimizer": {"class": "Adam", "options": {"params": [1]}}},
    {"loss": {"kind": "cross_entropy"}, "metrics": [], "optimizer": {"class": "Adam", "options": {"command": 1}}},
    {"loss": "cross_entropy"},
    {},
])
def test_a_hostile_training_configuration_is_refused(tmp_path, training):
    model = small_model()
    path = tmp_path / "train.safetensors"
    model.save(path)
    from aimass.nn.serialization import _read

    tensors, metadata = _read(str(path))
    metadata["training"] = json.dumps(training)
    save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(ValueError, match="train.safetensors"):
        am.load(path)
    # Without compile the training part is not read at all: the model itself loads.
    assert isinstance(am.load(path, compile=False), nn.Sequential)


class MyNet(nn.Module):
    def __init__(self, hidden: int = 5):
        super().__init__()
        self.hidden = hidden
        self.fc1 = nn.Dense(hidden, activation="relu")
        self.fc2 = nn.Dense(2)

    def forward(self, x):
        return self.fc2(self.fc1(x))

    def get_config(self):
        return {"hidden": self.hidden}


def test_a_user_class_loads_only_when_the_caller_passes_it(tmp_path):
    am.manual_seed(1)
    model = MyNet(hidden=7)
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    expected = model.predict(x)
    path = tmp_path / "mynet.safetensors"
    model.save(path)
    with pytest.raises(ValueError, match=r"mynet.safetensors.*'MyNet'.*custom_objects"):
        am.load(path)
    again = am.load(path, custom_objects={"MyNet": MyNet})
    assert isinstance(again, MyNet) and again.hidden == 7
    np.testing.assert_array_equal(again.predict(x), expected)
    # A custom object overrides an aimass name of the same spelling only when passed.
    with pytest.raises(TypeError, match="must be a class"):
        am.load(path, custom_objects={"MyNet": print})


def test_files_of_the_old_module_qualname_form_load_with_custom_objects(tmp_path):
    model = MyNet(hidden=3)
    path = tmp_path / "old.safetensors"
    model.save(path)
    from aimass.nn.serialization import _read

    tensors, metadata = _read(str(path))
    arch = json.loads(metadata["architecture"])
    arch["class"] = f"{__name__}:MyNet"
    metadata["architecture"] = json.dumps(arch)
    save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(ValueError, match="nothing was imported"):
        am.load(path)
    assert isinstance(am.load(path, custom_objects={"MyNet": MyNet}), MyNet)


def test_register_serializable(tmp_path):
    @nn.register_serializable(package="tests")
    class Registered(nn.Module):
        def __init__(self, width: int = 2):
            super().__init__()
            self.width = width
            self.fc = nn.Dense(width)

        def forward(self, x):
            return self.fc(x)

        def get_config(self):
            return {"width": self.width}

    model = nn.Sequential([Registered(width=3), nn.Dense(1)])
    model.build((None, 4))
    path = tmp_path / "reg.safetensors"
    model.save(path)
    arch = json.loads(am.nn.serialization._read(str(path))[1]["architecture"])
    assert arch["layers"][0]["class"] == "tests>Registered"
    again = am.load(path)
    assert isinstance(again[0], Registered) and again[0].width == 3
    with pytest.raises(ValueError, match="aimass class name"):
        nn.register_serializable()(type("Dense", (nn.Module,), {}))
    with pytest.raises(ValueError, match="already registered"):
        nn.register_serializable(package="tests")(type("Registered", (nn.Module,), {}))


def test_every_aimass_layer_round_trips_through_the_registry(tmp_path):
    from aimass.nn import registry

    for name in ["Dense", "Conv2D", "Conv1D", "MaxPool2D", "AvgPool2D", "BatchNorm2D", "LayerNorm", "Dropout",
                 "Flatten", "Embedding", "ReLU", "GELU", "Softmax", "MultiHeadAttention", "TransformerBlock",
                 "Sequential", "Linear"]:
        assert registry.resolve(name, None, "x") is getattr(nn, name)


def test_index_files_naming_unknown_types_are_refused(tmp_path, evil_module):
    meta = {"format": "aimass.knn", "version": "1", "d": "2", "metric": "l2", "dtype": "float32", "settings": "{}"}
    tensors = {"vectors": np.zeros((1, 2), np.float32), "ids": np.zeros(1, np.int64)}
    for type_name in ["os:system", "aimass_evil_mod:Thing", "builtins.eval", "Index", "IVFFlatIndex;FlatIndex"]:
        path = tmp_path / "evil.knn"
        save_file(tensors, str(path), metadata={**meta, "type": type_name})
        with pytest.raises(ValueError, match="evil.knn"):
            am.knn.load(path)
    for settings in ['{"nlist": "os.system"}', '{"nlist": 1e400}', '[1, 2]', '{"nlist": -5}', '{"nlist": 1e30}']:
        path = tmp_path / "set.knn"
        save_file(tensors, str(path), metadata={**meta, "type": "IVFFlatIndex", "settings": settings})
        with pytest.raises(ValueError, match="set.knn"):
            am.knn.load(path)
    assert not evil_module.exists() and "aimass_evil_mod" not in sys.modules


# ---------------------------------------------------------------------------------------------
# what the loaders open, and how saves are written

def _index():
    index = am.knn.FlatIndex(4)
    index.add(np.eye(4, dtype=np.float32))
    return index


SAVERS = {"model": lambda p: small_model().save(p), "index": lambda p: _index().save(p)}


@pytest.mark.parametrize("kind", sorted(SAVERS))
@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_saved_files_get_the_umask_permissions(tmp_path, kind, umask, mode):
    old = os.umask(umask)
    try:
        path = tmp_path / f"f.{kind}"
        SAVERS[kind](path)
        assert (os.stat(path).st_mode & 0o777) == mode
        SAVERS[kind](path)  # over an existing file as well
        assert (os.stat(path).st_mode & 0o777) == mode
    finally:
        os.umask(old)
    assert [p.name for p in tmp_path.iterdir()] == [f"f.{kind}"]  # no temporary left behind


@pytest.mark.parametrize("kind", sorted(SAVERS))
def test_a_failed_save_leaves_the_old_file_whole(tmp_path, monkeypatch, kind):
    path = tmp_path / "old"
    SAVERS[kind](path)
    before = path.read_bytes()
    import safetensors.numpy

    def half_written(tensors, filename, metadata=None):
        with open(filename, "wb") as f:
            f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.numpy, "save_file", half_written)
    with pytest.raises(OSError, match="disk full"):
        SAVERS[kind](path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["old"]


@pytest.mark.parametrize("loader", ["am.load", "am.knn.load"])
def test_a_fifo_or_directory_is_refused_at_once(tmp_path, loader):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    code = f"import aimass as am\ntry:\n    {loader}({str(fifo)!r})\nexcept ValueError as e:\n    print('ValueError:', e)\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "ValueError:" in done.stdout and "FIFO" in done.stdout and "pipe" in done.stdout
    with pytest.raises(ValueError, match="directory"):
        eval(loader, {"am": am})(tmp_path)
    with pytest.raises(ValueError, match="not a regular file|device"):
        eval(loader, {"am": am})("/dev/null")


# ---------------------------------------------------------------------------------------------
# a bounded fuzz: damaged bytes and damaged metadata end in ValueError, never anything worse

def test_fuzzed_model_and_index_files_raise_only_clear_errors(tmp_path):
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import HealthCheck, given, settings, strategies as st

    model_path, index_path = tmp_path / "m.safetensors", tmp_path / "i.knn"
    SAVERS["model"](model_path)
    SAVERS["index"](index_path)
    originals = {"model": model_path.read_bytes(), "index": index_path.read_bytes()}
    loaders = {"model": am.load, "index": am.knn.load}
    target = tmp_path / "fuzzed"

    @settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(kind=st.sampled_from(sorted(originals)), cuts=st.lists(st.tuples(st.integers(0, 10 ** 6), st.binary(
        min_size=0, max_size=16)), min_size=1, max_size=4), truncate=st.integers(0, 10 ** 6))
    def check(kind, cuts, truncate):
        data = bytearray(originals[kind])
        for at, chunk in cuts:
            at %= len(data) + 1
            data[at:at + len(chunk)] = chunk
        target.write_bytes(bytes(data[: max(1, truncate % (len(data) + 1))] if truncate % 3 == 0 else data))
        try:
            loaders[kind](target)
        except (ValueError, TypeError, MemoryError):
            pass

    check()
    assert hypothesis is not None


@pytest.mark.parametrize("build_inputs", ['{"fc1": [[1152921504606846976], "float32"]}', '{"fc1": [[-3], "float32"]}',
                                          '{"fc1": [[3], "os.system"]}', '[1, 2]', '{"fc1": 7}', 'not json'])
def test_hostile_build_inputs_are_refused(tmp_path, build_inputs):
    model = MyNet(hidden=4)
    model.predict(np.zeros((2, 3), np.float32))
    path = tmp_path / "b.safetensors"
    model.save(path)
    from aimass.nn.serialization import _read

    tensors, metadata = _read(str(path))
    assert json.loads(metadata["build_inputs"]) == {"fc1": [[3], "float32"], "fc2": [[4], "float32"]}
    metadata["build_inputs"] = build_inputs
    save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(ValueError, match="b.safetensors"):
        am.load(path, custom_objects={"MyNet": MyNet})

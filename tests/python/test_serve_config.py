"""A served model's config.json (aimass/serve/_config.py): Triton's fields parsed and resolved,
every bad field a 400 ServeError naming it."""
import json

import pytest

from aimass.serve._config import ModelConfig, config_json, parse_config, read_config
from aimass.serve._errors import ServeError


def test_defaults_without_a_config_file(tmp_path):
    (tmp_path / "digits").mkdir()
    cfg = read_config(str(tmp_path / "digits"))
    assert cfg == ModelConfig(name="digits")
    assert cfg.max_batch_size == 32 and cfg.version_policy == ("latest", 1) and cfg.instance_count == 1


def test_triton_fields_are_read():
    raw = {"max_batch_size": 64, "input": [{"name": "x", "data_type": "TYPE_FP32", "dims": [64]}],
           "output": [{"name": "y", "data_type": "FP32", "dims": [-1, 10]}],
           "dynamic_batching": {"preferred_batch_size": [16, 8], "max_queue_delay_microseconds": 500,
                                "default_queue_policy": {"max_queue_size": 100, "default_timeout_microseconds": "2000"}},
           "instance_group": [{"count": 2, "kind": "KIND_CPU"}], "version_policy": {"specific": {"versions": [3, 1]}},
           "traffic": {"1": 90, "3": 10}, "aliases": {"champion": 1}, "default_version": "champion",
           "shadow_version": 3, "knn": {"k": 5}}
    cfg = parse_config(raw, "m")
    assert cfg.inputs[0].dims == (-1, 64) and cfg.inputs[0].datatype == "FP32"
    assert cfg.outputs[0].dims == (-1, 10)
    assert cfg.preferred_batch_sizes == [8, 16] and cfg.max_queue_delay_us == 500
    assert cfg.max_queue_size == 100 and cfg.default_timeout_us == 2000
    assert cfg.instance_count == 2 and cfg.instance_kind == "KIND_CPU"
    assert cfg.version_policy == ("specific", (1, 3))
    assert cfg.traffic == {1: 90.0, 3: 10.0} and cfg.aliases == {"champion": 1}
    assert cfg.default_version == "champion" and cfg.shadow_version == 3 and cfg.knn_k == 5


@pytest.mark.parametrize("raw, fragment", [
    ({"nonsense": 1}, "unknown field"),
    ({"name": "other"}, "differs from the model's folder"),
    ({"max_batch_size": -1}, "max_batch_size"),
    ({"max_batch_size": "many"}, "max_batch_size"),
    ({"input": {"name": "x"}}, "input must be a list"),
    ({"input": [{"dims": [3]}]}, "non-empty name"),
    ({"input": [{"name": "x", "data_type": "TYPE_COMPLEX"}]}, "unknown data_type"),
    ({"input": [{"name": "x", "dims": [-5]}]}, "dims"),
    ({"input": [{"name": "x"}, {"name": "x"}]}, "twice"),
    ({"max_batch_size": 4, "dynamic_batching": {"preferred_batch_size": [8]}}, "preferred_batch_size"),
    ({"dynamic_batching": {"max_queue_delay_microseconds": -1}}, "max_queue_delay_microseconds"),
    ({"instance_group": [{"count": 0}]}, "count"),
    ({"instance_group": [{"kind": "KIND_TPU"}]}, "KIND_GPU"),
    ({"version_policy": {"newest": {}}}, "unknown policy"),
    ({"version_policy": {"specific": {"versions": []}}}, "non-empty list"),
    ({"traffic": {"x": 1}}, "not a version number"),
    ({"traffic": {"1": -1}}, "weight"),
    ({"traffic": {"1": 0}}, "sum to 0"),
    ({"aliases": {"2": 1}}, "non-numeric"),
    ({"default_version": "blue"}, "default_version"),
    ({"shadow_version": 0}, "shadow_version"),
    ({"knn": {"k": 0}}, "k must be"),
    ([1, 2], "JSON object"),
])
def test_bad_fields_are_400_naming_the_field(raw, fragment):
    with pytest.raises(ServeError) as e:
        parse_config(raw, "m")
    assert e.value.status == 400 and fragment in str(e.value)


def test_corrupt_config_file_is_a_clear_error(tmp_path):
    d = tmp_path / "m"
    d.mkdir()
    (d / "config.json").write_text("{not json")
    with pytest.raises(ServeError, match="not valid JSON"):
        read_config(str(d))


def test_resolved_config_uses_tritons_names():
    from types import SimpleNamespace as T

    cfg = parse_config({"max_batch_size": 8, "aliases": {"blue": 1}}, "m")
    out = config_json(cfg, [T(name="x", datatype="FP32", shape=(-1, 4))], [T(name="y", datatype="BYTES", shape=(-1, 1))],
                      "aimass_model")
    assert out["input"] == [{"name": "x", "data_type": "TYPE_FP32", "dims": [4]}]
    assert out["output"][0]["data_type"] == "TYPE_STRING"
    assert out["version_policy"] == {"latest": {"num_versions": 1}} and out["aliases"] == {"blue": 1}
    json.dumps(out)

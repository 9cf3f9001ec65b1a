"""A served model's config.json: Triton's field names (in their JSON form) plus ours.

Every field is optional; without a config.json the server reads inputs, outputs and shapes from
the model file. Fields:

    name                   the model's name (default: its folder's name; must match it)
    max_batch_size         rows one execution may hold (default 32); 0: no batching (each
                           request runs alone, any number of rows)
    input / output         [{"name", "data_type" ("TYPE_FP32" or "FP32"), "dims" ([-1, 64]
                           with -1 for the batch dimension, or Triton's [64] without it)}]:
                           renames and declares the model's tensors (checked against the file)
    dynamic_batching       {"preferred_batch_size": [8, 16], "max_queue_delay_microseconds": 100,
                            "default_queue_policy": {"max_queue_size": 0,
                                                     "default_timeout_microseconds": 0}}
                           (max_queue_size 0: no bound; a full queue answers 503 at once)
    instance_group         [{"count": 1, "kind": "KIND_CPU" | "KIND_GPU" | "KIND_AUTO"}]:
                           batches run in parallel; KIND_GPU puts the model on the GPU,
                           KIND_AUTO (default) on the GPU when one is available
    version_policy         {"latest": {"num_versions": 1}} (default) | {"all": {}} |
                           {"specific": {"versions": [1, 3]}}
    traffic                {"1": 90, "2": 10}: weights of the versions that serve requests naming
                           no version (canary, A/B); default: the newest loaded version
    aliases                {"champion": 2, "canary": 3}: names a request may give as its version
                           (/v2/models/m/versions/champion/infer); "default_version" may name one
    default_version        a version or alias serving requests that name none (blue-green: point
                           it, or the alias it names, at the other version)
    shadow_version         a version that receives a copy of every request served by the others;
                           its answers are dropped
    knn                    {"k": 10}: a k-NN service's default k (a request's parameters may set
                           "k" and "filter", a list of allowed ids)
    parameters             free-form {"key": value} shown in /config
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from ._errors import ServeError

CONFIG_FILE = "config.json"
MAX_CONFIG_BYTES = 1 << 20
_KNOWN = {"name", "max_batch_size", "input", "output", "dynamic_batching", "instance_group", "version_policy",
          "traffic", "aliases", "default_version", "shadow_version", "knn", "parameters", "platform", "backend"}


@dataclass
class TensorConfig:
    name: str
    datatype: str | None = None   # v2 name ("FP32"), None: from the model file
    dims: tuple[int, ...] | None = None  # with the batch dimension (-1) first, None: from the model file


@dataclass
class ModelConfig:
    name: str
    max_batch_size: int = 32
    inputs: list[TensorConfig] = field(default_factory=list)
    outputs: list[TensorConfig] = field(default_factory=list)
    preferred_batch_sizes: list[int] = field(default_factory=list)
    max_queue_delay_us: int = 100
    max_queue_size: int = 0
    default_timeout_us: int = 0
    instance_count: int = 1
    instance_kind: str = "KIND_AUTO"
    version_policy: tuple = ("latest", 1)   # ("latest", n) | ("all",) | ("specific", (1, 3))
    traffic: dict[int, float] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    default_version: str | None = None
    shadow_version: int | None = None
    knn_k: int = 10
    parameters: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict)


def _bad(path: str, msg: str) -> ServeError:
    return ServeError(400, f"{path}: {msg}")


def _int(path, obj, key, default, low=0, high=1 << 31):
    v = obj.get(key, default)
    if isinstance(v, str) and v.strip().lstrip("-").isdigit():
        v = int(v)  # Triton's JSON gives int64 fields as strings
    if not isinstance(v, int) or isinstance(v, bool) or not low <= v <= high:
        raise _bad(path, f"{key} must be an integer in [{low}, {high}], got {v!r}")
    return v


def _dict(path, obj, key) -> dict:
    v = obj.get(key, {})
    if not isinstance(v, dict):
        raise _bad(path, f"{key} must be an object, got {type(v).__name__}")
    return v


def _datatype(path: str, v) -> str:
    from ._protocol import numpy_dtype

    if not isinstance(v, str):
        raise _bad(path, f"data_type must be a string such as 'TYPE_FP32', got {v!r}")
    name = v[5:] if v.startswith("TYPE_") else v
    name = {"STRING": "BYTES"}.get(name, name)
    try:
        numpy_dtype(name)
    except ServeError:
        raise _bad(path, f"unknown data_type {v!r}") from None
    return name


def _tensors(path: str, obj: dict, key: str, batched: bool) -> list[TensorConfig]:
    items = obj.get(key, [])
    if not isinstance(items, list):
        raise _bad(path, f"{key} must be a list of tensors")
    out = []
    for i, t in enumerate(items):
        where = f"{key}[{i}]"
        if not isinstance(t, dict) or not isinstance(t.get("name"), str) or not t["name"]:
            raise _bad(path, f"{where} must be an object with a non-empty name")
        datatype = _datatype(f"{path}: {where}", t["data_type"]) if "data_type" in t else None
        dims = None
        if "dims" in t:
            d = t["dims"]
            if not isinstance(d, list) or not all(isinstance(x, int) and not isinstance(x, bool) and x >= -1 for x in d):
                raise _bad(path, f"{where}.dims must be a list of sizes (-1 for any), got {d!r}")
            dims = tuple(d) if (not batched or (d and d[0] == -1 and len(d) > 1)) else (-1, *d)
        out.append(TensorConfig(t["name"], datatype, dims))
    names = [t.name for t in out]
    if len(set(names)) != len(names):
        raise _bad(path, f"{key} names a tensor twice: {names}")
    return out


def _version_policy(path: str, obj: dict) -> tuple:
    policy = _dict(path, obj, "version_policy")
    if not policy:
        return ("latest", 1)
    if len(policy) != 1:
        raise _bad(path, f"version_policy must have one of latest, all, specific; got {sorted(policy)}")
    kind, value = next(iter(policy.items()))
    if not isinstance(value, dict):
        raise _bad(path, f"version_policy.{kind} must be an object")
    if kind == "latest":
        return ("latest", _int(path, value, "num_versions", 1, 1, 1 << 20))
    if kind == "all":
        return ("all",)
    if kind == "specific":
        versions = value.get("versions")
        if not isinstance(versions, list) or not versions or not all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in versions):
            raise _bad(path, "version_policy.specific.versions must be a non-empty list of versions >= 1")
        return ("specific", tuple(sorted(set(versions))))
    raise _bad(path, f"version_policy: unknown policy {kind!r} (latest, all or specific)")


def _version_number(path: str, key: str, v) -> int:
    if isinstance(v, str) and v.isdigit():
        v = int(v)
    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
        raise _bad(path, f"{key}: {v!r} is not a version number")
    return v


def parse_config(raw: dict, folder_name: str, path: str = CONFIG_FILE) -> ModelConfig:
    """The ModelConfig of a parsed config.json (ServeError 400 naming the field on a bad one)."""
    if not isinstance(raw, dict):
        raise _bad(path, "the config must be a JSON object")
    unknown = sorted(set(raw) - _KNOWN)
    if unknown:
        raise _bad(path, f"unknown field(s) {unknown}; known: {sorted(_KNOWN)}")
    name = raw.get("name", folder_name)
    if name != folder_name:
        raise _bad(path, f"name {name!r} differs from the model's folder {folder_name!r}")
    cfg = ModelConfig(name=folder_name, raw=raw)
    cfg.max_batch_size = _int(path, raw, "max_batch_size", 32, 0, 1 << 20)
    batched = cfg.max_batch_size > 0
    cfg.inputs = _tensors(path, raw, "input", batched)
    cfg.outputs = _tensors(path, raw, "output", batched)
    db = _dict(path, raw, "dynamic_batching")
    pref = db.get("preferred_batch_size", [])
    if not isinstance(pref, list) or not all(isinstance(p, int) and not isinstance(p, bool) for p in pref):
        raise _bad(path, "dynamic_batching.preferred_batch_size must be a list of integers")
    if any(not 1 <= p <= max(cfg.max_batch_size, 1) for p in pref):
        raise _bad(path, f"dynamic_batching.preferred_batch_size {pref} must lie in [1, max_batch_size={cfg.max_batch_size}]")
    cfg.preferred_batch_sizes = sorted(set(pref))
    cfg.max_queue_delay_us = _int(path, db, "max_queue_delay_microseconds", 100, 0, 60_000_000)
    qp = _dict(path, db, "default_queue_policy")
    cfg.max_queue_size = _int(path, qp, "max_queue_size", 0, 0, 1 << 30)
    cfg.default_timeout_us = _int(path, qp, "default_timeout_microseconds", 0, 0, 3_600_000_000)
    groups = raw.get("instance_group", [])
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        raise _bad(path, "instance_group must be a list of objects")
    if groups:
        cfg.instance_count = sum(_int(path, g, "count", 1, 1, 256) for g in groups)
        kinds = {g.get("kind", "KIND_AUTO") for g in groups}
        if len(kinds) != 1 or not kinds <= {"KIND_AUTO", "KIND_CPU", "KIND_GPU"}:
            raise _bad(path, f"instance_group kinds {sorted(map(str, kinds))}: give one of KIND_AUTO, KIND_CPU, KIND_GPU")
        cfg.instance_kind = kinds.pop()
        if cfg.instance_count > 256:
            raise _bad(path, f"instance_group counts sum to {cfg.instance_count}, more than 256")
    cfg.version_policy = _version_policy(path, raw)
    traffic = _dict(path, raw, "traffic")
    for k, w in traffic.items():
        if not isinstance(w, (int, float)) or isinstance(w, bool) or w < 0:
            raise _bad(path, f"traffic[{k!r}] must be a weight >= 0, got {w!r}")
        cfg.traffic[_version_number(path, "traffic", k)] = float(w)
    if traffic and sum(cfg.traffic.values()) <= 0:
        raise _bad(path, "traffic weights sum to 0")
    for alias, v in _dict(path, raw, "aliases").items():
        if not alias or alias.isdigit():
            raise _bad(path, f"alias {alias!r} must be a non-numeric name")
        cfg.aliases[alias] = _version_number(path, f"aliases[{alias!r}]", v)
    dv = raw.get("default_version")
    if dv is not None:
        if isinstance(dv, int) and not isinstance(dv, bool):
            dv = str(dv)
        if not isinstance(dv, str) or not (dv.isdigit() or dv in cfg.aliases):
            raise _bad(path, f"default_version {dv!r} must be a version number or one of the aliases {sorted(cfg.aliases)}")
        cfg.default_version = dv
    if raw.get("shadow_version") is not None:
        cfg.shadow_version = _version_number(path, "shadow_version", raw["shadow_version"])
    cfg.knn_k = _int(path, _dict(path, raw, "knn"), "k", 10, 1, 1 << 20)
    cfg.parameters = _dict(path, raw, "parameters")
    return cfg


def read_config(model_dir: str) -> ModelConfig:
    """The config of the model in model_dir (its config.json, or the defaults without one)."""
    name = os.path.basename(os.path.normpath(model_dir))
    path = os.path.join(model_dir, CONFIG_FILE)
    if not os.path.exists(path):
        return ModelConfig(name=name)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_CONFIG_BYTES + 1)
        if len(data) > MAX_CONFIG_BYTES:
            raise _bad(path, f"larger than {MAX_CONFIG_BYTES} bytes")
        raw = json.loads(data)
    except OSError as e:
        raise _bad(path, f"cannot be read: {e.strerror or e}") from None
    except (ValueError, RecursionError) as e:
        raise _bad(path, f"is not valid JSON: {e}") from None
    return parse_config(raw, name, path)


def config_json(cfg: ModelConfig, inputs, outputs, platform: str) -> dict:
    """The resolved config as /v2/models/{m}/config shows it (Triton's names)."""
    out = {
        "name": cfg.name,
        "platform": platform,
        "backend": "aimass",
        "max_batch_size": cfg.max_batch_size,
        "input": [{"name": t.name, "data_type": "TYPE_" + ("STRING" if t.datatype == "BYTES" else t.datatype),
                   "dims": list(t.shape[1:] if cfg.max_batch_size > 0 else t.shape)} for t in inputs],
        "output": [{"name": t.name, "data_type": "TYPE_" + ("STRING" if t.datatype == "BYTES" else t.datatype),
                    "dims": list(t.shape[1:] if cfg.max_batch_size > 0 else t.shape)} for t in outputs],
        "dynamic_batching": {"preferred_batch_size": cfg.preferred_batch_sizes,
                             "max_queue_delay_microseconds": cfg.max_queue_delay_us,
                             "default_queue_policy": {"max_queue_size": cfg.max_queue_size,
                                                      "default_timeout_microseconds": cfg.default_timeout_us}},
        "instance_group": [{"count": cfg.instance_count, "kind": cfg.instance_kind}],
        "version_policy": ({"latest": {"num_versions": cfg.version_policy[1]}} if cfg.version_policy[0] == "latest"
                           else {"all": {}} if cfg.version_policy[0] == "all"
                           else {"specific": {"versions": list(cfg.version_policy[1])}}),
        "parameters": cfg.parameters,
    }
    if cfg.traffic:
        out["traffic"] = {str(k): v for k, v in cfg.traffic.items()}
    if cfg.aliases:
        out["aliases"] = dict(cfg.aliases)
    if cfg.default_version is not None:
        out["default_version"] = cfg.default_version
    if cfg.shadow_version is not None:
        out["shadow_version"] = cfg.shadow_version
    return out

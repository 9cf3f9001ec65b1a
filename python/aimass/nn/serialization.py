"""Model files: one safetensors file holding the weights, the architecture and, optionally, the
training configuration and optimizer state. No pickle.

Layout (format "aimass.model", version 1):
  tensors         the model's state_dict by name ("0.weight", "3.running_mean", ...), and the
                  optimizer's tensors under "optimizer/<path>";
  __metadata__    "format", "version", "aimass_version", "architecture" (JSON: {"class": "Sequential",
                  "layers": [{"class": "Conv2D", "config": {...}}, ...]}), and when saved with an
                  optimizer "training" (JSON: the loss, the metrics, the optimizer's class and the
                  non-tensor part of its state_dict, tensors replaced by their names).

The safetensors package reads the file (safetensors.numpy.load_file). Writes go to a temporary
file in the same folder, then os.replace: a failed save leaves the old file whole.
"""
from __future__ import annotations

import importlib
import json
import os
import tempfile
from typing import Any

import numpy as np

from .. import _core
from .module import Module

FORMAT = "aimass.model"
VERSION = 1
_TENSOR_REF = "__tensor__"


# ---------------------------------------------------------------------------------------------
# architecture

def model_config(module: Module) -> dict:
    """The JSON-able description that rebuilds ``module`` (without its weights)."""
    from . import layers

    cls = type(module)
    if isinstance(module, layers.Sequential) and cls is layers.Sequential:
        return {"class": "Sequential", "layers": [model_config(m) for m in module]}
    if getattr(layers, cls.__name__, None) is cls:
        return {"class": cls.__name__, "config": module.get_config()}
    get_config = getattr(module, "get_config", None)
    return {"class": f"{cls.__module__}:{cls.__qualname__}", "config": get_config() if callable(get_config) else {}}


def from_config(config: dict) -> Module:
    """Rebuilds a module from model_config's description."""
    from . import layers

    name = config.get("class")
    if name == "Sequential":
        return layers.Sequential([from_config(c) for c in config.get("layers", [])])
    kwargs = config.get("config", {})
    if isinstance(name, str) and ":" in name:
        module_name, qualname = name.split(":", 1)
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
        try:
            return obj(**kwargs)
        except TypeError as e:
            raise ValueError(f"cannot rebuild {name} from {kwargs}: {e} (give the class a get_config() returning "
                             f"its constructor arguments)") from e
    cls = getattr(layers, name, None) if isinstance(name, str) else None
    if cls is None or not isinstance(cls, type):
        raise ValueError(f"unknown layer class {name!r} in the architecture")
    return cls(**kwargs)


# ---------------------------------------------------------------------------------------------
# nested state (optimizer state_dict) <-> tensors + JSON

def _flatten(obj, path: str, tensors: dict[str, np.ndarray]):
    if isinstance(obj, dict):
        return {str(k): _flatten(v, f"{path}/{k}", tensors) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_flatten(v, f"{path}/{i}", tensors) for i, v in enumerate(obj)]
    if isinstance(obj, _core.Tensor):
        obj = obj.cpu().numpy()
    if isinstance(obj, np.ndarray):
        tensors[path] = np.ascontiguousarray(obj)
        return {_TENSOR_REF: path}
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _unflatten(obj, tensors: dict[str, np.ndarray]):
    if isinstance(obj, dict):
        if set(obj) == {_TENSOR_REF}:
            return tensors[obj[_TENSOR_REF]]
        return {k: _unflatten(v, tensors) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_unflatten(v, tensors) for v in obj]
    return obj


# ---------------------------------------------------------------------------------------------
# save / load

def _atomic_save(tensors: dict[str, np.ndarray], metadata: dict[str, str], path: str) -> None:
    from safetensors.numpy import save_file

    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".aimass-", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def save(self: Module, path: str | os.PathLike, include_optimizer: bool = True) -> None:
    """Writes the model (architecture and weights, and the compile settings with the optimizer
    state when compiled and include_optimizer) to one safetensors file, atomically."""
    path = os.fspath(path)
    tensors = {name: np.ascontiguousarray(t.cpu().numpy()) for name, t in self.state_dict().items()}
    metadata = {"format": FORMAT, "version": str(VERSION), "aimass_version": _core.version(),
                "architecture": json.dumps(model_config(self))}
    compiled = self.__dict__.get("_compiled")
    if include_optimizer and compiled is not None:
        training: dict[str, Any] = {"loss": compiled["loss"].get_config(),
                                    "metrics": [m.name for m in compiled["metrics"]]}
        opt = compiled["optimizer"]
        if not isinstance(opt, str):
            training["optimizer"] = {"class": type(opt).__name__,
                                     "state": _flatten(opt.state_dict(), "optimizer", tensors),
                                     "param_index": _param_index(opt, list(self.parameters()))}
        else:
            training["optimizer"] = {"name": opt}
        metadata["training"] = json.dumps(training)
    _atomic_save(tensors, metadata, path)


def _param_index(opt, params) -> list[list[int]]:
    """Which model parameter each optimizer parameter is, group by group (to rebuild the groups)."""
    position = {hash(p): i for i, p in enumerate(params)}  # Tensor hashes by its native tensor
    index = []
    for group in opt.param_groups:
        try:
            index.append([position[hash(p)] for p in group["params"]])
        except KeyError:
            raise ValueError("model.save: the optimizer holds a tensor that is not one of the model's parameters; "
                             "save with include_optimizer=False") from None
    return index


def _read(path: str) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    from safetensors import safe_open

    if not os.path.exists(path):
        raise FileNotFoundError(f"am.load: no such file: {path!r}")
    try:
        with safe_open(path, framework="np") as f:
            metadata = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error types for truncated / corrupt files
        raise ValueError(f"am.load: {path!r} is not a readable safetensors file (truncated or corrupt?): {e}") from e
    if metadata.get("format") != FORMAT:
        raise ValueError(f"am.load: {path!r} is a safetensors file but not an aimass model (format "
                         f"{metadata.get('format')!r}); load plain weights with model.load_state_dict")
    if int(metadata.get("version", "0")) > VERSION:
        raise ValueError(f"am.load: {path!r} has format version {metadata['version']}, newer than this aimass "
                         f"reads ({VERSION}): upgrade aimass")
    return tensors, metadata


def load(path: str | os.PathLike, compile: bool = True) -> Module:
    """Rebuilds a model saved by model.save: architecture, weights (exactly), and with compile the
    loss, metrics and optimizer with its state."""
    path = os.fspath(path)
    tensors, metadata = _read(path)
    try:
        model = from_config(json.loads(metadata["architecture"]))
    except (KeyError, json.JSONDecodeError) as e:
        raise ValueError(f"am.load: {path!r} has a missing or corrupt architecture: {e}") from e
    weights = {k: v for k, v in tensors.items() if not k.startswith("optimizer/")}
    try:
        model.load_state_dict(weights)
    except ValueError as e:
        raise ValueError(f"am.load: the weights in {path!r} do not fit its architecture: {e}") from e
    if compile and "training" in metadata:
        _restore_training(model, json.loads(metadata["training"]), tensors, path)
    return model


def _restore_training(model: Module, training: dict, tensors: dict, path: str) -> None:
    from .. import optim
    from .losses import Loss

    loss_cfg = dict(training["loss"])
    loss = Loss(loss_cfg.pop("kind"), **loss_cfg)
    opt_cfg = training.get("optimizer", {})
    if "name" in opt_cfg:
        optimizer: Any = opt_cfg["name"]
    else:
        cls = getattr(optim, opt_cfg["class"], None)
        if cls is None:
            raise ValueError(f"am.load: {path!r} names an unknown optimizer {opt_cfg['class']!r}")
        params = list(model.parameters())
        index = opt_cfg.get("param_index")
        groups = [{"params": [params[i] for i in g]} for g in index] if index else [{"params": params}]
        optimizer = cls(groups)
        optimizer.load_state_dict(_unflatten(opt_cfg["state"], tensors))
    model.compile(optimizer=optimizer, loss=loss, metrics=training.get("metrics", []))


Module.save = save

"""Model files: one safetensors file holding the weights, the architecture and, optionally, the
training configuration and optimizer state. No pickle.

Layout (format "aimass.model", version 1):
  tensors         the model's state_dict by name ("0.weight", "3.running_mean", ...), and the
                  optimizer's tensors under "optimizer/<path>";
  __metadata__    "format", "version", "aimass_version", "architecture" (JSON: {"class": "Sequential",
                  "layers": [{"class": "Conv2D", "config": {...}}, ...]}), and when saved with an
                  optimizer "training" (JSON: the loss, the metrics, the optimizer's class and the
                  non-tensor part of its state_dict, tensors replaced by their names).

Classes in "architecture" are recorded by name: aimass's own by their class name, a user's by the
name it was registered under (nn/registry.py) or its class name. Loading calls only classes of
that registry or of the caller's custom_objects, never anything the file names otherwise.

The safetensors package reads the file (safetensors.numpy.load_file). Files are written and read
by the rules in aimass/_files.py: atomically, with the umask's permissions, regular files only.
"""
from __future__ import annotations

import json
import os
from typing import Any, Mapping

import numpy as np

from .. import _core
from .._files import atomic_save, read_safetensors
from . import registry
from .module import Module

FORMAT = "aimass.model"
VERSION = 1
_TENSOR_REF = "__tensor__"


# ---------------------------------------------------------------------------------------------
# architecture

def model_config(module: Module) -> dict:
    """The JSON-able description that rebuilds ``module`` (without its weights). Classes are
    recorded by their registry name (nn/registry.py), never by a module path."""
    from . import functional_api, layers

    cls = type(module)
    if cls is layers.Sequential:
        return {"class": "Sequential", "layers": [model_config(m) for m in module]}
    if cls is functional_api.Model:
        return {"class": "Model", "graph": module.graph_config(model_config)}
    get_config = getattr(module, "get_config", None)
    return {"class": registry.name_of(cls), "config": get_config() if callable(get_config) else {}}


def from_config(config: dict, custom_objects: Mapping[str, type] | None = None, path: str = "<config>") -> Module:
    """Rebuilds a module from model_config's description. Only classes of the registry (or in
    custom_objects) are called, with the recorded constructor arguments."""
    from . import functional_api, layers

    if not isinstance(config, dict):
        raise ValueError(f"am.load: {path!r} has a corrupt architecture: expected an object, got {type(config).__name__}")
    name = config.get("class")
    if name == "Sequential":
        children = config.get("layers", [])
        if not isinstance(children, list):
            raise ValueError(f"am.load: {path!r} has a corrupt architecture: Sequential's layers must be a list")
        return layers.Sequential([from_config(c, custom_objects, path) for c in children])
    if name == "Model" and "graph" in config:
        return functional_api.Model.from_graph_config(config["graph"], lambda c: from_config(c, custom_objects, path),
                                                      path)
    cls = registry.resolve(name, custom_objects, path, what="layer class")
    kwargs = config.get("config", {})
    if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
        raise ValueError(f"am.load: {path!r} gives {name!r} a config that is not an object of named arguments")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError, OverflowError, IndexError, KeyError, MemoryError, RuntimeError) as e:
        raise ValueError(f"am.load: {path!r}: cannot rebuild {name!r} from its config {kwargs}: {e} (a class of "
                         f"your own needs a get_config() returning its constructor arguments)") from e


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

def _input_signature(model: Module) -> dict | None:
    """The per-sample shape and dtype of the input the model was first called on (or declared
    with input_shape=), which a server reads as the model's input; None when never called.
    Functional models keep theirs in the architecture."""
    shape = model.__dict__.get("_input_shape")
    if shape is None or "_graph" in model.__dict__ or any(d is None for d in shape[1:]):
        return None
    return {"shape": [int(d) for d in shape[1:]], "dtype": str(model.__dict__.get("_input_dtype", "float32"))}


def _restore_input_signature(model: Module, text: str | None, path: str) -> None:
    if text is None or "_graph" in model.__dict__:
        return
    try:
        spec = json.loads(text)
        shape = tuple(int(d) for d in spec["shape"])
        dtype = str(spec["dtype"])
        if any(d < 0 for d in shape) or dtype not in _SIGNATURE_DTYPES:
            raise ValueError(f"shape {list(shape)} or dtype {dtype!r} is not valid")
    except (ValueError, TypeError, KeyError, RecursionError) as e:
        raise ValueError(f"am.load: {path!r} has a corrupt input signature ({e})") from None
    object.__setattr__(model, "_input_shape", (None, *shape))
    object.__setattr__(model, "_input_dtype", dtype)


_SIGNATURE_DTYPES = {"float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"}


def save(self: Module, path: str | os.PathLike, include_optimizer: bool = True) -> None:
    """Writes the model (architecture and weights, and the compile settings with the optimizer
    state when compiled and include_optimizer) to one safetensors file, atomically."""
    path = os.fspath(path)
    tensors = {name: np.ascontiguousarray(t.cpu().numpy()) for name, t in self.state_dict().items()}
    metadata = {"format": FORMAT, "version": str(VERSION), "aimass_version": _core.version(),
                "architecture": json.dumps(model_config(self))}
    build_inputs = {name: [list(spec[0]), str(spec[1])] for name, m in self.named_modules()
                    if (spec := m._build_input) is not None and not list(m.children())}
    if build_inputs:
        metadata["build_inputs"] = json.dumps(build_inputs)
    if (signature := _input_signature(self)) is not None:
        metadata["input_signature"] = json.dumps(signature)
    compiled = self.__dict__.get("_compiled")
    if include_optimizer and compiled is not None:
        training: dict[str, Any] = {"loss": compiled["loss"].get_config(),
                                    "metrics": [m.name for m in compiled["metrics"]]}
        opt = compiled["optimizer"]
        if not isinstance(opt, str) and not opt.is_bound:  # compiled before the layers were built
            training["optimizer"] = {"class": type(opt).__name__, "options": opt.defaults}
        elif not isinstance(opt, str):
            training["optimizer"] = {"class": type(opt).__name__,
                                     "state": _flatten(opt.state_dict(), "optimizer", tensors),
                                     "param_index": _param_index(opt, list(self.parameters()))}
        else:
            training["optimizer"] = {"name": opt}
        metadata["training"] = json.dumps(training)
    atomic_save(tensors, metadata, path)


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
    tensors, metadata = read_safetensors(path, "am.load")
    if metadata.get("format") != FORMAT:
        raise ValueError(f"am.load: {path!r} is a safetensors file but not an aimass model (format "
                         f"{metadata.get('format')!r}); load plain weights with model.load_state_dict")
    version = metadata.get("version", "0")
    if not version.isdigit() or int(version) > VERSION:
        raise ValueError(f"am.load: {path!r} has format version {metadata['version']}, newer than this aimass "
                         f"reads ({VERSION}): upgrade aimass")
    return tensors, metadata


def load(path: str | os.PathLike, compile: bool = True, custom_objects: Mapping[str, type] | None = None) -> Module:
    """Rebuilds a model saved by model.save: architecture, weights (exactly), and with compile the
    loss, metrics and optimizer with its state. The architecture is rebuilt only from aimass's own
    classes, classes registered with @am.nn.register_serializable, and ``custom_objects``
    ({"MyNet": MyNet}); any other name is a ValueError and nothing is imported or called."""
    path = os.fspath(path)
    tensors, metadata = _read(path)
    try:
        architecture = json.loads(metadata["architecture"])
        training = json.loads(metadata["training"]) if compile and "training" in metadata else None
    except (KeyError, ValueError, RecursionError) as e:
        raise ValueError(f"am.load: {path!r} has a missing or corrupt architecture: {e}") from None
    try:
        model = from_config(architecture, custom_objects, path)
    except RecursionError:
        raise ValueError(f"am.load: {path!r} has an architecture nested too deeply") from None
    _build_lazy_layers(model, metadata.get("build_inputs"), path)
    _restore_input_signature(model, metadata.get("input_signature"), path)
    weights = {k: v for k, v in tensors.items() if not k.startswith("optimizer/")}
    from ..quant._prune import add_mask_buffers  # pruning masks (am.quant.prune) are buffers the layers lack

    add_mask_buffers(model, weights, path)
    try:
        model.load_state_dict(weights)
    except (ValueError, TypeError, KeyError) as e:
        raise ValueError(f"am.load: the weights in {path!r} do not fit its architecture: {e}") from e
    if training is not None:
        try:
            _restore_training(model, training, tensors, path)
        except (TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError, RuntimeError) as e:
            if str(path) in str(e):
                raise
            raise ValueError(f"am.load: {path!r} has a corrupt training configuration: {e} (load it with "
                             "compile=False to get the weights alone)") from e
    return model


_MAX_BUILD_ELEMENTS = 1 << 24


def _build_lazy_layers(model: Module, build_inputs: str | None, path: str) -> None:
    """Sizes the layers that a file's architecture leaves lazily unbuilt (the layers of a class of
    the user's own, made in its __init__) by calling each on zeros of the per-sample input shape
    recorded at save time (Module._build_input), so that the weights can be copied in."""
    if build_inputs is None or all(m.built for m in model.modules()):
        return
    from .. import autograd, zeros

    try:
        specs = json.loads(build_inputs)
        if not isinstance(specs, dict):
            raise TypeError("expected an object of layer names")
        calls = []
        for name, m in model.named_modules():
            if m.built or name not in specs or list(m.children()):
                continue
            shape, dtype = specs[name]
            shape = [int(d) for d in shape]
            if any(d < 0 for d in shape) or float(np.prod(shape, dtype=np.float64)) > _MAX_BUILD_ELEMENTS:
                raise ValueError(f"layer {name!r}: input shape {shape} is negative or too large")
            calls.append((name, m, zeros((1, *shape), dtype=str(dtype))))
    except (ValueError, TypeError, KeyError, OverflowError, RecursionError) as e:
        raise ValueError(f"am.load: {path!r} has corrupt build inputs ({e})") from None
    with autograd.no_grad():
        for name, m, x in calls:
            training = m.training
            m.eval()
            try:
                m(x)
            except (ValueError, TypeError, RuntimeError, IndexError) as e:
                raise ValueError(f"am.load: {path!r}: cannot size layer {name!r} on its recorded input: {e}") from e
            finally:
                m.train(training)


def _restore_training(model: Module, training: dict, tensors: dict, path: str) -> None:
    from .losses import Loss

    loss_cfg = dict(training["loss"])
    loss = Loss(loss_cfg.pop("kind"), **loss_cfg)
    opt_cfg = training.get("optimizer", {})
    if "name" in opt_cfg:
        optimizer: Any = opt_cfg["name"]
    else:
        cls = registry.optimizer_class(opt_cfg.get("class"), path)
        if "options" in opt_cfg:  # saved unbound: compile binds it
            options = opt_cfg["options"]
            if not isinstance(options, dict) or not all(isinstance(v, (int, float, list)) for v in options.values()):
                raise ValueError(f"the options of {cls.__name__} must be an object of numbers, got {options!r}")
            model.compile(optimizer=cls(**options), loss=loss, metrics=training.get("metrics", []))
            return
        params = list(model.parameters())
        index = opt_cfg.get("param_index")
        groups = [{"params": [params[i] for i in g]} for g in index] if index else [{"params": params}]
        optimizer = cls(groups)
        optimizer.load_state_dict(_unflatten(opt_cfg["state"], tensors))
    model.compile(optimizer=optimizer, loss=loss, metrics=training.get("metrics", []))


Module.save = save

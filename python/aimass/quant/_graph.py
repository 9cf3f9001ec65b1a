"""Rebuilding a model with some of its layers replaced: the walk that am.quant's transforms
(BatchNorm folding, calibration, quantisation) share. Sequential and functional models (and a
single layer) are rebuilt; their other layers are copied (from their config and weights), so the
result never shares a layer with the model it came from."""
from __future__ import annotations

from typing import Callable

from ..nn import functional_api, layers
from ..nn.module import Module, _is_python_forward
from ..nn.serialization import from_config, model_config

# replace(path, layer) -> a new layer, or None to copy the layer as it is.
Replace = Callable[[str, Module], "Module | None"]


def copy_layer(layer: Module) -> Module:
    """A new layer of the same class, config and weights."""
    new = from_config(model_config(layer))
    state = layer.state_dict()
    if state:
        new.load_state_dict(state)
    return new


def rebuild(model: Module, replace: Replace, *, copy_others: bool = True, prefix: str = "") -> Module:
    """``model`` rebuilt with replace(path, layer) for every leaf layer (paths as named_modules
    gives them: "0", "2.1", "conv1"). Containers are rebuilt around the results."""
    cls = type(model)
    if cls is layers.Sequential:
        return layers.Sequential([rebuild(child, replace, copy_others=copy_others, prefix=f"{prefix}{name}.")
                                  for name, child in model.named_children()])
    if cls is functional_api.Model:
        g = model._graph
        new_layers = [(name, rebuild(layer, replace, copy_others=copy_others, prefix=f"{prefix}{name}."))
                      for name, layer in g["layers"]]
        return functional_api.Model._from_graph(new_layers, list(g["nodes"]), list(g["inputs"]), list(g["outputs"]),
                                                list(g["input_shapes"]), list(g["input_dtypes"]),
                                                list(g["input_names"]), model.name)
    path = prefix[:-1] if prefix.endswith(".") else prefix
    new = replace(path, model)
    if new is not None:
        return new
    if not copy_others:
        return model
    check_rebuildable(model)
    return copy_layer(model)


def check_rebuildable(model: Module) -> None:
    """NotImplementedError for a model subclassed in Python (its forward is code, not a graph)."""
    if _is_python_forward(model):
        raise NotImplementedError(
            f"am.quant: {type(model).__name__} is a model subclassed in Python; am.quant rebuilds Sequential and "
            f"functional models (am.nn.Model) and single layers. Build it as one of those, or quantise its layers")


def leaf_layers(model: Module, prefix: str = "") -> list[tuple[str, Module]]:
    """(path, layer) for every leaf layer, in the order rebuild visits them."""
    cls = type(model)
    if cls is layers.Sequential:
        out = []
        for name, child in model.named_children():
            out += leaf_layers(child, f"{prefix}{name}.")
        return out
    if cls is functional_api.Model:
        out = []
        for name, layer in model._graph["layers"]:
            out += leaf_layers(layer, f"{prefix}{name}.")
        return out
    return [(prefix[:-1] if prefix.endswith(".") else prefix, model)]

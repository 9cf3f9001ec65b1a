"""Folding for inference, before quantisation (as ONNX Runtime and PyTorch's fuse_modules do):
in a Sequential, a Conv2D (or Dense) followed by BatchNorm becomes one Conv2D with the
normalisation folded into its weights and bias, and a following ReLU layer becomes the layer's
own activation (fused into the int8 kernels' output pass). The folded float model gives the
outputs of the original in eval mode (within float rounding)."""
from __future__ import annotations

import numpy as np

from .. import tensor
from ..nn import functional_api, layers
from ..nn.module import Module
from ._graph import copy_layer


def _is_relu(layer: Module) -> bool:
    if type(layer) is layers.ReLU:
        return True
    return type(layer) is layers.Activation and layer.get_config().get("activation") == "relu"


def _can_fold_bn(layer: Module, bn: Module) -> bool:
    config = bn.get_config()
    return (type(layer) is layers.Conv2D and type(bn) is layers.BatchNorm2D
            or type(layer) is layers.Dense and type(bn) is layers.BatchNorm1D) and \
        layer.get_config().get("activation") is None and config.get("track_running_stats", True)


def _with(layer: Module, weight: np.ndarray, bias: np.ndarray | None, **config) -> Module:
    """A copy of ``layer`` with new weights (and bias, use_bias following) and config changes."""
    cfg = dict(layer.get_config(), **config)
    if bias is not None:
        cfg["use_bias"] = True
    new = type(layer)(**cfg)
    state = {"weight": tensor(weight.astype(np.float32))}
    if bias is not None:
        state["bias"] = tensor(bias.astype(np.float32))
    elif cfg.get("use_bias", True):
        state["bias"] = layer.state_dict()["bias"]
    new.load_state_dict(state)
    return new


def fold_batchnorm(layer: Module, bn: Module) -> Module:
    """layer (Conv2D / Dense without activation) then bn (eval mode) as one layer."""
    w = layer.state_dict()["weight"].numpy().astype(np.float64)
    sd = {k: v.numpy().astype(np.float64) for k, v in bn.state_dict().items()}
    n = w.shape[0]
    eps = float(bn.get_config().get("eps", 1e-5))
    gamma = sd.get("weight", np.ones(n))
    beta = sd.get("bias", np.zeros(n))
    inv = gamma / np.sqrt(sd["running_var"] + eps)
    b = layer.state_dict()["bias"].numpy().astype(np.float64) if layer.get_config().get("use_bias") else np.zeros(n)
    w_folded = w * inv.reshape((n,) + (1,) * (w.ndim - 1))
    return _with(layer, w_folded, (b - sd["running_mean"]) * inv + beta)


def with_relu(layer: Module) -> Module:
    new = type(layer)(**dict(layer.get_config(), activation="relu"))
    new.load_state_dict(layer.state_dict())
    return new


def fuse_for_inference(model: Module) -> Module:
    """A new model with Conv2D/Dense + BatchNorm folded and a following ReLU fused (in every
    Sequential, nested ones included); other models and layers are copied as they are."""
    cls = type(model)
    if cls is layers.Sequential:
        children = [child for _, child in model.named_children()]
        out: list[Module] = []
        i = 0
        while i < len(children):
            child = children[i]
            if type(child) in (layers.Conv2D, layers.Dense):
                nxt = children[i + 1] if i + 1 < len(children) else None
                if nxt is not None and _can_fold_bn(child, nxt):
                    child, i = fold_batchnorm(child, nxt), i + 1
                nxt = children[i + 1] if i + 1 < len(children) else None
                if nxt is not None and _is_relu(nxt) and child.get_config().get("activation") is None:
                    child, i = with_relu(child), i + 1
                out.append(child if child is not children[i] else copy_layer(child))
            else:
                out.append(fuse_for_inference(child))
            i += 1
        return layers.Sequential(out)
    if cls is functional_api.Model:
        from ._graph import rebuild
        return rebuild(model, lambda path, layer: None)
    return copy_layer(model)

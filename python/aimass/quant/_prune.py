"""Magnitude pruning of Dense and Conv layers (anchors: torch.nn.utils.prune, Torch-Pruning).

Unstructured (in place, masks kept through training)::

    am.quant.prune(model, 0.8)                   # the 80% smallest |w| of all Dense / Conv weights
    am.quant.prune(model, 0.5, scope="layer")    # 50% of each layer's weights
    am.quant.sparsity(model)                     # Sparsity(total=0.5, layers={"0": 0.5, ...})
    model.fit(x, y, epochs=2)                    # the pruned weights stay exactly zero
    am.quant.remove_pruning(model)               # masks folded into the weights and dropped

A pruned layer gets a buffer "weight_mask" (0/1, the weight's shape) beside its weight: it is
saved with the model and read back by am.load, and the native training loop multiplies the
weight by it after every optimizer step (csrc/quant/prune.h).

Structured (a new, smaller model)::

    small = am.quant.prune(model, 0.5, structured=True, scope="layer", importance="l2")
    print(small.prune_report)                    # parameters, file size, latency, channels kept
    small.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"])   # then fine-tune
    small.fit(x, y, epochs=3)

removes whole output channels (Conv) / units (Dense) of lowest L1 / L2 norm, and the matching
inputs of the next Dense / Conv (through BatchNorm, activations, pooling, dropout and Flatten,
where channel c of an NCHW map is the H*W consecutive features c*H*W ... c*H*W + H*W - 1).
"""
from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

from .. import _core
from .._core import nn as _nn

MASK_SUFFIX = "_mask"
_PRUNABLE = (_nn.Dense, _nn.Conv2D)  # Conv1D is a Conv2D
# Layers that keep the channel axis as it is: a channel removed before them is removed after them.
_CHANNEL_WISE = (_nn._Activation, _nn.Dropout, _nn.MaxPool2D, _nn.AvgPool2D, _nn.GlobalAveragePooling2D)
_BATCH_NORM = (_nn.BatchNorm1D, _nn.BatchNorm2D)


def _check_amount(amount) -> float:
    if isinstance(amount, bool) or not isinstance(amount, (int, float, np.floating, np.integer)):
        raise TypeError(f"prune: amount must be a number in [0, 1), got {type(amount).__name__}")
    if not 0.0 <= float(amount) < 1.0:
        raise ValueError(f"prune: amount is the fraction of weights (or channels) to remove and must be in [0, 1), "
                         f"got {amount}")
    return float(amount)


def _display(name: str) -> str:
    return name or "<model>"


def _prunable_layers(model, layers, what: str) -> list[tuple[str, object]]:
    """(name, layer) of the Dense / Conv layers to prune: every one in the model, or those given
    (layer objects or their names in model.named_modules())."""
    found = [(n, m) for n, m in model.named_modules() if isinstance(m, _PRUNABLE)]
    if layers is not None:
        by_name = dict(found)
        chosen = []
        for entry in layers:
            if isinstance(entry, str):
                if entry not in by_name:
                    raise ValueError(f"{what}: {entry!r} is not a Dense or Conv layer of this model (those are "
                                     f"{sorted(by_name)})")
                chosen.append((entry, by_name[entry]))
            else:
                match = [(n, m) for n, m in found if m is entry]
                if not match:
                    raise ValueError(f"{what}: {type(entry).__name__} given in layers= is not a Dense or Conv layer "
                                     f"of this model")
                chosen.append(match[0])
        found = chosen
    if not found:
        raise ValueError(f"{what}: the model has no prunable layer (Dense, Conv1D, Conv2D) with weights")
    for name, m in found:
        if m._parameter("weight") is None:
            raise ValueError(f"{what}: layer {_display(name)!r} ({type(m).__name__}) is not built yet: call the model "
                             f"on an input (or model.build(input_shape)) first")
    return found


def _numpy(t) -> np.ndarray:
    return t.cpu().to(_core.DType.float32).numpy()


# ---------------------------------------------------------------------------------------------
# unstructured

def _smallest(scores: np.ndarray, k: int) -> np.ndarray:
    """A 0/1 mask of scores' shape with the k smallest entries (ties: the first ones) set to 0."""
    keep = np.ones(scores.size, np.float32)
    keep[np.argsort(scores.ravel(), kind="stable")[:k]] = 0.0
    return keep.reshape(scores.shape)


def _prune_unstructured(model, amount: float, scope: str, layers):
    targets = _prunable_layers(model, layers, "prune")
    weights = [_numpy(m.weight) for _, m in targets]
    old = [_numpy(mask) if (mask := m._buffer("weight" + MASK_SUFFIX)) is not None else np.ones_like(w)
           for (_, m), w in zip(targets, weights)]
    # Already pruned entries score -1: they are removed first, so pruning again keeps them pruned.
    scores = [np.where(o > 0, np.abs(w), -1.0) for w, o in zip(weights, old)]
    if scope == "global":
        flat = np.concatenate([s.ravel() for s in scores])
        mask = _smallest(flat, int(round(amount * flat.size)))
        bounds = np.cumsum([0] + [s.size for s in scores])
        masks = [mask[a:b].reshape(s.shape) for a, b, s in zip(bounds[:-1], bounds[1:], scores)]
    else:
        masks = [_smallest(s, int(round(amount * s.size))) for s in scores]
    for (_, m), mask, o in zip(targets, masks, old):
        weight = m.weight
        value = _core.asarray(np.minimum(mask, o)).to(weight.dtype).to(weight.device)
        m._register_buffer("weight" + MASK_SUFFIX, value)
    _core.quant._apply_masks(model)
    return model


def masked_parameters(model) -> list[tuple[str, object, object]]:
    """[(parameter name, parameter, mask)] of every pruned parameter (ValueError for a mask whose
    shape is not its parameter's)."""
    return _core.quant._masked_parameters(model)


@dataclass
class Sparsity:
    """The fraction of zeros among the weights of each Dense / Conv layer (by layer name) and of
    all of them together (total); zeros / size count the weights themselves."""
    total: float
    layers: dict[str, float]
    zeros: int
    size: int


def sparsity(model) -> Sparsity:
    """How sparse the Dense / Conv weights are (exact zeros, pruned or not)."""
    layers, zeros, size = {}, 0, 0
    for name, m in _prunable_layers(model, None, "sparsity"):
        w = _numpy(m.weight)
        z = int(np.count_nonzero(w == 0))
        layers[_display(name)] = z / w.size
        zeros, size = zeros + z, size + w.size
    return Sparsity(total=zeros / size, layers=layers, zeros=zeros, size=size)


def remove_pruning(model):
    """Makes pruning permanent: every masked parameter is multiplied by its mask and the mask
    buffers are dropped, so training no longer keeps those weights at zero. Returns the model."""
    _core.quant._apply_masks(model)
    for name, _, _ in masked_parameters(model):
        module_name, _, param = name.rpartition(".")
        dict(model.named_modules())[module_name]._remove_buffer(param + MASK_SUFFIX)
    return model


def add_mask_buffers(model, state: dict, path: str = "<state>") -> None:
    """Gives model a mask buffer for every "<module>.<param>_mask" entry of state (a model file's
    weights) whose module has that parameter, so that load_state_dict can copy the masks in. A
    mask of the wrong shape is a ValueError naming it; other names are left to load_state_dict."""
    modules = dict(model.named_modules())
    for key, value in state.items():
        prefix, _, buffer = key.rpartition(".")
        if not buffer.endswith(MASK_SUFFIX) or prefix not in modules:
            continue
        module = modules[prefix]
        param = module._parameter(buffer[: -len(MASK_SUFFIX)])
        if param is None or module._buffer(buffer) is not None:
            continue
        shape = tuple(value.shape)
        if shape != tuple(param.shape):
            raise ValueError(f"am.load: {path!r}: the pruning mask {key!r} has shape {shape}, but the parameter it "
                             f"masks is {tuple(param.shape)}")
        module._register_buffer(buffer, _core.zeros(shape, dtype=param.dtype).to(param.device))


# ---------------------------------------------------------------------------------------------
# structured

@dataclass
class PruneReport:
    """What structured pruning did. channels: layer name -> (kept, before) output channels / units;
    kept: layer name -> the indices kept. Sizes: parameter counts, model file bytes (saved
    without optimizer), predict latency (ms, best of several runs on a batch of batch_size)."""
    params_before: int
    params_after: int
    file_bytes_before: int = 0
    file_bytes_after: int = 0
    latency_ms_before: float = float("nan")
    latency_ms_after: float = float("nan")
    batch_size: int = 0
    channels: dict[str, tuple[int, int]] = field(default_factory=dict)
    kept: dict[str, list[int]] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"parameters {self.params_before:,} -> {self.params_after:,} "
                 f"({self.params_after / max(self.params_before, 1):.1%})",
                 f"file size  {self.file_bytes_before:,} -> {self.file_bytes_after:,} bytes",
                 f"latency    {self.latency_ms_before:.3f} -> {self.latency_ms_after:.3f} ms "
                 f"(predict, batch {self.batch_size})"]
        lines += [f"  {name}: {k}/{n} channels kept" for name, (k, n) in self.channels.items()]
        return "\n".join(lines)


def _chain(model) -> tuple[list[tuple[str, object]], dict]:
    """The layers of a model that is a chain, in order, and its architecture (model_config).
    NotImplementedError for anything else."""
    from ..nn import functional_api, layers as nn_layers
    from ..nn.serialization import model_config

    if type(model) is nn_layers.Sequential:
        chain = [(str(i), m) for i, m in enumerate(model)]
    elif type(model) is functional_api.Model:
        g = model._graph
        nodes = g["nodes"]
        ok = (len(g["inputs"]) == 1 and len(g["outputs"]) == 1 and g["inputs"] == [0]
              and g["outputs"] == [len(nodes) - 1]
              and all(inputs == [i - 1] and layer == i - 1 for i, (layer, inputs) in enumerate(nodes) if i > 0))
        if not ok:
            raise NotImplementedError("structured pruning: this functional Model is not a chain of layers (one input, "
                                      "one output, each layer feeding the next): prune its chain-shaped parts, or "
                                      "use unstructured pruning")
        chain = list(g["layers"])
    else:
        raise NotImplementedError(f"structured pruning takes a Sequential or a chain-shaped functional Model, got "
                                  f"{type(model).__name__} (use unstructured pruning for other models)")
    for name, m in chain:
        if list(m.children()):
            raise NotImplementedError(f"structured pruning: layer {name!r} ({type(m).__name__}) is a container; "
                                      f"nested models are not supported")
    return chain, model_config(model)


def _trace_shapes(model, chain, input_shape) -> list[tuple[int, ...]]:
    """The input shape (batch 1) of every layer of the chain, from one zero sample in eval mode."""
    from ..autograd import no_grad

    if input_shape is None:
        input_shape = model.__dict__.get("_input_shape")
    if input_shape is None:
        spec = chain[0][1]._build_input
        input_shape = None if spec is None else (None, *spec[0])
    if input_shape is None:
        raise ValueError("prune(structured=True): the model's input shape is unknown: call the model on an input "
                         "first, or give input_shape=(None, ...)")
    x = _core.zeros(tuple(1 if d is None else int(d) for d in input_shape))
    shapes = []
    with no_grad(), _nn._mode(False):
        for _, m in chain:
            shapes.append(tuple(x.shape))
            x = m(x)
    return shapes


def _channel_scores(chain, i: int, importance: str) -> np.ndarray:
    """The L1 / L2 norm of each output channel's weights; when a BatchNorm follows (before the next
    Dense / Conv), times that channel's |gamma| / sqrt(running_var + eps): the scale the channel
    leaves BatchNorm with, which the weights' norm alone does not tell (BatchNorm undoes it)."""
    w = _numpy(chain[i][1].weight)  # (out, ...)
    flat = w.reshape(w.shape[0], -1).astype(np.float64)
    scores = np.abs(flat).sum(1) if importance == "l1" else np.sqrt((flat ** 2).sum(1))
    for _, m in chain[i + 1:]:
        if isinstance(m, _PRUNABLE):
            break
        if isinstance(m, _BATCH_NORM):
            gamma = _numpy(m.weight) if m._parameter("weight") is not None else np.ones(len(scores))
            var = _numpy(m.running_var) if m._buffer("running_var") is not None else np.ones(len(scores))
            scores = scores * np.abs(gamma) / np.sqrt(var + m.get_config()["eps"])
            break
    return scores


def _plan(chain, shapes, amount: float, scope: str, importance: str, chosen) -> tuple[dict, dict]:
    """Which output channels each pruned layer keeps (layer index -> kept indices), and a plan of
    the rest: "inputs" (layer index -> the input features / channels the next Dense / Conv keeps)
    and "batch_norm" (layer index -> the channels a BatchNorm in between keeps)."""
    prunable = [i for i, (_, m) in enumerate(chain) if isinstance(m, _PRUNABLE)]
    if not prunable:
        raise ValueError("prune: the model has no prunable layer (Dense, Conv1D, Conv2D) with weights")
    producers = [i for i in prunable[:-1] if chosen is None or any(chain[i][1] is c for c in chosen)]
    if not producers:
        raise ValueError("prune(structured=True): no layer to prune: the output layer (the last Dense / Conv) is "
                         "never pruned, and it is the only one given or found")
    for i in producers:
        name, m = chain[i]
        if isinstance(m, _nn.Conv2D) and m.get_config().get("groups", 1) != 1:
            raise NotImplementedError(f"structured pruning: {type(m).__name__} {name!r} has groups > 1")
    scores = {i: _channel_scores(chain, i, importance) for i in producers}
    if scope == "global":  # channels ranked across layers, each layer's scores relative to its mean
        rel = np.concatenate([s / max(float(s.mean()), 1e-12) for s in scores.values()])
        owner = np.concatenate([[i] * len(s) for i, s in scores.items()])
        position = np.concatenate([np.arange(len(s)) for s in scores.values()])
        removed = np.argsort(rel, kind="stable")[: int(round(amount * rel.size))]
        drop = {i: set() for i in producers}
        for r in removed:
            drop[int(owner[r])].add(int(position[r]))
        for i in producers:  # a layer keeps at least one channel
            if len(drop[i]) == len(scores[i]):
                drop[i].discard(int(np.argmax(scores[i])))
        keep_out = {i: np.array(sorted(set(range(len(scores[i]))) - drop[i])) for i in producers}
    else:
        keep_out = {}
        for i in producers:
            n = len(scores[i])
            removed = np.argsort(scores[i], kind="stable")[: min(int(round(amount * n)), n - 1)]
            keep_out[i] = np.array(sorted(set(range(n)) - set(int(r) for r in removed)))
    keep_in, bn = {}, {}
    for i, keep in keep_out.items():
        idx, producer = keep, chain[i][0]
        if isinstance(chain[i][1], _nn.Dense) and len(shapes[i + 1]) != 2:  # the producer is never the last layer
            raise NotImplementedError(f"structured pruning: Dense {producer!r} outputs {shapes[i + 1]}; only (N, units) "
                                      f"outputs are supported")
        for j in range(i + 1, len(chain)):
            name, m = chain[j]
            if isinstance(m, _PRUNABLE):
                keep_in[j] = idx
                break
            if isinstance(m, _BATCH_NORM):
                bn[j] = idx
            elif isinstance(m, _nn.Flatten):
                shape = shapes[j]
                if len(shape) > 2:
                    if m.get_config()["start_axis"] != 1 or m.get_config()["end_axis"] not in (-1, len(shape) - 1):
                        raise NotImplementedError(f"structured pruning: Flatten {name!r} must merge every axis after "
                                                  f"the batch")
                    per_channel = int(np.prod(shape[2:]))  # NCHW: channel c is features c*HW ... c*HW + HW - 1
                    idx = (idx[:, None] * per_channel + np.arange(per_channel)[None, :]).ravel()
            elif not isinstance(m, _CHANNEL_WISE):
                raise NotImplementedError(f"structured pruning: cannot carry removed channels of {producer!r} through "
                                          f"{type(m).__name__} {name!r} (supported between two Dense / Conv layers: "
                                          f"BatchNorm, activations, Dropout, pooling, Flatten)")
    return keep_out, {"inputs": keep_in, "batch_norm": bn}


def _sliced_state(chain, state: dict, keep_out: dict, plan: dict) -> dict:
    out = dict(state)
    for i, (name, _) in enumerate(chain):
        prefix = f"{name}."
        for key in [k for k in state if k.startswith(prefix)]:
            v = out[key]
            local = key[len(prefix):]
            if i in keep_out and local in ("weight", "bias", "weight" + MASK_SUFFIX):
                v = v[keep_out[i]]
            if i in plan["inputs"] and local in ("weight", "weight" + MASK_SUFFIX):
                v = v[:, plan["inputs"][i]]
            if i in plan["batch_norm"] and v.ndim == 1 and v.shape[0] > 0:
                v = v[plan["batch_norm"][i]]
            out[key] = np.ascontiguousarray(v)
    return out


def _resized_config(config: dict, chain, keep_out: dict, plan: dict) -> dict:
    import copy

    config = copy.deepcopy(config)
    entries = config["layers"] if config["class"] == "Sequential" else config["graph"]["layers"]
    for i, entry in enumerate(entries):
        c = entry["config"]
        if i in keep_out:
            c["units" if "units" in c else "filters"] = len(keep_out[i])
        if i in plan["inputs"]:
            c["in_features" if "in_features" in c else "in_channels"] = len(plan["inputs"][i])
        if i in plan["batch_norm"]:
            c["num_features"] = len(plan["batch_norm"][i])
    return config


def _file_bytes(model) -> int:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model.safetensors")
        model.save(path, include_optimizer=False)
        return os.path.getsize(path)


def _latency_ms(model, x, batch_size: int, repeats: int = 5) -> float:
    model.predict(x, batch_size=batch_size, numpy=False)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict(x, batch_size=batch_size, numpy=False)
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def _prune_structured(model, amount: float, scope: str, layers, importance: str, input_shape, measure: bool,
                      batch_size: int):
    from ..nn.serialization import from_config

    if importance not in ("l1", "l2"):
        raise ValueError(f"prune: importance must be 'l1' or 'l2', got {importance!r}")
    chain, config = _chain(model)
    chosen = None if layers is None else [m for _, m in _prunable_layers(model, layers, "prune")]
    shapes = _trace_shapes(model, chain, input_shape)
    keep_out, plan = _plan(chain, shapes, amount, scope, importance, chosen)
    state = {k: _numpy(v) for k, v in model.state_dict().items()}
    pruned = from_config(_resized_config(config, chain, keep_out, plan))
    new_state = _sliced_state(chain, state, keep_out, plan)
    add_mask_buffers(pruned, new_state)
    pruned.load_state_dict(new_state)
    if "_input_shape" in model.__dict__:
        object.__setattr__(pruned, "_input_shape", model.__dict__["_input_shape"])
    pruned.train(model.training)
    report = PruneReport(params_before=model.num_parameters(), params_after=pruned.num_parameters(),
                         channels={chain[i][0]: (len(k), int(chain[i][1].weight.shape[0])) for i, k in keep_out.items()},
                         kept={chain[i][0]: [int(v) for v in k] for i, k in keep_out.items()})
    if measure:
        x = _core.asarray(np.random.default_rng(0).standard_normal((batch_size, *shapes[0][1:])).astype(np.float32))
        report.batch_size = batch_size
        report.file_bytes_before, report.file_bytes_after = _file_bytes(model), _file_bytes(pruned)
        report.latency_ms_before = _latency_ms(model, x, batch_size)
        report.latency_ms_after = _latency_ms(pruned, x, batch_size)
    object.__setattr__(pruned, "prune_report", report)
    return pruned


# ---------------------------------------------------------------------------------------------

def prune(model, amount: float, structured: bool = False, scope: str = "global", layers=None,
          importance: str = "l1", input_shape=None, measure: bool = True, batch_size: int = 256):
    """Magnitude pruning of the Dense and Conv (1D / 2D) layers of ``model``.

    amount: the fraction to remove, in [0, 1). scope: "global" (one ranking over every pruned
    layer) or "layer" (``amount`` of each layer). layers: the layers to prune (layer objects or
    their names in ``model.named_modules()``); None: every Dense / Conv layer.

    structured=False (unstructured): in place; returns ``model``. The smallest |w| are zeroed and a
    0/1 buffer "weight_mask" is recorded beside each pruned weight (saved by model.save / am.load);
    model.fit keeps them zero. ``amount`` is the sparsity reached: pruning again with a larger
    amount removes more weights and keeps every weight pruned before (a smaller amount changes
    nothing). Biases are not pruned.

    structured=True: returns a NEW model of the same class (Sequential, or a functional Model that
    is a chain of layers), genuinely smaller; ``model`` is left as it is. Whole output channels of
    Conv layers and units of Dense layers with the lowest norm of their weights (importance="l1"
    or "l2"; times |gamma| / sqrt(running_var + eps) of a BatchNorm that follows; with
    scope="global", each layer's scores relative to their mean) are removed, with the
    matching inputs of the next Dense / Conv and the channels of BatchNorm layers in between
    (through activations, Dropout, pooling and Flatten). The last Dense / Conv (the output layer)
    is never pruned, and each pruned layer keeps at least one channel. Any other layer between
    two Dense / Conv layers, or a model that is not a chain, raises NotImplementedError naming it.
    The result carries ``pruned.prune_report`` (a PruneReport: parameters, file size and predict
    latency on a batch of ``batch_size`` before and after (measure=False skips the last two), and
    the channels kept per layer). It is not compiled: compile it (a new optimizer) to fine-tune.
    input_shape: the model's input shape (None, ...) when it was never called.
    """
    amount = _check_amount(amount)
    if scope not in ("global", "layer"):
        raise ValueError(f"prune: scope must be 'global' or 'layer', got {scope!r}")
    if structured:
        return _prune_structured(model, amount, scope, layers, importance, input_shape, measure, batch_size)
    return _prune_unstructured(model, amount, scope, layers)

"""Post-training quantisation (ONNX Runtime's quantize_dynamic / quantize_static, PyTorch's
quantize_dynamic and prepare / convert, torchao's int4 weight-only):

    q = am.quant.quantize_dynamic(model)                   # Dense: int8 weights, activations per row
    q = am.quant.quantize(model, calibration=x_val)        # Conv2D + Dense: static int8, calibrated
    q = am.quant.quantize_weight_only(model, bits=4)       # Dense: int4 / int8 weights, float activations
    print(q.quantization_report)                           # what was quantised, and why not the rest

Each returns a new model (the original is untouched) made of ordinary aimass layers
(QuantizedDense, QuantizedConv2D, WeightOnlyDense and the float layers left as they were): it
predicts, evaluates, saves and loads (am.save / am.load), and `aimass serve` serves it.
Layers stay in float, and the report says why, when int8 would not be faster (too small: fewer
than ``min_layer_size`` multiply-adds per sample, or fewer than 16 inputs) or, for static
quantisation, would lose too much (outputs on the calibration data with an SQNR below
``min_sqnr_db``), and for layer types or options without an int8 kernel (grouped convolution).
"""
from __future__ import annotations

import math

import numpy as np

from .. import _core, tensor
from ..nn import functional_api, layers
from ..nn.module import Module
from ._fuse import fuse_for_inference
from ._graph import check_rebuildable, leaf_layers, rebuild
from ._report import LayerDecision, QuantizationReport

_METHODS = ("minmax", "moving_average", "percentile", "entropy")
DEFAULT_MIN_LAYER_SIZE = 4096   # multiply-adds per sample (Dense: in * units; Conv2D: C * KH * KW * filters)
DEFAULT_MIN_SQNR_DB = 20.0
_KEEP_ROWS = 256                # calibration inputs kept per layer for its SQNR check


def _weight_2d(layer: Module) -> np.ndarray:
    w = layer.state_dict()["weight"].numpy().astype(np.float32)
    return w.reshape(w.shape[0], -1)


def _bias(layer: Module):
    state = layer.state_dict()
    return state["bias"] if "bias" in state else None


def _size_reason(layer: Module, min_layer_size: int) -> str:
    w = layer.state_dict()["weight"]
    n, k = w.shape[0], int(np.prod(w.shape[1:]))
    if k < 16:
        return f"too small for int8 to be faster ({k} inputs per output)"
    if n * k < min_layer_size:
        return f"too small for int8 to be faster ({n * k} multiply-adds per sample < min_layer_size={min_layer_size})"
    return ""


def _check_model(model, fn: str) -> None:
    if not isinstance(model, Module):
        raise TypeError(f"am.quant.{fn}: expected an aimass model, got {type(model).__name__}")
    if type(model) not in (layers.Sequential, functional_api.Model):
        check_rebuildable(model)
    if not model.built or not all(layer.built for _, layer in leaf_layers(model)):
        raise ValueError(f"am.quant.{fn}: the model is not built yet (call it on an input or give input_shape=)")


def _int8_dense(layer: Module, static: tuple[float, int] | None) -> Module:
    cfg = layer.get_config()
    w = _weight_2d(layer)
    q, scale = _core.quant.quantize_per_channel_s8(tensor(w))
    new = layers.QuantizedDense(units=w.shape[0], in_features=w.shape[1], activation=cfg.get("activation"),
                                use_bias=cfg.get("use_bias", True), activations="static" if static else "dynamic")
    state = {"weight": q, "weight_scale": scale}
    if _bias(layer) is not None:
        state["bias"] = _bias(layer)
    if static:
        state["input_scale"] = tensor(np.array([static[0]], np.float32))
        state["input_zero_point"] = tensor(np.array([static[1]], np.int32))
    new.load_state_dict(state)
    return new


def _int8_conv(layer: Module, static: tuple[float, int]) -> Module:
    cfg = layer.get_config()
    w = layer.state_dict()["weight"].numpy().astype(np.float32)
    q, scale = _core.quant.quantize_per_channel_s8(tensor(w.reshape(w.shape[0], -1)))
    new = layers.QuantizedConv2D(filters=cfg["filters"], kernel_size=cfg["kernel_size"], strides=cfg["strides"],
                                 padding=cfg["padding"], dilation=cfg["dilation"], activation=cfg.get("activation"),
                                 use_bias=cfg.get("use_bias", True), in_channels=w.shape[1])
    state = {"weight": tensor(q.numpy().reshape(w.shape)), "weight_scale": scale,
             "input_scale": tensor(np.array([static[0]], np.float32)),
             "input_zero_point": tensor(np.array([static[1]], np.int32))}
    if _bias(layer) is not None:
        state["bias"] = _bias(layer)
    new.load_state_dict(state)
    return new


def _int8_composite(layer: Module) -> Module:
    """MultiHeadAttention / TransformerBlock rebuilt with quantized=True: its projections (and
    MLP) become QuantizedDense children, fed the float children's weights quantised per channel."""
    new = type(layer)(**dict(layer.get_config(), quantized=True))
    int8_children = {path for path, child in new.named_modules() if type(child) is layers.QuantizedDense}
    state = {}
    for key, value in layer.state_dict().items():
        prefix, _, leaf = key.rpartition(".")
        if prefix in int8_children and leaf == "weight":
            state[key], state[f"{prefix}.weight_scale"] = _core.quant.quantize_per_channel_s8(value)
        else:
            state[key] = value
    new.load_state_dict(state)
    return new


def _int8_embedding(layer: Module) -> Module:
    cfg = layer.get_config()
    new = layers.QuantizedEmbedding(cfg["num_embeddings"], cfg["embedding_dim"])
    q, scale = _core.quant.quantize_per_channel_s8(layer.state_dict()["weight"])
    new.load_state_dict({"weight": q, "weight_scale": scale})
    return new


def _attach(model: Module, report: QuantizationReport) -> Module:
    object.__setattr__(model, "quantization_report", report)
    return model


def _keep_signature(src: Module, dst: Module) -> None:
    for attr in ("_input_shape", "_input_dtype"):
        if attr in getattr(src, "__dict__", {}):
            object.__setattr__(dst, attr, src.__dict__[attr])


# ------------------------------------------------------------------------------------- dynamic

def quantize_dynamic(model: Module, *, min_layer_size: int = DEFAULT_MIN_LAYER_SIZE) -> Module:
    """Dense layers, the projections of MultiHeadAttention and TransformerBlock (and the block's
    MLP) with int8 weights (symmetric, per output channel) and activations quantised per row at
    run time (u8, asymmetric); Embedding tables as int8 rows with a scale each. No calibration
    data needed."""
    _check_model(model, "quantize_dynamic")
    report = QuantizationReport("int8 dynamic")

    def replace(path: str, layer: Module):
        kind = type(layer)
        if kind in (layers.MultiHeadAttention, layers.TransformerBlock):
            report.layers.append(LayerDecision(path, kind.__name__, True, "int8 dynamic"))
            return _int8_composite(layer)
        if kind is layers.Embedding:
            report.layers.append(LayerDecision(path, "Embedding", True, "int8 dynamic"))
            return _int8_embedding(layer)
        if kind is not layers.Dense:
            if type(layer) in (layers.Conv2D, layers.Conv1D):
                report.layers.append(LayerDecision(path, type(layer).__name__, False, "float",
                                                   "dynamic quantisation covers Dense; use am.quant.quantize for "
                                                   "convolutions"))
            return None
        reason = _size_reason(layer, min_layer_size)
        if reason:
            report.layers.append(LayerDecision(path, "Dense", False, "float", reason))
            return None
        report.layers.append(LayerDecision(path, "Dense", True, "int8 dynamic"))
        return _int8_dense(layer, None)

    out = rebuild(model, replace)
    _keep_signature(model, out)
    return _attach(out, report)


# -------------------------------------------------------------------------------------- static

class _Observe(Module):
    """Calibration stand-in for a layer: watches its inputs, keeps the first rows for the SQNR
    check, and returns the layer's own output."""

    def __init__(self, layer: Module, observer) -> None:
        super().__init__()
        self.layer = layer
        object.__setattr__(self, "observer", observer)
        object.__setattr__(self, "kept", [])
        object.__setattr__(self, "kept_rows", 0)

    def forward(self, x):
        values = x.numpy()
        self.observer.update(values)
        if self.kept_rows < _KEEP_ROWS and values.shape[0]:
            take = values[: _KEEP_ROWS - self.kept_rows].copy()
            self.kept.append(take)
            object.__setattr__(self, "kept_rows", self.kept_rows + take.shape[0])
        return self.layer(x)


def _sqnr_db(reference: np.ndarray, candidate: np.ndarray) -> float:
    noise = float(np.sum((reference.astype(np.float64) - candidate) ** 2))
    signal = float(np.sum(reference.astype(np.float64) ** 2))
    if noise == 0:
        return math.inf
    return 10.0 * math.log10(max(signal, 1e-30) / noise)


def _calibration_array(calibration, fn: str):
    if isinstance(calibration, (list, tuple)) and calibration and not np.isscalar(calibration[0]) and \
            all(hasattr(c, "shape") for c in calibration):
        arrays = [np.asarray(c.numpy() if hasattr(c, "numpy") else c) for c in calibration]
        return arrays
    array = calibration.numpy() if hasattr(calibration, "numpy") and not isinstance(calibration, np.ndarray) \
        else np.asarray(calibration)
    if array.size == 0 or array.shape[0] == 0:
        raise ValueError(f"am.quant.{fn}: the calibration set is empty (got shape {array.shape})")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        bad = int(np.size(array) - np.isfinite(array).sum())
        raise ValueError(f"am.quant.{fn}: the calibration data holds {bad} NaN or infinite values; it must be finite")
    return array


def _static_plan(path: str, layer: Module, min_layer_size: int) -> tuple[bool, LayerDecision | None]:
    """Whether static int8 (quantize, and prepare_qat / convert) takes ``layer``: (True, None) for a
    candidate, else (False, why it stays float), the decision None for layers int8 does not concern."""
    kind = type(layer)
    if kind not in (layers.Dense, layers.Conv2D):
        if kind in (layers.Conv1D,) or kind.__name__ in ("MultiHeadAttention", "TransformerBlock", "Embedding"):
            return False, LayerDecision(path, kind.__name__, False, "float",
                                        f"no static int8 kernel for {kind.__name__}")
        return False, None
    if kind is layers.Conv2D and layer.get_config().get("groups", 1) != 1:
        return False, LayerDecision(path, "Conv2D", False, "float", "grouped convolution has no int8 kernel")
    reason = _size_reason(layer, min_layer_size)
    if reason:
        return False, LayerDecision(path, kind.__name__, False, "float", reason)
    return True, None


def _float_copy(model: Module, fuse: bool, report: QuantizationReport) -> Module:
    """The float model the static passes work on: folded and fused (fuse), else a plain copy; the
    report notes a folding."""
    float_model = fuse_for_inference(model) if fuse else rebuild(model, lambda p, l: None)
    if fuse and len(leaf_layers(float_model)) < len(leaf_layers(model)):
        report.notes.append(f"folded BatchNorm / fused ReLU: {len(leaf_layers(model))} layers became "
                            f"{len(leaf_layers(float_model))}")
    return float_model


def _calibrate(float_model: Module, observers: dict, data, batch_size: int, fn: str) -> dict[str, "_Observe"]:
    """Runs ``data`` through float_model with observers[path] watching the input of each layer at
    those paths; returns the watchers (their kept rows). Nothing runs without observers."""
    watchers: dict[str, _Observe] = {}

    def observe(path: str, layer: Module):
        if path not in observers:
            return None
        watchers[path] = _Observe(layer, observers[path])
        return watchers[path]

    if observers:
        probe = rebuild(float_model, observe, copy_others=False)
        try:
            probe.predict(data, batch_size=batch_size)
        except ValueError as e:
            if "observer" in str(e):
                raise ValueError(f"am.quant.{fn}: {e}") from None
            raise ValueError(f"am.quant.{fn}: the calibration data does not fit the model: {e}") from None
    return watchers


def quantize(model: Module, calibration, *, method: str = "minmax", percentile: float = 99.99,
             momentum: float = 0.01, symmetric: bool = False, batch_size: int = 256,
             min_sqnr_db: float = DEFAULT_MIN_SQNR_DB, min_layer_size: int = DEFAULT_MIN_LAYER_SIZE,
             fuse: bool = True) -> Module:
    """Static int8 for Conv2D and Dense: int8 weights per output channel; activations u8 per
    tensor with a (scale, zero point) chosen by observing ``calibration`` (model inputs, e.g. a few
    hundred validation samples) with ``method``: "minmax", "moving_average" (``momentum``),
    "percentile" (of |x|, ``percentile``) or "entropy" (KL, TensorRT's). ``symmetric``: activations
    in [-a, a] (zero point 128) instead of [min, max]. With ``fuse`` (default), Conv2D/Dense +
    BatchNorm are folded and a following ReLU fused first (am.quant.fuse_for_inference)."""
    _check_model(model, "quantize")
    if method not in _METHODS:
        raise ValueError(f"am.quant.quantize: method must be one of {_METHODS}, got {method!r}")
    data = _calibration_array(calibration, "quantize")
    report = QuantizationReport(f"int8 static ({method})")
    float_model = _float_copy(model, fuse, report)

    # 1. Which layers are candidates; the rest stay float without calibration.
    candidates: dict[str, Module] = {}
    decisions: dict[str, LayerDecision] = {}
    for path, layer in leaf_layers(float_model):
        candidate, decision = _static_plan(path, layer, min_layer_size)
        if candidate:
            candidates[path] = layer
        elif decision is not None:
            decisions[path] = decision

    # 2. Calibration: the float model with observers in front of each candidate.
    observers = {path: _core.quant.Observer(method, momentum=momentum, percentile=percentile) for path in candidates}
    watchers = _calibrate(float_model, observers, data, batch_size, "quantize")

    # 3. Convert each candidate, and keep it in float when its outputs lose too much.
    def convert(path: str, layer: Module):
        if path not in candidates:
            return None
        scale, zero = observers[path].qparams(symmetric)
        qlayer = _int8_dense(layer, (scale, zero)) if type(layer) is layers.Dense else _int8_conv(layer, (scale, zero))
        kept = np.concatenate(watchers[path].kept) if watchers[path].kept else None
        sqnr = None
        if kept is not None:
            sqnr = _sqnr_db(layer(tensor(kept)).numpy(), qlayer(tensor(kept)).numpy())
        decision = LayerDecision(path, type(layer).__name__, True, "int8 static", sqnr_db=sqnr, input_scale=scale,
                                 input_zero_point=zero)
        if sqnr is not None and sqnr < min_sqnr_db:
            decision.quantized, decision.kind = False, "float"
            decision.reason = f"int8 would lose too much (SQNR {sqnr:.1f} dB < min_sqnr_db={min_sqnr_db})"
            decisions[path] = decision
            return None
        decisions[path] = decision
        return qlayer

    out = rebuild(float_model, convert)
    report.layers = [decisions[path] for path, _ in leaf_layers(float_model) if path in decisions]
    _keep_signature(model, out)
    return _attach(out, report)


# --------------------------------------------------------------------------------- weight-only

def quantize_weight_only(model: Module, bits: int = 4, group_size: int = 128, *, min_layer_size: int = 0) -> Module:
    """Dense layers with weights in ``bits`` (4 or 8) bits, one float16 scale per ``group_size``
    (32, 64 or 128) inputs (ggml's Q4_0 / Q8_0, torchao's int4 weight-only); activations stay
    float. For memory-bound inference (batch 1 to 16): the weights are 1/8 (int4) or 1/4 (int8) of
    their float32 size in memory and on disk."""
    _check_model(model, "quantize_weight_only")
    if bits not in (4, 8):
        raise ValueError(f"am.quant.quantize_weight_only: bits must be 4 or 8, got {bits!r}")
    if group_size not in (32, 64, 128):
        raise ValueError(f"am.quant.quantize_weight_only: group_size must be 32, 64 or 128, got {group_size!r}")
    report = QuantizationReport(f"int{bits} weight-only (group {group_size})")

    def replace(path: str, layer: Module):
        if type(layer) is not layers.Dense:
            return None
        w = _weight_2d(layer)
        if w.shape[0] * w.shape[1] < min_layer_size:
            report.layers.append(LayerDecision(path, "Dense", False, "float",
                                               f"smaller than min_layer_size={min_layer_size}"))
            return None
        cfg = layer.get_config()
        q, scales = _core.quant.quantize_weight_only(tensor(w), group_size, bits)
        new = layers.WeightOnlyDense(units=w.shape[0], in_features=w.shape[1], bits=bits, group_size=group_size,
                                     activation=cfg.get("activation"), use_bias=cfg.get("use_bias", True))
        state = {"weight_q": q, "weight_scales": scales}
        if _bias(layer) is not None:
            state["bias"] = _bias(layer)
        new.load_state_dict(state)
        deq = _core.quant.dequantize_weight_only(q, scales, w.shape[1], group_size, bits).numpy()
        report.layers.append(LayerDecision(path, "Dense", True, f"int{bits} weight-only", sqnr_db=_sqnr_db(w, deq)))
        return new

    out = rebuild(model, replace)
    _keep_signature(model, out)
    return _attach(out, report)

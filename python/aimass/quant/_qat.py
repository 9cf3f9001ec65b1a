"""Quantisation-aware training (PyTorch's prepare_qat / convert, TF-MOT's quantize_model):

    qat = am.quant.prepare_qat(model, calibration=x_val[:256])   # a float model that trains on int8 grids
    qat.compile(optimizer=am.optim.AdamW(qat.parameters(), lr=1e-4), loss="cross_entropy")
    qat.fit(x_train, y_train, epochs=3)                          # the native loop, as any model
    q = am.quant.convert(qat)                                    # QuantizedDense (static) / QuantizedConv2D
    print(q.quantization_report)

prepare_qat folds BatchNorm and fuses ReLU (am.quant.fuse_for_inference), then replaces each
Dense and Conv2D that static quantisation (am.quant.quantize) would quantise by FakeQuantDense /
FakeQuantConv2D (csrc/nn/qat.h): float weight and bias parameters, the weight fake-quantised per
output channel and the input per tensor on every forward (straight-through gradients), the input
range tracked while training ("moving_average" or "minmax") and frozen in eval mode. The layers
int8 would not make faster (``min_layer_size``, fewer than 16 inputs) or has no kernel for stay
float, as in am.quant.quantize. convert gives the int8 model post-training quantisation builds,
with the learned ranges as (scale, zero point): its outputs are the QAT model's eval outputs up to
float rounding (both compute on the same integer grids). No SQNR check: the model was trained
with this quantisation.
"""
from __future__ import annotations

import numpy as np

from .. import _core, tensor
from ..nn import functional_api, layers
from ..nn.module import Module
from ._graph import check_rebuildable, leaf_layers, rebuild
from ._quantize import (DEFAULT_MIN_LAYER_SIZE, _attach, _calibrate, _calibration_array, _check_model, _float_copy,
                        _int8_conv, _int8_dense, _keep_signature, _static_plan)
from ._report import LayerDecision, QuantizationReport

_QAT_METHODS = ("moving_average", "minmax")
_QAT_LAYERS = (layers.FakeQuantDense, layers.FakeQuantConv2D)


def _fake_quant_layer(layer: Module, method: str, momentum: float) -> Module:
    """The QAT layer for a Dense / Conv2D, with its weights (and no input range yet)."""
    cfg = layer.get_config()
    w = layer.state_dict()["weight"]
    if type(layer) is layers.Dense:
        new = layers.FakeQuantDense(units=cfg["units"], in_features=w.shape[1], activation=cfg.get("activation"),
                                    use_bias=cfg.get("use_bias", True), method=method, momentum=momentum)
    else:
        new = layers.FakeQuantConv2D(**cfg, method=method, momentum=momentum)
    state = dict(new.state_dict())
    state["weight"] = w
    if "bias" in state:
        state["bias"] = layer.state_dict()["bias"]
    new.load_state_dict(state)
    return new


def _set_range(layer: Module, lo: float, hi: float) -> None:
    state = dict(layer.state_dict())
    state["input_min"] = tensor(np.array([lo], np.float32))
    state["input_max"] = tensor(np.array([hi], np.float32))
    state["input_batches"] = tensor(np.array([1], np.int64))
    layer.load_state_dict(state)


def prepare_qat(model: Module, calibration=None, *, method: str = "moving_average", momentum: float = 0.01,
                batch_size: int = 256, min_layer_size: int = DEFAULT_MIN_LAYER_SIZE, fuse: bool = True) -> Module:
    """A new float model for quantisation-aware training: ``model`` (untouched) with BatchNorm folded
    and ReLU fused (``fuse``), and each Dense / Conv2D that static int8 takes replaced by
    FakeQuantDense / FakeQuantConv2D. ``method``: how training tracks each input range,
    "moving_average" (``momentum``, PyTorch's default for QAT) or "minmax". ``calibration`` (model
    inputs, optional) initialises the ranges with the same observer, so the model can be evaluated
    or converted before training; without it the first training batch sets them. Train it with
    compile / fit, then am.quant.convert it."""
    _check_model(model, "prepare_qat")
    if method not in _QAT_METHODS:
        raise ValueError(f"am.quant.prepare_qat: method must be one of {_QAT_METHODS}, got {method!r}")
    if not 0 < momentum <= 1:
        raise ValueError(f"am.quant.prepare_qat: momentum must be in (0, 1], got {momentum!r}")
    data = None if calibration is None else _calibration_array(calibration, "prepare_qat")
    report = QuantizationReport(f"int8 QAT prepared ({method})")
    float_model = _float_copy(model, fuse, report)

    candidates: dict[str, Module] = {}
    decisions: dict[str, LayerDecision] = {}
    for path, layer in leaf_layers(float_model):
        candidate, decision = _static_plan(path, layer, min_layer_size)
        if candidate:
            candidates[path] = layer
            decisions[path] = LayerDecision(path, type(layer).__name__, True, "int8 fake-quant (QAT)")
        elif decision is not None:
            decisions[path] = decision

    ranges: dict[str, tuple[float, float]] = {}
    if data is not None and candidates:
        observers = {path: _core.quant.Observer(method, momentum=momentum) for path in candidates}
        _calibrate(float_model, observers, data, batch_size, "prepare_qat")
        ranges = {path: observers[path].range() for path in candidates}

    def replace(path: str, layer: Module):
        if path not in candidates:
            return None
        new = _fake_quant_layer(layer, method, momentum)
        if path in ranges:
            _set_range(new, *ranges[path])
            decisions[path].input_scale, decisions[path].input_zero_point = _core.quant.u8_qparams(*ranges[path])
        return new

    out = rebuild(float_model, replace)
    report.layers = [decisions[path] for path, _ in leaf_layers(float_model) if path in decisions]
    _keep_signature(model, out)
    return _attach(out, report)


def _learned_qparams(path: str, layer: Module) -> tuple[float, int]:
    state = layer.state_dict()
    name = f"layer {path!r} ({type(layer).__name__})"
    if int(state["input_batches"].numpy().reshape(-1)[0]) <= 0:
        raise ValueError(f"am.quant.convert: {name} never observed its input range; train the model (fit) or "
                         f"give am.quant.prepare_qat calibration data first")
    lo = float(state["input_min"].numpy().reshape(-1)[0])
    hi = float(state["input_max"].numpy().reshape(-1)[0])
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo > hi:
        raise ValueError(f"am.quant.convert: {name} has the input range [{lo}, {hi}]; it must be finite")
    return _core.quant.u8_qparams(lo, hi)


def convert(qat_model: Module, *, min_layer_size: int = DEFAULT_MIN_LAYER_SIZE) -> Module:
    """The int8 model of a QAT model (am.quant.prepare_qat, then fit): FakeQuantDense ->
    QuantizedDense (static), FakeQuantConv2D -> QuantizedConv2D, each with its learned input range
    as (scale, zero point) and its weights quantised per output channel; everything else copied.
    The model's ``quantization_report`` says what was converted and why the rest stayed float
    (``min_layer_size`` as given to prepare_qat)."""
    if not isinstance(qat_model, Module):
        raise TypeError(f"am.quant.convert: expected an aimass model, got {type(qat_model).__name__}")
    if type(qat_model) not in (layers.Sequential, functional_api.Model):
        check_rebuildable(qat_model)
    leaves = leaf_layers(qat_model)
    if not any(type(layer) in _QAT_LAYERS for _, layer in leaves):
        raise ValueError("am.quant.convert: the model has no QAT layers (FakeQuantDense / FakeQuantConv2D); prepare "
                         "it with am.quant.prepare_qat and train it first (for a float model use am.quant.quantize)")
    report = QuantizationReport("int8 static (QAT)")
    report.notes.append("input ranges learned during quantisation-aware training; no SQNR check (the model trained "
                        "with this quantisation)")
    decisions: dict[str, LayerDecision] = {}

    def replace(path: str, layer: Module):
        if type(layer) not in _QAT_LAYERS:
            candidate, decision = _static_plan(path, layer, min_layer_size)
            if candidate:
                decision = LayerDecision(path, type(layer).__name__, False, "float",
                                         "not prepared for QAT (trained in float); am.quant.quantize can take it")
            if decision is not None:
                decisions[path] = decision
            return None
        scale, zero = _learned_qparams(path, layer)
        try:
            new = _int8_dense(layer, (scale, zero)) if type(layer) is layers.FakeQuantDense else \
                _int8_conv(layer, (scale, zero))
        except ValueError as e:
            raise ValueError(f"am.quant.convert: layer {path!r}: {e}") from None
        decisions[path] = LayerDecision(path, type(layer).__name__, True, "int8 static", input_scale=scale,
                                        input_zero_point=zero)
        return new

    out = rebuild(qat_model, replace)
    report.layers = [decisions[path] for path, _ in leaves if path in decisions]
    _keep_signature(qat_model, out)
    return _attach(out, report)

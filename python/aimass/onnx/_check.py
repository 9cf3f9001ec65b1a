"""The check after an export: onnx.checker, then ONNX Runtime (CPUExecutionProvider) on random
inputs against model.predict.

Tolerances: rtol = atol = 1e-4 for float models, and for static int8 (QDQ) and weight-only
layers, which compute the same values as the native kernels (ORT's QuantizeLinear rounds x / scale
half to even as the kernels do; the weight-only MatMulNBits runs at accuracy level 1, float32,
for the check). Where the model holds a dynamic QuantizedDense, atol is 5% of the largest |output|:
ONNX's DynamicQuantizeLinear quantises the whole input tensor with one scale where the native
kernel takes one per row, so the two differ by about a quantisation step of the input."""
from __future__ import annotations

import numpy as np

RTOL = ATOL = 1e-4
DYNAMIC_INT8_ATOL_FRACTION = 0.05  # of max |predict|, for a model with a dynamic QuantizedDense
# ONNX Runtime fuses a blocked int4 / int8 DequantizeLinear + MatMul into MatMulNBits and, by
# default, runs it on int8-quantised activations (accuracy level 4); level 1 computes in float32.
FLOAT_MATMULNBITS = {"session.qdq_matmulnbits_accuracy_level": "1"}


def tolerance(model) -> tuple[float, float]:
    """(rtol, atol) for model's outputs, atol relative to max |predict| when the model quantises
    activations per tensor at run time in ONNX (a dynamic QuantizedDense)."""
    from .._core import nn as _nn

    dynamic = any(isinstance(m, _nn.QuantizedDense) and m.get_config()["activations"] == "dynamic"
                  for m in model.modules())
    return (RTOL, DYNAMIC_INT8_ATOL_FRACTION) if dynamic else (RTOL, 0.0)


def sample_inputs(specs: list[dict], batch: int, seed: int = 0) -> list[np.ndarray]:
    """Random inputs of each spec's shape: normal floats, or ids in [0, spec["high"]) for integers."""
    rng = np.random.default_rng(seed)
    out = []
    for spec in specs:
        shape = (batch, *spec["shape"])
        if np.dtype(spec["dtype"]).kind in "iu":
            out.append(rng.integers(0, spec.get("high") or 2, size=shape).astype(spec["dtype"]))
        elif np.dtype(spec["dtype"]).kind == "b":
            out.append(rng.integers(0, 2, size=shape).astype(bool))
        else:
            out.append(rng.standard_normal(shape).astype(spec["dtype"]))
    return out


def run_onnx(model_bytes: bytes, names: list[str], inputs: list[np.ndarray], config: dict | None = None
             ) -> list[np.ndarray]:
    from ._export import _import

    ort = _import("onnxruntime")
    options = ort.SessionOptions()
    for key, value in (config or {}).items():
        options.add_session_config_entry(key, value)
    session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    return session.run(None, dict(zip(names, inputs)))


def check(onnx_model, model, specs: list[dict], input_names: list[str], output_names: list[str], batch: int) -> float:
    """Raises RuntimeError naming the output and the largest error when ONNX Runtime's outputs differ
    from model.predict's beyond the tolerance (rtol = atol = 1e-4; see the module's docstring for
    quantised models); returns the largest absolute error."""
    from ._export import _import

    onnx = _import("onnx")
    onnx.checker.check_model(onnx_model, full_check=True)
    inputs = sample_inputs(specs, batch)
    got = run_onnx(onnx_model.SerializeToString(), input_names, inputs, FLOAT_MATMULNBITS)
    rtol, atol_fraction = tolerance(model)
    expected = model.predict(inputs[0] if len(inputs) == 1 else inputs, batch_size=max(batch, 1))
    expected = expected if isinstance(expected, list) else [expected]
    worst = 0.0
    for name, g, e in zip(output_names, got, expected):
        e = np.asarray(e)
        if g.shape != e.shape:
            raise RuntimeError(f"am.onnx.export: output {name!r} has shape {g.shape} in ONNX Runtime and {e.shape} in "
                               f"model.predict")
        err = float(np.max(np.abs(g.astype(np.float64) - e))) if g.size else 0.0
        atol = max(ATOL, atol_fraction * float(np.max(np.abs(e)))) if e.size else ATOL
        if not np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True):
            raise RuntimeError(f"am.onnx.export: output {name!r} differs between ONNX Runtime and model.predict: max "
                               f"abs error {err:.3g} (tolerance rtol={rtol}, atol={atol:.3g}); the export is wrong, "
                               f"nothing was written")
        worst = max(worst, err)
    return worst

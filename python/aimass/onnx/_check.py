"""The check after an export: onnx.checker, then ONNX Runtime (CPUExecutionProvider) on random
inputs against model.predict."""
from __future__ import annotations

import numpy as np

RTOL = ATOL = 1e-4


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


def run_onnx(model_bytes: bytes, names: list[str], inputs: list[np.ndarray]) -> list[np.ndarray]:
    from ._export import _import

    ort = _import("onnxruntime")
    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    return session.run(None, dict(zip(names, inputs)))


def check(onnx_model, model, specs: list[dict], input_names: list[str], output_names: list[str], batch: int) -> float:
    """Raises RuntimeError naming the output and the largest error when ONNX Runtime's outputs differ
    from model.predict's beyond rtol = atol = 1e-4; returns the largest absolute error."""
    from ._export import _import

    onnx = _import("onnx")
    onnx.checker.check_model(onnx_model, full_check=True)
    inputs = sample_inputs(specs, batch)
    got = run_onnx(onnx_model.SerializeToString(), input_names, inputs)
    expected = model.predict(inputs[0] if len(inputs) == 1 else inputs, batch_size=max(batch, 1))
    expected = expected if isinstance(expected, list) else [expected]
    worst = 0.0
    for name, g, e in zip(output_names, got, expected):
        e = np.asarray(e)
        if g.shape != e.shape:
            raise RuntimeError(f"am.onnx.export: output {name!r} has shape {g.shape} in ONNX Runtime and {e.shape} in "
                               f"model.predict")
        err = float(np.max(np.abs(g.astype(np.float64) - e))) if g.size else 0.0
        if not np.allclose(g, e, rtol=RTOL, atol=ATOL, equal_nan=True):
            raise RuntimeError(f"am.onnx.export: output {name!r} differs between ONNX Runtime and model.predict: max "
                               f"abs error {err:.3g} (tolerance rtol=atol={RTOL}); the export is wrong, nothing was "
                               f"written")
        worst = max(worst, err)
    return worst

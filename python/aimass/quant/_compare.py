"""How far a compressed model (quantised, 16-bit, pruned, distilled) is from its reference."""
from __future__ import annotations

import numpy as np

from ..nn.module import Module


def compare(reference: Module, candidate: Module, x, y=None, batch_size: int = 256) -> dict:
    """Both models' outputs on ``x``: the largest and mean absolute difference, the fraction of
    samples whose argmax agrees, and with labels ``y`` (class ids) each model's accuracy and the
    change in points (candidate - reference)."""
    ref = np.asarray(reference.predict(x, batch_size=batch_size), dtype=np.float64)
    cand = np.asarray(candidate.predict(x, batch_size=batch_size), dtype=np.float64)
    if ref.shape != cand.shape:
        raise ValueError(f"am.quant.compare: the models' outputs differ in shape: {ref.shape} and {cand.shape}")
    diff = np.abs(ref - cand)
    out = {"max_abs_diff": float(diff.max()) if diff.size else 0.0,
           "mean_abs_diff": float(diff.mean()) if diff.size else 0.0}
    if ref.ndim >= 2 and ref.shape[-1] > 1:
        out["argmax_agreement"] = float(np.mean(ref.argmax(-1) == cand.argmax(-1)))
        if y is not None:
            labels = np.asarray(y.numpy() if hasattr(y, "numpy") else y).reshape(-1)
            if labels.shape[0] != ref.shape[0]:
                raise ValueError(f"am.quant.compare: {labels.shape[0]} labels for {ref.shape[0]} samples")
            out["reference_accuracy"] = float(np.mean(ref.argmax(-1) == labels))
            out["candidate_accuracy"] = float(np.mean(cand.argmax(-1) == labels))
            out["accuracy_change_points"] = 100.0 * (out["candidate_accuracy"] - out["reference_accuracy"])
    return out

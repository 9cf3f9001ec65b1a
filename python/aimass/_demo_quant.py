"""The demo's compression stage: the trained digits CNN quantised to static int8 (calibrated on
300 training images), checked against the float model on the test set, saved, and reloaded."""
from __future__ import annotations

import os
import statistics
import time

import numpy as np

import aimass as am


def _median_ms(fn, repeats: int = 7) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def run_compress_stage(model, x_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, float_path: str) -> dict:
    q = am.quant.quantize(model, calibration=x_train[:300], method="percentile")
    report = q.quantization_report
    cmp = am.quant.compare(model, q, x_test, y_test)
    base, _ = os.path.splitext(float_path)
    path = base + "_int8.safetensors"
    q.save(path)
    again = am.load(path)
    same = np.array_equal(again.predict(x_test, batch_size=256), q.predict(x_test, batch_size=256))
    float_ms = _median_ms(lambda: model.predict(x_test, batch_size=256))
    int8_ms = _median_ms(lambda: q.predict(x_test, batch_size=256))
    print(f"\ncompression: static int8 ({len(report.quantized)} of {len(report.layers)} conv/dense layers int8; "
          f"{'; '.join(f'{d.name} float: {d.reason}' for d in report.kept_float)})")
    print(f"  test accuracy {100 * cmp['reference_accuracy']:.2f}% float32 -> {100 * cmp['candidate_accuracy']:.2f}% "
          f"int8 ({cmp['accuracy_change_points']:+.2f} points), predictions agree on "
          f"{100 * cmp['argmax_agreement']:.1f}% of images")
    print(f"  predict of {len(x_test)} images: {float_ms:.2f} ms float32, {int8_ms:.2f} ms int8; saved to "
          f"{os.path.abspath(path)} ({os.path.getsize(path) / 1024:.0f} KiB); reloaded predictions identical: {same}")
    return {"path": path, "accuracy_change_points": cmp["accuracy_change_points"], "reloaded_identical": same,
            "float_ms": float_ms, "int8_ms": int8_ms, "report": report.to_dict()}

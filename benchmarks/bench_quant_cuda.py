"""Inference time of the CUDA int8 and int4 / int8 weight-only Dense ops against our CUDA float32
linear (cuBLASLt, full float32: the anchor), same weights, same inputs, one run. Prints medians
and ratios (anchor time / ours: above 1 means the quantised op is faster). Needs a GPU.

    python benchmarks/bench_quant_cuda.py [--repeats R] [--quick]

No goal is claimed yet: these kernels were written without a GPU; this gives the first figures.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _timing import median_seconds  # noqa: E402

import aimass as am  # noqa: E402
import aimass.nn.functional as F  # noqa: E402
from aimass import _core  # noqa: E402

Q = _core.quant


def timed(fn, repeats):
    def run():
        fn()
        am.cuda.synchronize()

    return median_seconds(run, repeats=repeats)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if not am.cuda.is_available():
        sys.exit(f"no GPU: {am.cuda.unavailable_reason()}")
    rng = np.random.default_rng(0)
    shapes = [(4096, 4096)] if args.quick else [(4096, 4096), (4096, 11008), (11008, 4096)]
    batches = [1, 16, 256] if args.quick else [1, 4, 16, 64, 256, 1024]
    print(f"{'op':<34}{'batch':>6}{'K':>7}{'N':>7}{'float32 ms':>12}{'ours ms':>10}{'speedup':>9}")
    for k, n in shapes:
        w = rng.standard_normal((n, k)).astype(np.float32) * 0.02
        wg = am.tensor(w, device="cuda")
        q8, s8 = Q.quantize_per_channel_s8(am.tensor(w))
        int8 = am.nn.QuantizedDense(n, k, use_bias=False)  # a layer: its CUDA pack is made once
        int8.load_state_dict({"weight": q8, "weight_scale": s8})
        int8.to("cuda")
        wo = {bits: [t.to("cuda") for t in Q.quantize_weight_only(am.tensor(w), 128, bits)] for bits in (4, 8)}
        for m in batches:
            x = am.tensor(rng.standard_normal((m, k)).astype(np.float32), device="cuda")
            anchor = timed(lambda: F.linear(x, wg), args.repeats)
            cases = {
                "int8 dynamic (QuantizedDense)": lambda: int8(x),
                "int4 weight-only, group 128": lambda: Q.weight_only_linear(x, *wo[4], k, 128, 4),
                "int8 weight-only, group 128": lambda: Q.weight_only_linear(x, *wo[8], k, 128, 8),
            }
            for name, fn in cases.items():
                ours = timed(fn, args.repeats)
                print(f"{name:<34}{m:>6}{k:>7}{n:>7}{anchor * 1e3:>12.3f}{ours * 1e3:>10.3f}{anchor / ours:>8.2f}x")


if __name__ == "__main__":
    main()

"""Normalisation and activation benchmark: aimass against PyTorch (CPU) in one run, same threads.

  python benchmarks/bench_norm.py [--threads N]

LayerNorm (8192, 768) float32 with weight and bias, forward and forward + backward (the issue's
goal: at least as fast as PyTorch on CPU); BatchNorm2D training forward + backward; GELU /
SiLU forward on 4M elements. Times are medians in ms; "speedup" is time_torch / time_aimass,
so > 1 means aimass is faster. Needs PyTorch installed (not an aimass dependency).
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


def report(name: str, ours: float, anchor: float) -> None:
    print(f"{name:<44} aimass {ours * 1e3:8.2f} ms   torch {anchor * 1e3:8.2f} ms   speedup {anchor / ours:5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import torch
    import torch.nn.functional as TF

    torch.set_num_threads(args.threads)
    am.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    print(f"threads: {args.threads}, torch {torch.__version__}, aimass SIMD level {am._core.cpu_simd_level()}")

    def both(name, ours, anchor):
        report(name, median_seconds(ours, repeats=15), median_seconds(anchor, repeats=15))

    def pair(*shapes):
        arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
        return ([am.tensor(a, requires_grad=True) for a in arrays], [torch.tensor(a, requires_grad=True) for a in arrays])

    (ax, aw, ab, ag), (tx, tw, tb, tg) = pair((8192, 768), (768,), (768,), (8192, 768))
    with am.no_grad(), torch.no_grad():
        both("LayerNorm (8192, 768) forward", lambda: F.layer_norm(ax, 768, aw, ab),
             lambda: TF.layer_norm(tx, (768,), tw, tb))
    both("LayerNorm (8192, 768) forward + backward", lambda: F.layer_norm(ax, 768, aw, ab).backward(ag),
         lambda: TF.layer_norm(tx, (768,), tw, tb).backward(tg))

    (ax, aw, ab, ag), (tx, tw, tb, tg) = pair((64, 64, 32, 32), (64,), (64,), (64, 64, 32, 32))
    both("BatchNorm2D (64, 64, 32, 32) train fwd + bwd",
         lambda: F.batch_norm(ax, None, None, aw, ab, training=True).backward(ag),
         lambda: TF.batch_norm(tx, None, None, tw, tb, training=True).backward(tg))

    (ax,), (tx,) = pair((1 << 22,))
    with am.no_grad(), torch.no_grad():
        both("GELU 4M forward", lambda: F.gelu(ax), lambda: TF.gelu(tx))
        both("GELU tanh 4M forward", lambda: F.gelu(ax, approximate="tanh"), lambda: TF.gelu(tx, approximate="tanh"))
        both("SiLU 4M forward", lambda: F.silu(ax), lambda: TF.silu(tx))
        both("Dropout(0.1) 4M forward", lambda: F.dropout(ax, 0.1), lambda: TF.dropout(tx, 0.1))


if __name__ == "__main__":
    main()

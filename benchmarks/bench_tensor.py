"""Tensor core benchmark: aimass against NumPy (CPU) and PyTorch/cuBLAS (GPU) in one run.

  python benchmarks/bench_tensor.py [--quick] [--threads N]

Matmul: square 256..2048 and transformer-like shapes, GFLOP/s (both through OpenBLAS).
Elementwise and reductions on 1M-16M float32 elements: GB/s moved, against the machine's
memory bandwidth measured here (a large NumPy copy). Figures are medians; "speedup" is
aimass over the anchor (time_anchor / time_aimass), so > 1 means aimass is faster.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _timing import median_seconds, row  # noqa: E402

import aimass as am  # noqa: E402


def measure_bandwidth(nbytes: int = 512 << 20) -> float:
    """Copy bandwidth in GB/s (read + write) of a buffer far larger than the caches."""
    src = np.ones(nbytes // 4, np.float32)
    dst = np.empty_like(src)
    t = median_seconds(lambda: np.copyto(dst, src), repeats=7)
    return 2 * nbytes / t / 1e9


def bench_matmul(quick: bool) -> None:
    print("\n-- matmul (float32), GFLOP/s")
    shapes = [(n, n, n) for n in ((256, 512, 1024) if quick else (256, 512, 1024, 2048))]
    shapes += [(128, 768, 3072), (128, 3072, 768), (512, 768, 768), (2048, 768, 3072)][: 2 if quick else 4]
    rng = np.random.default_rng(0)
    # Both BLAS libraries start their thread pools and size their buffers on first use: do
    # that before the first timed case, or it is charged to whichever library runs it.
    w = rng.standard_normal((512, 512), dtype=np.float32)
    tw = am.from_numpy(w)
    for _ in range(20):
        w @ w
        tw @ tw
    for m, k, n in shapes:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        ta, tb = am.from_numpy(a), am.from_numpy(b)
        flops = 2.0 * m * n * k
        reps = 5 if m * n * k > 2e9 else 15
        t_np = median_seconds(lambda: a @ b, repeats=reps)
        t_am = median_seconds(lambda: ta @ tb, repeats=reps)
        print(row(f"{m}x{k} @ {k}x{n}", flops / t_am / 1e9, flops / t_np / 1e9, "GFLOP/s"))
    # Batched (attention-like): (B, T, d) @ (B, d, T)
    a = rng.standard_normal((64, 128, 64), dtype=np.float32)
    b = rng.standard_normal((64, 64, 128), dtype=np.float32)
    ta, tb = am.from_numpy(a), am.from_numpy(b)
    flops = 2.0 * 64 * 128 * 128 * 64
    print(row("batched 64x(128x64 @ 64x128)", flops / median_seconds(lambda: ta @ tb) / 1e9,
              flops / median_seconds(lambda: a @ b) / 1e9, "GFLOP/s"))


def bench_elementwise(bandwidth: float, quick: bool) -> None:
    print(f"\n-- elementwise and reductions (float32), GB/s moved; memory bandwidth measured here: {bandwidth:.1f} GB/s")
    rng = np.random.default_rng(1)
    for n in ((1 << 20, 1 << 24) if not quick else (1 << 20, 1 << 22)):
        x = rng.standard_normal(n, dtype=np.float32)
        y = rng.standard_normal(n, dtype=np.float32)
        tx, ty = am.from_numpy(x), am.from_numpy(y)
        m = x.reshape(-1, 1024)
        tm = am.from_numpy(m)
        nb = x.nbytes
        cases = [
            ("add", lambda: x + y, lambda: tx + ty, 3 * nb),
            ("mul scalar", lambda: x * 2.5, lambda: tx * 2.5, 2 * nb),
            ("relu", lambda: np.maximum(x, 0), lambda: tx.relu(), 2 * nb),
            ("exp", lambda: np.exp(x), lambda: tx.exp(), 2 * nb),
            ("tanh", lambda: np.tanh(x), lambda: tx.tanh(), 2 * nb),
            ("sigmoid", lambda: 1 / (1 + np.exp(-x)), lambda: tx.sigmoid(), 2 * nb),
            ("where", lambda: np.where(x > 0, x, y), lambda: am.where(tx > 0, tx, ty), 3 * nb),
            ("x > 0 (bool out)", lambda: x > 0, lambda: tx > 0, nb + nb // 4),
            ("x == y (bool out)", lambda: x == y, lambda: tx == ty, 2 * nb + nb // 4),
            ("sum", lambda: x.sum(), lambda: tx.sum(), nb),
            ("max", lambda: x.max(), lambda: tx.max(), nb),
            ("mean axis=1 (rows of 1024)", lambda: m.mean(axis=1), lambda: tm.mean(axis=1), nb),
            ("sum axis=0 (columns)", lambda: m.sum(axis=0), lambda: tm.sum(axis=0), nb),
            ("argmax axis=1", lambda: m.argmax(axis=1), lambda: tm.argmax(axis=1), nb),
            ("var", lambda: x.var(), lambda: tx.var(), nb),
        ]
        label = f"{n >> 20}M"
        for name, f_np, f_am, moved in cases:
            t_np = median_seconds(f_np, repeats=11)
            t_am = median_seconds(f_am, repeats=11)
            print(row(f"{name} [{label}]", moved / t_am / 1e9, moved / t_np / 1e9, "GB/s",
                      f"({100 * moved / t_am / 1e9 / bandwidth:4.0f}% of bw)"))


def bench_cuda(quick: bool) -> None:
    if not am.cuda.is_available():
        print(f"\n-- CUDA: skipped ({am.cuda.unavailable_reason()})")
        return
    try:
        import torch
    except ImportError:
        print("\n-- CUDA: skipped (PyTorch is not installed; it is the cuBLAS anchor)")
        return
    print(f"\n-- CUDA matmul, TFLOP/s ({am.cuda.device_name(0)}); anchor: torch.matmul (cuBLAS), TF32 off on both")
    torch.backends.cuda.matmul.allow_tf32 = False
    for dtype_name in ("float32", "float16", "bfloat16"):
        for m, k, n in [(1024, 1024, 1024), (4096, 4096, 4096), (2048, 768, 3072), (8192, 8192, 8192)][: 2 if quick else 4]:
            tt_a = torch.randn(m, k, device="cuda", dtype=getattr(torch, dtype_name))
            tt_b = torch.randn(k, n, device="cuda", dtype=getattr(torch, dtype_name))
            ta, tb = am.from_dlpack(tt_a), am.from_dlpack(tt_b)
            flops = 2.0 * m * n * k

            def ours():
                ta @ tb
                am.cuda.synchronize()

            def theirs():
                tt_a @ tt_b
                torch.cuda.synchronize()

            print(row(f"{dtype_name} {m}x{k} @ {k}x{n}", flops / median_seconds(ours) / 1e12,
                      flops / median_seconds(theirs) / 1e12, "TFLOP/s"))
    n = 1 << 26
    tx = torch.randn(n, device="cuda")
    ax = am.from_dlpack(tx)

    def ours_add():
        ax + ax
        am.cuda.synchronize()

    def theirs_add():
        tx + tx
        torch.cuda.synchronize()

    print(row("add [64M]", 3 * 4 * n / median_seconds(ours_add) / 1e9, 3 * 4 * n / median_seconds(theirs_add) / 1e9, "GB/s"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer, smaller cases")
    parser.add_argument("--threads", type=int, default=0, help="threads for aimass (default: all cores)")
    args = parser.parse_args()
    if args.threads:
        am.set_num_threads(args.threads)
    info = am.info()
    print(f"aimass {info['version']}  simd={info['cpu_simd']}  threads={info['num_threads']}  numpy {np.__version__}")
    print(f"aimass BLAS: {info['blas']}")
    bench_matmul(args.quick)
    bench_elementwise(measure_bandwidth(), args.quick)
    bench_cuda(args.quick)


if __name__ == "__main__":
    main()

"""Adam / AdamW step over 10M and 100M float32 parameters: aimass's fused step against
torch.optim.Adam / AdamW (foreach=True and fused=True) on the same threads, and against the memory
bandwidth measured in the same run.

An Adam step reads param, grad, exp_avg, exp_avg_sq and writes param, exp_avg, exp_avg_sq:
28 bytes per float32 parameter, every written array also read (no write-allocate traffic). The
bandwidth anchor is a STREAM-like pass over the same number of threads (NumPy ufuncs release
the GIL): copy (b = a) and in-place add (a += b, read-modify-write like Adam); the larger of the
two is the reference, each counted as STREAM counts (8 resp. 12 bytes per float32 element).

    python benchmarks/bench_optim.py [--threads 2] [--sizes 10e6 100e6] [--tensors 4]
"""
from __future__ import annotations

import argparse
import gc
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _timing import median_seconds  # noqa: E402

import aimass as am  # noqa: E402

BYTES_PER_ELEMENT = 28


def split_sizes(total: int, count: int) -> list[int]:
    base = total // count
    return [base + (1 if i < total % count else 0) for i in range(count)]


def stream_bandwidth(n: int, threads: int) -> tuple[float, float]:
    """(copy, in-place add) bandwidth in GB/s over n float32 elements on `threads` threads."""
    a = np.ones(n, np.float32)
    b = np.full(n, 2.0, np.float32)
    bounds = np.linspace(0, n, threads + 1).astype(np.int64)
    parts = list(zip(bounds[:-1], bounds[1:]))
    pool = ThreadPoolExecutor(threads)

    def run(fn):
        list(pool.map(lambda lohi: fn(*lohi), parts))

    t_copy = min(median_seconds(lambda: run(lambda lo, hi: np.copyto(b[lo:hi], a[lo:hi])), repeats=5) for _ in range(3))
    t_add = min(median_seconds(lambda: run(lambda lo, hi: np.add(a[lo:hi], b[lo:hi], out=a[lo:hi])), repeats=5) for _ in range(3))
    pool.shutdown()
    return 8 * n / t_copy / 1e9, 12 * n / t_add / 1e9


def aimass_step(cls, sizes: list[int], rng):
    params = [am.tensor(rng.standard_normal(s, dtype=np.float32), requires_grad=True) for s in sizes]
    for p in params:
        p.grad = am.tensor(rng.standard_normal(p.shape[0], dtype=np.float32) * 1e-3)
    return cls(params, lr=1e-3).step


def torch_step(torch, cls, sizes: list[int], rng, **kw):
    params = [torch.nn.Parameter(torch.from_numpy(rng.standard_normal(s, dtype=np.float32))) for s in sizes]
    for p in params:
        p.grad = torch.from_numpy(rng.standard_normal(p.shape[0], dtype=np.float32) * 1e-3)
    return cls(params, lr=1e-3, **kw).step


def interleaved(steps: dict, rounds: int = 3) -> dict:
    """The best median of each contender over rounds that take turns, so that load from other
    processes on a shared machine falls on all of them alike."""
    best = {name: float("inf") for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            best[name] = min(best[name], median_seconds(step, repeats=5))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sizes", type=float, nargs="+", default=[10e6, 100e6])
    ap.add_argument("--tensors", type=int, default=4, help="parameters per model (the elements split evenly)")
    args = ap.parse_args()

    am.set_num_threads(args.threads)
    try:
        import torch

        torch.set_num_threads(args.threads)
    except ImportError:
        torch = None
        print("torch is not installed: the PyTorch columns are skipped")
    rng = np.random.default_rng(0)

    print(f"aimass {am.__version__}, {args.threads} threads, {args.tensors} tensors per model, float32")
    copy_bw, add_bw = stream_bandwidth(int(max(args.sizes)) // 2, args.threads)
    bandwidth = max(copy_bw, add_bw)
    print(f"memory bandwidth (NumPy, {args.threads} threads): copy {copy_bw:.1f} GB/s, in-place add {add_bw:.1f} GB/s "
          f"-> reference {bandwidth:.1f} GB/s")
    print(f"{'':<18}{'aimass':>10}{'torch foreach':>15}{'torch fused':>13}{'vs foreach':>12}{'vs fused':>10}"
          f"{'aimass BW':>11}{'% of BW':>9}")
    for n in (int(s) for s in args.sizes):
        sizes = split_sizes(n, args.tensors)
        for name in ("Adam", "AdamW"):
            steps = {"aimass": aimass_step(getattr(am.optim, name), sizes, rng)}
            if torch is not None:
                cls = getattr(torch.optim, name)
                steps["foreach"] = torch_step(torch, cls, sizes, rng, foreach=True)
                steps["fused"] = torch_step(torch, cls, sizes, rng, fused=True)
            t = interleaved(steps)
            ours, foreach, fused = t["aimass"], t.get("foreach", float("nan")), t.get("fused", float("nan"))
            del steps
            gc.collect()
            achieved = BYTES_PER_ELEMENT * n / ours / 1e9
            print(f"{name + f' {n / 1e6:g}M':<18}{ours * 1e3:>8.1f}ms{foreach * 1e3:>13.1f}ms{fused * 1e3:>11.1f}ms"
                  f"{foreach / ours:>11.2f}x{fused / ours:>9.2f}x{achieved:>7.1f}GB/s{100 * achieved / bandwidth:>8.0f}%")


if __name__ == "__main__":
    main()

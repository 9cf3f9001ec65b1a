"""am.knn against FAISS (faiss-cpu, the anchor) on the same data in one run.

Flat (exact) search: queries per second for each (data, d, nb, nq, k), aimass's FlatIndex vs
faiss.IndexFlatL2, with the share of ids that agree. Both run on the same threads (default 2).

    python benchmarks/bench_knn.py                 # a few minutes: d 64/128/768, nb 100k
    python benchmarks/bench_knn.py --full          # the issue's grid: nb up to 1M, nq up to 10k
    python benchmarks/bench_knn.py --d 128 --nb 1000000 --nq 1 100 --k 10

IVF (recall@10 and QPS at several nprobe against faiss.IndexIVFFlat): benchmarks/bench_knn_ivf.py.

Threads: single queries and small batches on 1 and on 2 threads (more threads must not make
them slower).

GPU (--gpu, needs a CUDA build, a GPU and torch): FlatIndex on "cuda" against torch (matmul +
topk) on the same GPU, and against the time of the cuBLAS GEMM alone (the bound: scores must
be computed at least once).

Data: "random" (Gaussian) and "clustered" (1000 Gaussian blobs, the shape of real
embeddings). Medians over --repeats runs after a warm-up; big cases get fewer repeats.

    python benchmarks/bench_knn.py --only threads
    python benchmarks/bench_knn.py --only gpu --d 128 768 --nb 1000000 --nq 1000 10000
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _timing import median_seconds  # noqa: E402

import aimass as am  # noqa: E402


def make_data(kind: str, n: int, d: int, rng: np.random.Generator, centers=None) -> np.ndarray:
    if kind == "random":
        return rng.standard_normal((n, d), dtype=np.float32)
    assign = rng.integers(0, len(centers), n)
    return (centers[assign] + 0.3 * rng.standard_normal((n, d), dtype=np.float32)).astype(np.float32)


def repeats_for(flops: float, repeats: int) -> int:
    return max(1, repeats if flops < 2e10 else repeats // 2 if flops < 2e11 else 1)


def flat_cases(args, faiss, rng) -> None:
    print(f"# flat search, {args.threads} threads; QPS = queries per second (higher is better); anchor: faiss "
          f"{faiss.__version__} IndexFlatL2")
    print(f"{'data':<10}{'d':>5}{'nb':>9}{'nq':>7}{'k':>5}{'aimass QPS':>14}{'faiss QPS':>14}{'ratio':>8}{'ids agree':>11}")
    for kind in args.data:
        for d in args.d:
            centers = rng.standard_normal((1000, d), dtype=np.float32)
            for nb in args.nb:
                xb = make_data(kind, nb, d, rng, centers)
                ours = am.knn.FlatIndex(d, "l2")
                ours.add(xb)
                theirs = faiss.IndexFlatL2(d)
                theirs.add(xb)
                for nq in args.nq:
                    xq = make_data(kind, nq, d, rng, centers)
                    for k in args.k:
                        reps = repeats_for(2.0 * nq * nb * d, args.repeats)
                        ta = median_seconds(lambda: ours.search(xq, k), repeats=reps, warmup=1)
                        tf = median_seconds(lambda: theirs.search(xq, k), repeats=reps, warmup=1)
                        _, ia = ours.search(xq, k)
                        _, i_f = theirs.search(xq, k)
                        agree = float((ia == i_f).mean())
                        print(f"{kind:<10}{d:>5}{nb:>9}{nq:>7}{k:>5}{nq / ta:>14.1f}{nq / tf:>14.1f}{tf / ta:>7.2f}x"
                              f"{agree:>11.4f}", flush=True)
                del ours, theirs, xb


def thread_cases(args, rng) -> None:
    print("# threads: small batches must not get slower with more threads (ms per search: median over 40 runs,")
    print("# 1 and 2 threads alternating so that machine noise hits both alike)")
    print(f"{'d':>5}{'nb':>9}{'nq':>5}{'k':>5}{'1 thread':>11}{'2 threads':>11}")
    for d in args.d:
        xb = rng.standard_normal((args.nb[0], d), dtype=np.float32)
        index = am.knn.FlatIndex(d)
        index.add(xb)
        for nq in (1, 4, 16):
            xq = rng.standard_normal((nq, d), dtype=np.float32)
            times: dict[int, list[float]] = {1: [], 2: []}
            for _ in range(40):
                for threads in (1, 2):
                    am.set_num_threads(threads)
                    start = time.perf_counter()
                    index.search(xq, 10)
                    times[threads].append(time.perf_counter() - start)
            t1, t2 = (float(np.median(times[t])) for t in (1, 2))
            print(f"{d:>5}{args.nb[0]:>9}{nq:>5}{10:>5}{t1 * 1e3:>11.2f}{t2 * 1e3:>11.2f}", flush=True)
    am.set_num_threads(args.threads)


def gpu_cases(args, rng) -> None:
    import torch

    if not (am.cuda.is_available() and torch.cuda.is_available()):
        print("# gpu: skipped (needs a CUDA build of aimass, a GPU and torch with CUDA)")
        return
    print("# GPU flat search: ms per search (median); bound = the cuBLAS GEMM alone (torch.mm, FP32)")
    print(f"{'d':>5}{'nb':>9}{'nq':>7}{'k':>6}{'aimass':>10}{'torch':>10}{'GEMM bound':>12}{'bound/aimass':>14}"
          f"{'torch/aimass':>14}")
    torch.backends.cuda.matmul.allow_tf32 = False

    def cuda_time(fn, repeats):
        def run():
            fn()
            torch.cuda.synchronize()
        return median_seconds(run, repeats=repeats, warmup=2)

    for d in args.d:
        for nb in args.nb:
            xb = rng.standard_normal((nb, d), dtype=np.float32)
            index = am.knn.FlatIndex(d, "l2", device="cuda")
            index.add(xb)
            tb = torch.from_numpy(xb).cuda()
            tb_norms = (tb * tb).sum(1)
            for nq in args.nq:
                xq = rng.standard_normal((nq, d), dtype=np.float32)
                q_am = am.tensor(xq, device="cuda")
                tq = torch.from_numpy(xq).cuda()
                for k in args.k:
                    t_am = cuda_time(lambda: index.search(q_am, k), args.repeats)  # syncs the whole device

                    def torch_knn():
                        scores = tb_norms[None, :] - 2.0 * (tq @ tb.T)
                        return torch.topk(scores, k, dim=1, largest=False)
                    t_torch = cuda_time(torch_knn, args.repeats)
                    t_gemm = cuda_time(lambda: tq @ tb.T, args.repeats)
                    print(f"{d:>5}{nb:>9}{nq:>7}{k:>6}{t_am * 1e3:>10.2f}{t_torch * 1e3:>10.2f}{t_gemm * 1e3:>12.2f}"
                          f"{t_gemm / t_am:>13.2f}x{t_torch / t_am:>13.2f}x", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", nargs="+", default=["random", "clustered"], choices=["random", "clustered"])
    parser.add_argument("--d", type=int, nargs="+", default=[64, 128, 768])
    parser.add_argument("--nb", type=int, nargs="+", default=[100_000])
    parser.add_argument("--nq", type=int, nargs="+", default=[1, 100, 1000])
    parser.add_argument("--k", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--full", action="store_true", help="nb 100k and 1M, nq 1 / 100 / 10k")
    parser.add_argument("--only", nargs="+", default=["flat", "threads"], choices=["flat", "threads", "gpu"])
    args = parser.parse_args()
    if args.full:
        args.nb, args.nq = [100_000, 1_000_000], [1, 100, 10_000]
    try:
        import faiss
    except ImportError:
        sys.exit("bench_knn needs the anchor: pip install faiss-cpu")
    faiss.omp_set_num_threads(args.threads)
    am.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    if "flat" in args.only:
        flat_cases(args, faiss, rng)
    if "threads" in args.only:
        thread_cases(args, rng)
    if "gpu" in args.only:
        gpu_cases(args, rng)
    print(f"# total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()

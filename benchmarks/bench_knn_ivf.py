"""IVF search: aimass IVFFlatIndex against faiss.IndexIVFFlat on the same data and threads.

Clustered data (a Gaussian mixture: nb points around nb / 200 centres) or uniform random,
each index trained by its own k-means (FAISS: 10 iterations, random init; aimass: 10
iterations, k-means++). For each nprobe: queries per second over a batch of nq queries (and,
with --single, one query at a time) and recall@10 against exact search, medians of several
runs. The speedup is aimass QPS / FAISS QPS at the same nprobe; since the two k-means differ
slightly, compare QPS where the recalls match (both printed), or give FAISS aimass's centroids
(--same-centroids) so that both scan the same lists.

    python benchmarks/bench_knn_ivf.py [--threads 2] [--nb 200000] [--d 128] [--nlist 1024]
        [--nq 1000] [--nprobe 1 4 16 64] [--data clustered|random] [--spread 0.5] [--metric l2|ip] [--single]
        [--same-centroids]
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


def make_data(kind: str, nb: int, nq: int, d: int, spread: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Database (nb, d) and queries (nq, d) from one distribution."""
    if kind == "random":
        x = rng.random((nb + nq, d), dtype=np.float32)
    else:
        centres = rng.standard_normal((max(nb // 200, 1), d)).astype(np.float32) * 0.5
        noise = rng.standard_normal((nb + nq, d)).astype(np.float32) * spread
        x = centres[rng.integers(0, len(centres), nb + nq)] + noise
    return x[:nb], x[nb:]


def recall_at_10(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth)]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--nb", type=int, default=200_000)
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--nlist", type=int, default=1024)
    ap.add_argument("--nq", type=int, default=1000)
    ap.add_argument("--nprobe", type=int, nargs="+", default=[1, 4, 16, 64])
    ap.add_argument("--data", choices=["clustered", "random"], default="clustered")
    ap.add_argument("--spread", type=float, default=0.5, help="clustered: noise around each centre (centres ~ 0.5)")
    ap.add_argument("--metric", choices=["l2", "ip"], default="l2")
    ap.add_argument("--single", action="store_true", help="also time one query at a time (first 100 queries)")
    ap.add_argument("--same-centroids", action="store_true",
                    help="FAISS uses aimass's trained centroids: identical lists and recall, so only the scans differ")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    import faiss
    faiss.omp_set_num_threads(args.threads)
    am.set_num_threads(args.threads)

    rng = np.random.default_rng(0)
    xb, xq = make_data(args.data, args.nb, args.nq, args.d, args.spread, rng)
    k = 10

    exact = am.knn.FlatIndex(args.d, metric=args.metric)
    exact.add(xb)
    _, truth = exact.search(xq, k)

    fmetric = faiss.METRIC_L2 if args.metric == "l2" else faiss.METRIC_INNER_PRODUCT
    quantizer = faiss.IndexFlatL2(args.d) if args.metric == "l2" else faiss.IndexFlatIP(args.d)
    ai = am.knn.IVFFlatIndex(args.d, args.nlist, metric=args.metric)
    t0 = time.perf_counter()
    ai.train(xb)
    ai.add(xb)
    t_ours_build = time.perf_counter() - t0

    t0 = time.perf_counter()
    if args.same_centroids:
        quantizer.add(ai.centroids)
    fi = faiss.IndexIVFFlat(quantizer, args.d, args.nlist, fmetric)
    if not args.same_centroids:
        fi.train(xb)
    fi.add(xb)
    t_faiss_build = time.perf_counter() - t0

    print(f"IVF-Flat {args.data} nb={args.nb} d={args.d} nlist={args.nlist} nq={args.nq} k={k} metric={args.metric} "
          f"threads={args.threads}{' same-centroids' if args.same_centroids else ''}")
    print(f"train + add: aimass {t_ours_build:.2f} s, faiss {t_faiss_build:.2f} s")
    print(f"{'nprobe':>6} {'':>6} {'aimass QPS':>11} {'recall':>7} {'faiss QPS':>11} {'recall':>7} {'ratio':>6}")
    for nprobe in args.nprobe:
        ai.nprobe = nprobe
        fi.nprobe = nprobe
        _, ids_ours = ai.search(xq, k)
        _, ids_faiss = fi.search(xq, k)
        r_ours, r_faiss = recall_at_10(ids_ours, truth), recall_at_10(ids_faiss, truth)
        t_ours = median_seconds(lambda: ai.search(xq, k), repeats=args.repeats, warmup=1)
        t_faiss = median_seconds(lambda: fi.search(xq, k), repeats=args.repeats, warmup=1)
        q_ours, q_faiss = args.nq / t_ours, args.nq / t_faiss
        print(f"{nprobe:>6} {'batch':>6} {q_ours:>11.0f} {r_ours:>7.3f} {q_faiss:>11.0f} {r_faiss:>7.3f} "
              f"{q_ours / q_faiss:>5.2f}x")
        if args.single:
            singles = [xq[i:i + 1] for i in range(min(100, args.nq))]
            t_ours = median_seconds(lambda: [ai.search(s, k) for s in singles], repeats=args.repeats, warmup=1)
            t_faiss = median_seconds(lambda: [fi.search(s, k) for s in singles], repeats=args.repeats, warmup=1)
            q_ours, q_faiss = len(singles) / t_ours, len(singles) / t_faiss
            print(f"{nprobe:>6} {'single':>6} {q_ours:>11.0f} {'':>7} {q_faiss:>11.0f} {'':>7} "
                  f"{q_ours / q_faiss:>5.2f}x")


if __name__ == "__main__":
    main()

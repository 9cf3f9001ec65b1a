"""aimass.metrics against scikit-learn (the anchor) on the same inputs in one run: millions of
samples per second for the metrics that cost a sort (ROC AUC, average precision, one-vs-rest)
and for the counting ones (confusion matrix, F1, top-k accuracy, log loss).

    python benchmarks/bench_metrics.py [--n 1000000] [--classes 10]
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _timing import median_seconds, row  # noqa: E402

import aimass as am  # noqa: E402
from aimass import metrics  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--classes", type=int, default=10)
    args = parser.parse_args()
    import sklearn.metrics as sk

    warnings.simplefilter("ignore")
    n, c = args.n, args.classes
    am.set_num_threads(2) if hasattr(am, "set_num_threads") else None
    rng = np.random.default_rng(0)
    y = rng.integers(0, c, n)
    logits = rng.normal(size=(n, c)) + 2 * np.eye(c)[y]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    pred = proba.argmax(1)
    yb, sb = (y == 0).astype(np.int64), proba[:, 0]
    cases = [
        ("roc_auc_score binary", lambda m: m.roc_auc_score(yb, sb)),
        ("average_precision_score binary", lambda m: m.average_precision_score(yb, sb)),
        (f"roc_auc_score ovr ({c} classes)", lambda m: m.roc_auc_score(y, proba, multi_class="ovr")),
        ("confusion_matrix", lambda m: m.confusion_matrix(y, pred)),
        ("f1_score macro", lambda m: m.f1_score(y, pred, average="macro")),
        ("top_k_accuracy_score k=3", lambda m: m.top_k_accuracy_score(y, proba, k=3)),
        ("log_loss", lambda m: m.log_loss(y, proba)),
    ]
    print(f"n = {n}, classes = {c}; figures in million samples/s (higher is better); anchor: scikit-learn")
    for name, fn in cases:
        ours = median_seconds(lambda: fn(metrics), repeats=5)
        anchor = median_seconds(lambda: fn(sk), repeats=5)
        print(row(name, n / ours / 1e6, n / anchor / 1e6, "M/s"))


if __name__ == "__main__":
    main()

"""``aimass example``: a short worked example of the tensor API.

Fits a linear regression y = X w + b by full-batch gradient descent, with the gradients
written out by hand (autograd arrives with am.nn), and checks the fit against NumPy's
least-squares solution. Runs on CUDA too when a GPU is present.
"""
from __future__ import annotations

import time

import numpy as np

import aimass as am


def fit_linear_regression(x: am.Tensor, y: am.Tensor, steps: int = 300, lr: float = 0.1):
    n, d = x.shape
    w = am.zeros((d, 1), device=x.device)
    b = am.zeros((1,), device=x.device)
    for step in range(steps):
        residual = x @ w + b - y                    # (n, 1)
        grad_w = x.T @ residual * (2.0 / n)          # (d, 1)
        grad_b = residual.mean(axis=0) * 2.0         # (1,)
        w = w - lr * grad_w
        b = b - lr * grad_b
        if step % 100 == 0 or step == steps - 1:
            print(f"  step {step:4d}  mse {float((residual * residual).mean()):.6f}")
    return w, b


def run_example() -> None:
    am.manual_seed(0)
    n, d = 20_000, 16
    x = am.randn((n, d))
    true_w = am.uniform(-2.0, 2.0, (d, 1))
    y = x @ true_w + 0.5 + 0.01 * am.randn((n, 1))
    print(f"aimass {am.__version__}: linear regression on {n} x {d} synthetic data ({am.info()['cpu_simd']} kernels)")

    devices = ["cpu"] + (["cuda"] if am.cuda.is_available() else [])
    for device in devices:
        xd, yd = x.to(device), y.to(device)
        start = time.perf_counter()
        w, b = fit_linear_regression(xd, yd)
        elapsed = time.perf_counter() - start
        # Reference: NumPy's least squares on the same data, with a bias column.
        xa = np.hstack([x.numpy(), np.ones((n, 1), np.float32)]).astype(np.float64)
        ref = np.linalg.lstsq(xa, y.numpy().astype(np.float64), rcond=None)[0]
        ours = np.vstack([w.cpu().numpy(), b.cpu().numpy()[:, None]])
        print(f"  {device}: {elapsed * 1000:.0f} ms for 300 steps; max |w - lstsq| = {np.abs(ours - ref).max():.2e}")

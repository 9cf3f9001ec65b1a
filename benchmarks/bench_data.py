"""One epoch of minibatches from in-memory MNIST-sized arrays (60000 x 1 x 28 x 28 float32,
batch 128, shuffled): aimass.data.DataLoader (prefetch on and off, and with flip + crop
augmentation) against torch.utils.data.DataLoader over a TensorDataset and against plain
torch index_select batches, on the same threads, in one run."""
from __future__ import annotations

import argparse
import time

import numpy as np

import aimass as am
from aimass.data import DataLoader


def best_of(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=60000)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args()
    am.set_num_threads(a.threads)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((a.n, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, a.n)

    def drain(loader):
        for _ in loader:
            pass

    rows = []
    for name, opts in [("aimass prefetch=2", {}), ("aimass prefetch=0", dict(prefetch=0)),
                       ("aimass flip+crop", dict(random_flip=True, random_crop=2))]:
        loader = DataLoader((x, y), batch_size=a.batch, shuffle=True, **opts)
        rows.append((name, best_of(lambda: drain(loader), a.repeat)))
    try:
        import torch
        from torch.utils.data import DataLoader as TorchLoader, TensorDataset

        torch.set_num_threads(a.threads)
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        tl = TorchLoader(TensorDataset(tx, ty), batch_size=a.batch, shuffle=True)
        rows.append(("torch DataLoader(TensorDataset)", best_of(lambda: drain(tl), a.repeat)))

        def index_batches():
            perm = torch.randperm(a.n)
            for i in range(0, a.n, a.batch):
                idx = perm[i:i + a.batch]
                tx.index_select(0, idx), ty.index_select(0, idx)

        rows.append(("torch index_select batches", best_of(index_batches, a.repeat)))
    except ImportError:
        print("torch not installed: no anchor")
    base = dict(rows).get("torch DataLoader(TensorDataset)")
    for name, t in rows:
        ratio = f"  {base / t:6.1f}x torch DataLoader" if base else ""
        print(f"{name:34s} {t * 1e3:8.1f} ms/epoch  {a.n / t / 1e3:8.1f}k samples/s{ratio}")


if __name__ == "__main__":
    main()

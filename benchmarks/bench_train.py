"""One training epoch: aimass's Model.fit (the native loop) against a PyTorch training loop (same
model, optimizer, batch size, data and thread count) in one run. Prints samples/s for both and
the ratio (above 1: aimass is faster). Data is random MNIST-sized (60,000 images of 28x28, 10
classes): the speed of an epoch does not depend on what the pixels show.

    python benchmarks/bench_train.py [--threads N] [--samples N] [--epochs E] [--device cpu|cuda] [--batch B]

Goals (issue 4), on CPU: MLP 784-512-512-10 at batch 128 at least 1.2x PyTorch's samples/s; the
small CNN at least 1.0x. On a GPU: the MLP at batch 64 at least 2x PyTorch eager.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

import aimass as am

try:
    import torch
except ImportError:  # pragma: no cover - the anchor is optional
    torch = None


def aimass_mlp():
    nn = am.nn
    return nn.Sequential([nn.Flatten(), nn.Dense(512, activation="relu", in_features=784),
                          nn.Dense(512, activation="relu", in_features=512), nn.Dense(10, in_features=512)])


def aimass_cnn():
    nn = am.nn
    return nn.Sequential([nn.Conv2D(32, 3, padding="same", activation="relu", in_channels=1), nn.MaxPool2D(2),
                          nn.Conv2D(64, 3, padding="same", activation="relu", in_channels=32), nn.MaxPool2D(2),
                          nn.Flatten(), nn.Dense(128, activation="relu", in_features=64 * 7 * 7),
                          nn.Dense(10, in_features=128)])


def torch_model(ours):
    """The same architecture in PyTorch, with our initial weights copied in."""
    tnn = torch.nn
    layers = []
    for layer in ours:
        name = type(layer).__name__
        cfg = layer.get_config() if hasattr(layer, "get_config") else {}
        if name == "Flatten":
            layers.append(tnn.Flatten())
        elif name == "Dense":
            lin = tnn.Linear(cfg["in_features"], cfg["units"])
            lin.weight.data.copy_(torch.from_numpy(layer.weight.numpy()))
            lin.bias.data.copy_(torch.from_numpy(layer.bias.numpy()))
            layers.append(lin)
            if cfg["activation"] == "relu":
                layers.append(tnn.ReLU())
        elif name == "Conv2D":
            conv = tnn.Conv2d(cfg["in_channels"], cfg["filters"], cfg["kernel_size"], padding="same")
            conv.weight.data.copy_(torch.from_numpy(layer.weight.numpy()))
            conv.bias.data.copy_(torch.from_numpy(layer.bias.numpy()))
            layers.append(conv)
            if cfg["activation"] == "relu":
                layers.append(tnn.ReLU())
        elif name == "MaxPool2D":
            layers.append(tnn.MaxPool2d(2))
    return tnn.Sequential(*layers)


def time_aimass(model, x, y, batch, epochs, device):
    model.to(device)
    model.compile(optimizer=am.optim.Adam(model.parameters(), lr=1e-3), loss="cross_entropy")
    times = []
    for _ in range(epochs + 1):  # the first epoch warms up
        start = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, shuffle=True, verbose=0)
        if device != "cpu":
            am.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def time_torch(model, x, y, batch, epochs, device):
    dev = torch.device(device)
    model.to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x).to(dev), torch.from_numpy(y).to(dev)
    n = len(x)
    times = []
    for _ in range(epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(n, device=dev)
        for i in range(0, n, batch):
            idx = order[i:i + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs (after one warm-up epoch)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    am.set_num_threads(args.threads)
    if torch is not None:
        torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    x = rng.random((args.samples, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, args.samples).astype(np.int64)
    print(f"aimass {am.__version__}, torch {torch.__version__ if torch else 'not installed'}; {args.threads} threads, "
          f"{args.device}, {args.samples} samples of 1x28x28, batch {args.batch}, Adam; median of {args.epochs} epochs")
    print(f"{'model':<34} {'aimass samples/s':>17} {'torch samples/s':>16} {'ratio':>7}")
    for name, make in (("MLP 784-512-512-10", aimass_mlp), ("CNN conv32-pool-conv64-pool-128", aimass_cnn)):
        am.manual_seed(0)
        ours = make()
        theirs = torch_model(ours) if torch is not None else None
        ours_s = time_aimass(ours, x, y, args.batch, args.epochs, args.device)
        ours_rate = args.samples / ours_s
        if theirs is not None:
            their_rate = args.samples / time_torch(theirs, x, y, args.batch, args.epochs, args.device)
            print(f"{name:<34} {ours_rate:>17,.0f} {their_rate:>16,.0f} {ours_rate / their_rate:>6.2f}x")
        else:
            print(f"{name:<34} {ours_rate:>17,.0f} {'-':>16} {'-':>7}")


if __name__ == "__main__":
    main()

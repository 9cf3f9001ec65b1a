"""Forward + backward time per layer: aimass against PyTorch (CPU; and CUDA where both have a GPU),
same shapes, same weights, same thread count, in one run. Prints both medians and the speedup
(PyTorch's time / ours: above 1 means aimass is faster).

    python benchmarks/bench_layers.py [--threads N] [--device cpu|cuda] [--repeats R]

Goals (issue 3): on CPU at least as fast as PyTorch for Dense and LayerNorm, within 1.5x for Conv2D;
on an NVIDIA GPU within 10% of PyTorch eager per layer.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _timing import median_seconds  # noqa: E402

import aimass as am  # noqa: E402

try:
    import torch
except ImportError:  # pragma: no cover - the anchor is optional
    torch = None


def copy_weights(ours: am.nn.Module, theirs, names: dict[str, str]) -> None:
    """theirs.<torch name> = ours.<our name>, for each pair."""
    state = ours.state_dict()
    with torch.no_grad():
        for our_name, their_name in names.items():
            param = theirs.get_parameter(their_name)
            param.copy_(torch.from_numpy(np.ascontiguousarray(state[our_name].cpu().numpy())))


def cases():
    """(name, our layer, a maker of the torch layer, input shape, our weight name -> torch's, or "mha")."""
    out = []
    dense = am.nn.Dense(1024, in_features=1024)
    out.append(("Dense 1024x1024, batch 256", dense, lambda: torch.nn.Linear(1024, 1024), (256, 1024),
                {"weight": "weight", "bias": "bias"}))
    conv = am.nn.Conv2D(64, 3, padding="same", in_channels=64)
    out.append(("Conv2D 3x3 64->64, 32x32, batch 64", conv, lambda: torch.nn.Conv2d(64, 64, 3, padding=1),
                (64, 64, 32, 32), {"weight": "weight", "bias": "bias"}))
    ln = am.nn.LayerNorm(768)
    out.append(("LayerNorm 768, 8192 rows", ln, lambda: torch.nn.LayerNorm(768), (8192, 768),
                {"weight": "weight", "bias": "bias"}))
    bn = am.nn.BatchNorm2D(64)
    out.append(("BatchNorm2D 64, 32x32, batch 64", bn, lambda: torch.nn.BatchNorm2d(64), (64, 64, 32, 32),
                {"weight": "weight", "bias": "bias"}))
    pool = am.nn.MaxPool2D(2)
    out.append(("MaxPool2D 2x2, 64x32x32, batch 64", pool, lambda: torch.nn.MaxPool2d(2), (64, 64, 32, 32), {}))
    mha = am.nn.MultiHeadAttention(256, 4)
    out.append(("MultiHeadAttention 256/4 heads, seq 256, batch 8", mha,
                lambda: torch.nn.MultiheadAttention(256, 4, batch_first=True), (8, 256, 256), "mha"))
    return out


def copy_mha(ours, theirs) -> None:
    s = {k: torch.from_numpy(np.ascontiguousarray(v.cpu().numpy())) for k, v in ours.state_dict().items()}
    with torch.no_grad():
        theirs.in_proj_weight.copy_(torch.cat([s["q_proj.weight"], s["k_proj.weight"], s["v_proj.weight"]]))
        theirs.in_proj_bias.copy_(torch.cat([s["q_proj.bias"], s["k_proj.bias"], s["v_proj.bias"]]))
        theirs.out_proj.weight.copy_(s["out_proj.weight"])
        theirs.out_proj.bias.copy_(s["out_proj.bias"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    am.set_num_threads(args.threads)
    if torch is not None:
        torch.set_num_threads(args.threads)
    am.manual_seed(0)
    rng = np.random.default_rng(0)
    print(f"aimass {am.__version__}, torch {torch.__version__ if torch else 'not installed'}, "
          f"{args.threads} threads, device {args.device}; median of {args.repeats} forward + backward passes")
    print(f"{'layer':<50} {'aimass ms':>10} {'torch ms':>10} {'speedup':>8}")
    for name, ours, make_theirs, shape, names in cases():
        x_np = rng.standard_normal(shape).astype(np.float32)
        ours.to(args.device)
        x = am.tensor(x_np, device=args.device, requires_grad=True)
        y = ours(x)
        g = am.ones(y.shape, device=args.device)
        ours.train()

        def step_ours():
            x.grad = None
            ours.zero_grad()
            ours(x).backward(g)
            if args.device != "cpu":
                am.cuda.synchronize()

        ours_s = median_seconds(step_ours, repeats=args.repeats)
        theirs_s = float("nan")
        if torch is not None:
            theirs = make_theirs()
            if names == "mha":
                copy_mha(ours, theirs)
            else:
                copy_weights(ours, theirs, names)
            dev = torch.device(args.device)
            theirs.to(dev).train()
            xt = torch.from_numpy(x_np).to(dev).requires_grad_(True)
            call = (lambda t: theirs(t, t, t, need_weights=False)[0]) if names == "mha" else theirs
            gt = torch.ones(call(xt).shape, device=dev)
            with torch.no_grad():  # same results before timing anything
                ref = call(xt).cpu().numpy()
            if not isinstance(ours, (am.nn.BatchNorm2D,)):
                mine = ours(am.tensor(x_np, device=args.device)).cpu().numpy()
                if not np.allclose(mine, ref, rtol=1e-3, atol=1e-3):
                    print(f"  warning: {name}: outputs differ by {np.abs(mine - ref).max():.3g}")

            def step_theirs():
                xt.grad = None
                theirs.zero_grad(set_to_none=True)
                call(xt).backward(gt)
                if dev.type == "cuda":
                    torch.cuda.synchronize()

            theirs_s = median_seconds(step_theirs, repeats=args.repeats)
        print(f"{name:<50} {ours_s * 1e3:>10.3f} {theirs_s * 1e3:>10.3f} {theirs_s / ours_s:>7.2f}x")


if __name__ == "__main__":
    main()

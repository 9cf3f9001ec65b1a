"""Hyperparameter search: aimass.hpo against Optuna 5 and rustuna (both from PyPI), same objective,
same run. Prints every figure, medians, and ratios (anchor time / ours: above 1 means aimass is
faster).

    python benchmarks/bench_hpo.py [--part overhead|quality|cnn|storage|all] [--quick] [--seeds N]

overhead  wall time of 100, 1,000 and 10,000 trials on a cheap objective with 5 parameters
          (float, log-float, int, categorical, stepped float), for TPE, random, CMA-ES and GP, in
          memory. Goals (issue 13): TPE at 2,000 trials >= 25x faster than Optuna and >= 2x faster
          than rustuna; 10,000 TPE trials in under 10 s.
quality   median best value over --seeds seeds after 50, 100 and 300 trials on Branin (min
          0.397887) and Hartmann6 (min -3.32237), each sampler against Optuna's; for TPE, a sign
          test over the seeds at each budget. Goal: TPE's median at least as good as Optuna's TPE.
cnn       the digits CNN (learning rate, width, dropout; median pruning): best validation accuracy
          after a few dozen trials, aimass's TPE against Optuna's TPE, same training code.
storage   trials per second on SQLite, the journal and PostgreSQL (benchmarks/bench_hpo_storage.py).
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))

import aimass.hpo as am_hpo  # noqa: E402

try:
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
except ImportError:  # pragma: no cover - the anchor is optional
    optuna = None
try:
    import rustuna
except ImportError:  # pragma: no cover
    rustuna = None

am_hpo.logging.set_verbosity(am_hpo.logging.WARNING)
warnings.filterwarnings("ignore")


# ---------------------------------------------------------------- objectives

def cheap_objective(trial) -> float:
    """Five parameters of the four kinds; costs nothing, so the time measured is the library's."""
    x = trial.suggest_float("x", -5.0, 5.0)
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    n = trial.suggest_int("n", 1, 64)
    act = trial.suggest_categorical("act", ["relu", "tanh", "gelu"])
    q = trial.suggest_float("q", 0.0, 1.0, step=0.05)
    return x * x + (math.log10(lr) + 3) ** 2 + abs(n - 20) / 10 + (act != "gelu") + q


def numeric_objective(trial) -> float:
    """For CMA-ES and GP (which model numeric parameters jointly): the same without the categorical."""
    x = trial.suggest_float("x", -5.0, 5.0)
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    n = trial.suggest_int("n", 1, 64)
    y = trial.suggest_float("y", -5.0, 5.0)
    q = trial.suggest_float("q", 0.0, 1.0, step=0.05)
    return x * x + (math.log10(lr) + 3) ** 2 + abs(n - 20) / 10 + y * y + q


def branin(trial) -> float:
    x1 = trial.suggest_float("x1", -5.0, 10.0)
    x2 = trial.suggest_float("x2", 0.0, 15.0)
    b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


_H6_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8],
                  [17, 8, 0.05, 10, 0.1, 14]])
_H6_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                         [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]])
_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def hartmann6(trial) -> float:
    x = np.array([trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(6)])
    return float(-np.sum(_H6_ALPHA * np.exp(-np.sum(_H6_A * (x - _H6_P) ** 2, axis=1))))


# ---------------------------------------------------------------- samplers of each library

def sampler(lib: str, name: str, seed: int | None):
    if lib == "aimass":
        s = am_hpo.samplers
    elif lib == "optuna":
        s = optuna.samplers
    else:
        s = rustuna.samplers
    cls = {"tpe": "TPESampler", "random": "RandomSampler", "cmaes": "CmaEsSampler", "gp": "GPSampler"}[name]
    if not hasattr(s, cls):
        return None
    return getattr(s, cls)(seed=seed)


def libraries() -> list[str]:
    return ["aimass"] + (["optuna"] if optuna else []) + (["rustuna"] if rustuna else [])


def create_study(lib: str, smp, direction: str = "minimize"):
    mod = {"aimass": am_hpo, "optuna": optuna, "rustuna": rustuna}[lib]
    return mod.create_study(sampler=smp, direction=direction)


# ---------------------------------------------------------------- overhead

def time_study(lib: str, name: str, n_trials: int, objective) -> float | None:
    smp = sampler(lib, name, seed=0)
    if smp is None:
        return None
    study = create_study(lib, smp)
    start = time.perf_counter()
    study.optimize(objective, n_trials=n_trials)
    return time.perf_counter() - start


def part_overhead(quick: bool) -> None:
    print("== overhead: wall seconds for N trials, 5 parameters, in memory (median of repeats)")
    plans = {"tpe": [100, 1000, 2000] + ([] if quick else [10000]), "random": [100, 1000] + ([] if quick else [10000]),
             "cmaes": [100, 1000], "gp": [100] if quick else [100, 300]}
    # the anchors' slow cases, skipped unless asked (Optuna's TPE at 10,000 trials takes minutes)
    anchor_cap = {"tpe": 2000, "random": 10000, "cmaes": 1000, "gp": 100 if quick else 300}
    for name, sizes in plans.items():
        objective = numeric_objective if name in ("cmaes", "gp") else cheap_objective
        for n in sizes:
            row = {}
            for lib in libraries():
                if lib != "aimass" and n > anchor_cap[name]:
                    continue
                times = []
                for _ in range(1 if n >= 2000 or name == "gp" else 3):
                    t = time_study(lib, name, n, objective)
                    if t is None:
                        break
                    times.append(t)
                    if t > 20:
                        break
                if times:
                    row[lib] = statistics.median(times)
            ours = row.get("aimass")
            parts = [f"{lib} {t:8.3f} s" for lib, t in row.items()]
            ratios = [f"{lib}/aimass {t / ours:6.1f}x" for lib, t in row.items() if lib != "aimass" and ours]
            print(f"  {name:6s} {n:6d} trials: " + "  ".join(parts) + ("   " + "  ".join(ratios) if ratios else ""),
                  flush=True)


# ---------------------------------------------------------------- quality

def best_after(lib: str, name: str, objective, seed: int, budgets: list[int]) -> list[float] | None:
    smp = sampler(lib, name, seed)
    if smp is None:
        return None
    study = create_study(lib, smp)
    study.optimize(objective, n_trials=max(budgets))
    values = [t.value for t in study.trials]
    return [min(values[:b]) for b in budgets]


def sign_test(ours: list[float], theirs: list[float]) -> tuple[int, int, float]:
    """(ours better, theirs better, two-sided p) over paired seeds; ties dropped."""
    wins = sum(a < b for a, b in zip(ours, theirs))
    losses = sum(a > b for a, b in zip(ours, theirs))
    n = wins + losses
    if n == 0:
        return wins, losses, 1.0
    k = min(wins, losses)
    p = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n * 2
    return wins, losses, min(1.0, p)


def part_quality(seeds: int, quick: bool) -> None:
    budgets = [50, 100] if quick else [50, 100, 300]
    print(f"== quality: median best value over {seeds} seeds after {budgets} trials (lower is better)")
    for problem, objective, minimum in [("branin", branin, 0.397887), ("hartmann6", hartmann6, -3.32237)]:
        print(f"  {problem} (minimum {minimum})")
        for name in ["tpe", "random", "cmaes", "gp"]:
            # the GP: 50 trials and at most 3 seeds (Optuna's takes about a second a trial there)
            b = [50] if name == "gp" else budgets
            n_seeds = min(seeds, 3) if name == "gp" else seeds
            results = {}
            for lib in ["aimass"] + (["optuna"] if optuna else []):
                runs = [best_after(lib, name, objective, seed, b) for seed in range(n_seeds)]
                if any(r is None for r in runs):
                    continue
                results[lib] = np.array(runs)  # [seeds, budgets]
            for j, budget in enumerate(b):
                line = "  ".join(f"{lib} {statistics.median(r[:, j]):9.5f}" for lib, r in results.items())
                extra = ""
                if "aimass" in results and "optuna" in results:
                    w, l, p = sign_test(list(results["aimass"][:, j]), list(results["optuna"][:, j]))
                    verdict = "as good or better" if statistics.median(results["aimass"][:, j]) <= \
                        statistics.median(results["optuna"][:, j]) else "WORSE"
                    extra = f"   sign test: aimass better on {w}, optuna on {l} seeds, p={p:.3f} ({verdict})"
                print(f"    {name:6s} {budget:4d} trials ({n_seeds} seeds): {line}{extra}", flush=True)


# ---------------------------------------------------------------- the digits CNN

def part_cnn(seeds: int, quick: bool) -> None:
    import aimass as am
    from aimass._demo_hpo import digits_split, train_trial

    n_trials = 12 if quick else 30
    data = digits_split(seed=0)
    print(f"== digits CNN: best validation accuracy after {n_trials} trials (lr, width, dropout; median pruning), "
          f"{seeds} seeds")
    results = {}
    for lib in ["aimass"] + (["optuna"] if optuna else []):
        mod = am_hpo if lib == "aimass" else optuna
        best, seconds = [], []
        for seed in range(seeds):
            am.manual_seed(seed)
            study = mod.create_study(direction="maximize", sampler=mod.samplers.TPESampler(seed=seed, n_startup_trials=8),
                                     pruner=mod.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=2))
            start = time.perf_counter()
            study.optimize(lambda t: train_trial(t, data, epochs=6, pruned_error=mod.TrialPruned), n_trials=n_trials)
            seconds.append(time.perf_counter() - start)
            best.append(study.best_value)
        results[lib] = best
        print(f"  {lib:7s} median best accuracy {statistics.median(best):.4f}  (per seed {np.round(best, 4).tolist()}), "
              f"median {statistics.median(seconds):.1f} s per study", flush=True)
    if len(results) == 2:
        w, l, p = sign_test([-v for v in results["aimass"]], [-v for v in results["optuna"]])
        print(f"  sign test: aimass better on {w}, optuna on {l} seeds, p={p:.3f}")


def part_storage(quick: bool) -> None:
    path = os.path.join(os.path.dirname(__file__), "bench_hpo_storage.py")
    if not os.path.exists(path):
        print("== storage: benchmarks/bench_hpo_storage.py is missing")
        return
    import runpy
    sys.argv = [path] + (["--quick"] if quick else [])
    runpy.run_path(path, run_name="__main__")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", default="all", choices=["overhead", "quality", "cnn", "storage", "all"])
    parser.add_argument("--quick", action="store_true", help="fewer sizes, budgets and seeds")
    parser.add_argument("--seeds", type=int, default=None, help="seeds for quality (default 20, quick 5)")
    args = parser.parse_args()
    print(f"aimass.hpo vs optuna {getattr(optuna, '__version__', 'missing')} and rustuna "
          f"{'present' if rustuna else 'missing'}")
    seeds = args.seeds or (5 if args.quick else 20)
    if args.part in ("overhead", "all"):
        part_overhead(args.quick)
    if args.part in ("quality", "all"):
        part_quality(seeds, args.quick)
    if args.part in ("cnn", "all"):
        part_cnn(min(seeds, 3 if args.quick else 5), args.quick)
    if args.part in ("storage", "all"):
        part_storage(args.quick)


if __name__ == "__main__":
    main()

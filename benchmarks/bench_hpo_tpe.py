"""TPE study loop: N trials of 5 parameters (float, log float, int, stepped float, categorical),
aimass.hpo against Optuna and rustuna in the same run, each with its default TPESampler (seeded).

    PYTHONPATH=python python benchmarks/bench_hpo_tpe.py [--trials 2000] [--optuna-trials 2000]

Prints wall seconds of create_study + optimize and each anchor's time / ours.
"""
from __future__ import annotations

import argparse
import importlib
import time
import warnings


def objective(t):
    x = t.suggest_float("x", -10, 10)
    lr = t.suggest_float("lr", 1e-5, 1e-1, log=True)
    units = t.suggest_int("units", 16, 256)
    drop = t.suggest_float("drop", 0.0, 0.5, step=0.05)
    act = t.suggest_categorical("act", ["relu", "gelu", "tanh"])
    return (x - 2) ** 2 + (lr * 1e3 - 1) ** 2 + (units - 100) ** 2 / 1e4 + drop + (act != "gelu")


def run(module: str, n: int, seed: int = 0) -> tuple[float, float]:
    lib = importlib.import_module(module)
    lib.logging.set_verbosity(lib.logging.WARNING) if hasattr(lib, "logging") else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        study = lib.create_study(sampler=lib.samplers.TPESampler(seed=seed))
        study.optimize(objective, n_trials=n)
        elapsed = time.perf_counter() - start
    best = study.best_value if hasattr(study, "best_value") else study.best_trial.value
    return elapsed, best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=2000)
    ap.add_argument("--optuna-trials", type=int, default=2000)
    ap.add_argument("--skip", nargs="*", default=[])
    a = ap.parse_args()
    ours, best = run("aimass.hpo", a.trials)
    print(f"aimass.hpo  {a.trials:6d} trials  {ours:8.3f} s  ({ours / a.trials * 1e6:6.0f} us/trial)  best {best:.4g}")
    for module, n in (("rustuna", a.trials), ("optuna", a.optuna_trials)):
        if module in a.skip:
            continue
        try:
            t, best = run(module, n)
        except ImportError:
            print(f"{module:<11} not installed")
            continue
        scaled = f"  ({module} / aimass per trial {t / n / (ours / a.trials):5.1f}x)"
        print(f"{module:<11} {n:6d} trials  {t:8.3f} s  ({t / n * 1e6:6.0f} us/trial)  best {best:.4g}{scaled}")


if __name__ == "__main__":
    main()

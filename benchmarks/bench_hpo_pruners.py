"""Pruning overhead: a study of 1,000 trials that report 100 steps each (the objective itself costs
nothing), asking the pruner after every report, with the same sampler (random, seeded) and the same
intermediate values — am.hpo's pruners against Optuna's, in one run. Prints seconds and the ratio."""
from __future__ import annotations

import argparse
import logging
import time
import warnings

import numpy as np


def run(mod, make_pruner, n_trials: int, n_steps: int) -> float:
    rng = np.random.default_rng(0)
    noise = rng.random((n_trials, n_steps)) * 0.1
    study = mod.create_study(pruner=make_pruner(mod), sampler=mod.samplers.RandomSampler(seed=0))

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        for step in range(n_steps):
            trial.report(x + noise[trial.number, step] / (step + 1), step)
            if trial.should_prune():
                raise mod.TrialPruned()
        return x

    t = time.perf_counter()
    study.optimize(objective, n_trials=n_trials)
    return time.perf_counter() - t


PRUNERS = {
    "MedianPruner": lambda mod: mod.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=10),
    "SuccessiveHalvingPruner": lambda mod: mod.pruners.SuccessiveHalvingPruner(),
    "HyperbandPruner": lambda mod: mod.pruners.HyperbandPruner(),
    "PatientPruner(Median)": lambda mod: mod.pruners.PatientPruner(mod.pruners.MedianPruner(), patience=3),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    import optuna

    import aimass.hpo as ah
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)  # Optuna's PatientPruner
    logging.getLogger("aimass.hpo").setLevel(logging.WARNING)
    print(f"{args.trials} trials x {args.steps} steps, should_prune after every report")
    print(f"{'pruner':<26}{'optuna s':>10}{'aimass s':>10}{'ratio':>8}")
    for name, make in PRUNERS.items():
        theirs = run(optuna, make, args.trials, args.steps)
        ours = run(ah, make, args.trials, args.steps)
        print(f"{name:<26}{theirs:>10.3f}{ours:>10.3f}{theirs / ours:>7.1f}x")


if __name__ == "__main__":
    main()

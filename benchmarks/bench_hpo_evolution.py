"""am.hpo's CMA-ES, GP and NSGA-II samplers against Optuna's on the same objectives, seeds and
budgets, in one run: wall time of study.optimize (objective cost ~0) and the result (best value,
or the hypervolume of the Pareto front with reference (11, 11) for ZDT1), mean over seeds.

  CMA-ES:  5-D sphere on [-5, 5]^5, --cma-trials trials
  GP:      5-D shifted sphere on [-5, 5]^5, --gp-trials trials (Optuna's GP is slow: keep it small)
  NSGA-II: 10-D ZDT1, population 50, --nsga-trials trials
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def sphere(trial):
    return float(sum(trial.suggest_float(f"x{i}", -5, 5) ** 2 for i in range(5)))


def shifted(trial):
    return float(sum((trial.suggest_float(f"x{i}", -5, 5) - 1) ** 2 for i in range(5)))


def zdt1(trial):
    x = np.array([trial.suggest_float(f"x{i}", 0, 1) for i in range(10)])
    g = 1 + 9 * x[1:].mean()
    return x[0], g * (1 - np.sqrt(x[0] / g))


def run(lib, sampler, objective, n_trials, multi, seeds):
    from aimass._core import hpo as native
    times, scores = [], []
    for seed in seeds:
        study = lib.create_study(directions=["minimize"] * 2 if multi else ["minimize"],
                                 sampler=getattr(lib.samplers, sampler)(seed=seed))
        t = time.perf_counter()
        study.optimize(objective, n_trials=n_trials)
        times.append(time.perf_counter() - t)
        if multi:
            v = np.array([tr.values for tr in study.trials])
            scores.append(native.hypervolume(v[native.pareto_front(v)], np.array([11.0, 11.0])))
        else:
            scores.append(study.best_value)
    return float(np.mean(times)), float(np.mean(scores))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cma-trials", type=int, default=1000)
    p.add_argument("--gp-trials", type=int, default=60)
    p.add_argument("--nsga-trials", type=int, default=2000)
    p.add_argument("--seeds", type=int, default=3)
    a = p.parse_args()
    warnings.simplefilter("ignore")
    import optuna
    import aimass.hpo as ah
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    ah.logging.set_verbosity(ah.logging.WARNING)
    seeds = range(a.seeds)
    cases = [("CmaEsSampler", sphere, a.cma_trials, False, "best value"),
             ("GPSampler", shifted, a.gp_trials, False, "best value"),
             ("NSGAIISampler", zdt1, a.nsga_trials, True, "hypervolume")]
    print(f"{'sampler':14s} {'trials':>6s} {'optuna s':>9s} {'aimass s':>9s} {'speedup':>8s}   "
          f"{'optuna result':>14s} {'aimass result':>14s}")
    for sampler, objective, n, multi, what in cases:
        to, so = run(optuna, sampler, objective, n, multi, seeds)
        ta, sa = run(ah, sampler, objective, n, multi, seeds)
        print(f"{sampler:14s} {n:6d} {to:9.3f} {ta:9.3f} {to / ta:7.1f}x   {so:14.6g} {sa:14.6g}  ({what})")


if __name__ == "__main__":
    main()

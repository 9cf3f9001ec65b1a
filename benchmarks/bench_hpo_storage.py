"""Trials per second on shared storages, aimass vs Optuna 5 (same run, same objective).

Each library runs a study with the random sampler and a cheap objective (three suggests) on
SQLite, the journal file and PostgreSQL (a throwaway server, when its binaries are there), with 1
and with 4 worker processes started together; trials/s = all trials / wall time of the slowest
worker. The median over --repeats runs is printed with the ratio aimass / Optuna.

    python benchmarks/bench_hpo_storage.py [--trials 200] [--repeats 3] [--backends sqlite,journal,postgresql]

Note: aimass's journal does not fsync each line (fsync=True does), and its SQLite runs in WAL mode
with synchronous=NORMAL: both survive a killed process, and may lose the last writes on power loss.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "python"))

WORKER = """
import sys, time
lib, kind, where, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
if lib == "optuna":
    import optuna as L
    journal = lambda p: L.storages.JournalStorage(L.storages.journal.JournalFileBackend(p))
else:
    import aimass.hpo as L
    journal = lambda p: L.storages.JournalStorage(L.storages.JournalFileBackend(p))
L.logging.set_verbosity(L.logging.WARNING)
storage = journal(where) if kind == "journal" else where
study = L.load_study(study_name="bench", storage=storage, sampler=L.samplers.RandomSampler(seed=None))
def objective(t):
    return t.suggest_float("x", -5, 5) ** 2 + t.suggest_int("n", 1, 9) + (t.suggest_categorical("c", ["a", "b"]) == "a")
t0 = time.perf_counter()
study.optimize(objective, n_trials=n)
print(time.perf_counter() - t0)
"""


def run(lib: str, kind: str, where: str, workers: int, trials: int) -> float:
    """Trials per second of `workers` processes on a new study."""
    env = {**os.environ, "PYTHONPATH": os.path.join(HERE, "..", "python")}
    setup = ("import optuna as L" if lib == "optuna" else "import aimass.hpo as L") + "\n" + (
        "from optuna.storages.journal import JournalFileBackend as B\ns = L.storages.JournalStorage(B(sys.argv[2]))"
        if lib == "optuna" and kind == "journal" else
        "s = L.storages.JournalStorage(L.storages.JournalFileBackend(sys.argv[2]))" if kind == "journal" else
        "s = sys.argv[2]") + "\nL.logging.set_verbosity(L.logging.WARNING)\n" \
        "L.create_study(storage=s, study_name='bench')"
    subprocess.run([sys.executable, "-c", "import sys\n" + setup, kind, where], env=env, check=True)
    per = trials // workers
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, lib, kind, where, str(per)], env=env,
                              stdout=subprocess.PIPE, text=True) for _ in range(workers)]
    times = []
    for p in procs:
        out, _ = p.communicate()
        assert p.returncode == 0
        times.append(float(out.split()[-1]))
    return per * workers / max(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--backends", default="sqlite,journal,postgresql")
    args = ap.parse_args()
    backends = args.backends.split(",")
    pg = None
    if "postgresql" in backends:
        from postgres_server import Unavailable, postgres_server
        try:
            pg = postgres_server()
            server = pg.__enter__()
        except Unavailable as e:
            print(f"postgresql: skipped ({e})")
            backends.remove("postgresql")
            pg = None
    print(f"{'storage':<11} {'workers':>7} {'optuna t/s':>11} {'aimass t/s':>11} {'ratio':>7}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for kind in backends:
                for workers in (1, 4):
                    figures = {"optuna": [], "aimass": []}
                    for r in range(args.repeats):
                        for lib in ("optuna", "aimass"):
                            tag = f"{lib}-{kind}-{workers}-{r}"
                            if kind == "sqlite":
                                where = f"sqlite:///{tmp}/{tag}.db"
                            elif kind == "journal":
                                where = f"{tmp}/{tag}.log"
                            else:
                                from hpo_storage_fixtures import fresh_postgres
                                where, _drop = fresh_postgres(server)
                            n = args.trials if lib == "aimass" else max(args.trials // 4, 4 * workers)
                            figures[lib].append(run(lib, kind, where, workers, n))
                    o, a = statistics.median(figures["optuna"]), statistics.median(figures["aimass"])
                    print(f"{kind:<11} {workers:>7} {o:>11.1f} {a:>11.1f} {a / o:>6.1f}x", flush=True)
    finally:
        if pg is not None:
            pg.__exit__(None, None, None)


if __name__ == "__main__":
    main()

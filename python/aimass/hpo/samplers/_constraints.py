"""A trial's constraint values as the samplers read them (feasible when all are <= 0), from
either record: ``constraints`` (a list: ``constraints_func``, aimass's ``set_constraint``) or
Optuna 5's named ``constraints:<name>`` system attrs (``Trial.set_constraint(key, value)``),
the named ones in name order."""
from __future__ import annotations

from ..trial._frozen import FrozenTrial

_KEY = "constraints"
_PREFIX = "constraints:"


def trial_constraints(trial: FrozenTrial) -> list[float] | None:
    attrs = trial.system_attrs
    values = [float(c) for c in attrs[_KEY]] if _KEY in attrs else []
    named = sorted(k for k in attrs if k.startswith(_PREFIX))
    if not named and _KEY not in attrs:
        return None
    return values + [float(attrs[k]) for k in named]

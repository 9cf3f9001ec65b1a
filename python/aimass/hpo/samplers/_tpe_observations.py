"""TPE's memory of a study: every finished (COMPLETE or PRUNED) trial's parameters and scores in
NumPy arrays, appended as trials finish, so a proposal reads only the trials finished since the
previous one (in any order: threads and processes finish them out of order).

    X [n, c]      internal repr (value, or choice index) of parameter column c; NaN = not in the trial
    number [n]    trial number of each row (rows are in arrival order; `order()` sorts them)
    pruned [n]    True for PRUNED rows
    loss [n, m]   objective values, all minimised (maximised ones negated); COMPLETE rows only
    step [n], step_value [n]   PRUNED rows: last reported step and its (minimised) value
    violation [n] sum of the positive constraint values (0 = feasible)
A column is one (name, kind) pair: numerical parameters share a column whatever their range,
a categorical one has a column per list of choices (its index means nothing under other choices).
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ..distributions import BaseDistribution, CategoricalDistribution
from ..study._direction import StudyDirection
from ..trial._frozen import FrozenTrial
from ..trial._state import TrialState
from ._constraints import trial_constraints


def column_key(name: str, dist: BaseDistribution) -> tuple:
    if isinstance(dist, CategoricalDistribution):
        return (name, tuple(dist.choices))
    return (name, None)


def internal_value(dist: BaseDistribution, value: Any) -> float:
    return float(dist.to_internal_repr(value)) if isinstance(dist, CategoricalDistribution) else float(value)


class Observations:
    def __init__(self, directions: Sequence[StudyDirection]) -> None:
        self.sign = np.array([-1.0 if d == StudyDirection.MAXIMIZE else 1.0 for d in directions])
        self.n = 0
        self.columns: dict[tuple, int] = {}
        cap = 64
        self.X = np.full((cap, 8), np.nan)
        self.number = np.zeros(cap, np.int64)
        self.pruned = np.zeros(cap, bool)
        self.loss = np.zeros((cap, len(directions)))
        self.step = np.zeros(cap)
        self.step_value = np.zeros(cap)
        self.violation = np.zeros(cap)
        self.in_order = True
        self._order: np.ndarray | None = None
        self._cursor = 0              # every trial numbered below it has been read
        self._read_above: set[int] = set()

    def update(self, trials: list[FrozenTrial]) -> list[FrozenTrial]:
        """Reads the trials finished since the last call; returns the RUNNING ones."""
        running = []
        new_cursor = None
        for t in trials[self._cursor:]:
            if not t.state.is_finished():
                if new_cursor is None:
                    new_cursor = t.number
                if t.state == TrialState.RUNNING:
                    running.append(t)
                continue
            if t.number in self._read_above:
                continue
            self._read_above.add(t.number)
            if t.state == TrialState.COMPLETE or t.state == TrialState.PRUNED:
                self._add(t)
        self._cursor = len(trials) if new_cursor is None else new_cursor
        if len(self._read_above) > 64:
            self._read_above = {k for k in self._read_above if k >= self._cursor}
        return running

    def column(self, key: tuple) -> int | None:
        return self.columns.get(key)

    def order(self) -> np.ndarray:
        """Row indices sorted by trial number."""
        if self.in_order:
            return np.arange(self.n)
        if self._order is None or len(self._order) != self.n:
            self._order = np.argsort(self.number[:self.n], kind="stable")
        return self._order

    def by_number(self, a: np.ndarray) -> np.ndarray:
        """a's first n rows in trial-number order (a view when the rows arrived in order)."""
        return a[:self.n] if self.in_order else a[self.order()]

    def _add(self, t: FrozenTrial) -> None:
        i = self.n
        if i == len(self.number):
            self._grow_rows()
        row = self.X[i]
        for name, value in t.params.items():
            dist = t.distributions[name]
            key = column_key(name, dist)
            c = self.columns.get(key)
            if c is None:
                c = self._new_column(key)
                row = self.X[i]
            row[c] = internal_value(dist, value)
        self.number[i] = t.number
        if i and t.number < self.number[i - 1]:
            self.in_order = False
        self.pruned[i] = t.state == TrialState.PRUNED
        if t.state == TrialState.COMPLETE:
            self.loss[i] = np.asarray(t.values, dtype=float) * self.sign
        else:
            self.step[i], self.step_value[i] = _pruned_score(t, self.sign[0])
        constraints = trial_constraints(t)  # the list form and Optuna 5's named "constraints:<name>"
        self.violation[i] = sum(c for c in constraints if c > 0) if constraints else 0.0
        self.n += 1

    def _grow_rows(self) -> None:
        cap = 2 * len(self.number)
        for name in ("number", "pruned", "step", "step_value", "violation"):
            old = getattr(self, name)
            new = np.zeros(cap, old.dtype)
            new[:len(old)] = old
            setattr(self, name, new)
        loss = np.zeros((cap, self.loss.shape[1]))
        loss[:self.n] = self.loss[:self.n]
        self.loss = loss
        X = np.full((cap, self.X.shape[1]), np.nan)
        X[:self.n] = self.X[:self.n]
        self.X = X

    def _new_column(self, key: tuple) -> int:
        c = len(self.columns)
        self.columns[key] = c
        if c == self.X.shape[1]:
            X = np.full((self.X.shape[0], 2 * c), np.nan)
            X[:, :c] = self.X
            self.X = X
        return c


def _pruned_score(t: FrozenTrial, sign: float) -> tuple[float, float]:
    """Optuna's ranking of pruned trials: later last step first, then its intermediate value."""
    if not t.intermediate_values:
        return -1.0, 0.0  # (-step, value) = (1, 0.0) in Optuna's key: after every reported trial
    step, value = max(t.intermediate_values.items())
    if math.isnan(value):
        return float(step), math.inf
    return float(step), sign * value

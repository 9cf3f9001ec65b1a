"""Input handling shared by the metrics: arrays from lists / NumPy / Tensors, scikit-learn's
target types and length checks, and label encoding to the numbers the native core takes."""
from __future__ import annotations

import numpy as np

from .. import _core

_native = _core.metrics


class UndefinedMetricWarning(UserWarning):
    """A metric is ill-defined for these inputs (scikit-learn's warning of the same name)."""


def as_array(x, name="input"):
    """A NumPy array from a list, an array or an aimass Tensor (copied to the CPU if needed)."""
    if isinstance(x, _core.Tensor):
        return np.asarray(x)
    a = np.asarray(x)
    if a.dtype == object:
        a = a.astype(str)
    return a


def as_float(x, name="input"):
    a = as_array(x, name)
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold numbers, got dtype {a.dtype}")
    return a.astype(np.float64, copy=False) if a.dtype != np.float32 else a


def optional_weight(sample_weight):
    return None if sample_weight is None else as_float(sample_weight, "sample_weight").astype(np.float64).ravel()


def check_consistent_length(*arrays):
    lengths = [len(a) for a in arrays if a is not None]
    if len(set(lengths)) > 1:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: {lengths}")


def column_or_1d(a, name):
    if a.ndim == 2 and a.shape[1] == 1:
        return a.ravel()
    if a.ndim != 1:
        raise ValueError(f"{name}: y should be a 1d array, got an array of shape {a.shape} instead.")
    return a


def unique(y):
    """np.unique(y), by counting for small non-negative integers (no sort)."""
    y = np.asarray(y).ravel()
    if y.dtype.kind in "iub" and y.size:
        lo, hi = y.min(), y.max()
        if lo >= 0 and hi < (1 << 20):
            return np.flatnonzero(np.bincount(y.astype(np.int64, copy=False))).astype(y.dtype)
    return np.unique(y)


def type_of_target(y, uniques=None):
    """'binary', 'multiclass', 'continuous' or 'multilabel-indicator' (2-D with several columns)."""
    if y.ndim == 2 and y.shape[1] > 1:
        return "multilabel-indicator"
    if y.ndim > 2:
        return "unknown"
    y = y.ravel()
    if y.dtype.kind == "f" and y.size and np.any(y != np.floor(y)):
        return "continuous"
    return "multiclass" if len(unique(y) if uniques is None else uniques) > 2 else "binary"


def check_targets(y_true, y_pred, sample_weight=None):
    """scikit-learn's _check_targets for binary / multiclass labels: (type, sorted labels, y_true, y_pred)."""
    y_true, y_pred = as_array(y_true, "y_true"), as_array(y_pred, "y_pred")
    check_consistent_length(y_true, y_pred, sample_weight)
    u_true, u_pred = unique(y_true), unique(y_pred)
    types = {type_of_target(y_true, u_true), type_of_target(y_pred, u_pred)}
    if len(y_true) < 1 or len(y_pred) < 1:
        raise ValueError("Found empty input array (e.g., `y_true` or `y_pred`) while a minimum of 1 sample is required.")
    if types == {"binary", "multiclass"}:
        types = {"multiclass"}
    if len(types) > 1:
        raise ValueError("Classification metrics can't handle a mix of {0} and {1} targets".format(
            type_of_target(y_true, u_true), type_of_target(y_pred, u_pred)))
    y_type = types.pop()
    if y_type not in ("binary", "multiclass"):
        raise ValueError(f"{y_type} is not supported")
    y_true, y_pred = column_or_1d(y_true, "y_true"), column_or_1d(y_pred, "y_pred")
    present = unique_labels(u_true, u_pred)
    if y_type == "binary" and len(present) > 2:
        y_type = "multiclass"
    return y_type, present, y_true, y_pred


def unique_labels(*ys):
    ys = [np.asarray(y).ravel() for y in ys]
    kinds = {y.dtype.kind in "US" for y in ys if y.size}
    if len(kinds) > 1:
        raise ValueError("Mix of label input types (string and number)")
    return unique(np.concatenate(ys)) if ys else np.array([])


def encode(*arrays):
    """Numbers for the native core: numeric labels as float64, strings as indices into their
    sorted union (equal labels get equal numbers across the arrays)."""
    arrays = [np.asarray(a).ravel() for a in arrays]
    if all(a.dtype.kind in "biuf" for a in arrays):
        return [a.astype(np.float64) for a in arrays]
    classes = np.unique(np.concatenate([a.astype(str) for a in arrays]))
    return [np.searchsorted(classes, a.astype(str)).astype(np.float64) for a in arrays]


def zero_division_value(zero_division):
    if isinstance(zero_division, str) and zero_division == "warn":
        return 0.0
    if isinstance(zero_division, (int, float, np.number)) and not isinstance(zero_division, bool):
        if zero_division in (0, 1):
            return float(zero_division)
        if np.isnan(zero_division):
            return float("nan")
    raise ValueError(f"zero_division must be 'warn', 0.0, 1.0 or np.nan, got {zero_division!r}")

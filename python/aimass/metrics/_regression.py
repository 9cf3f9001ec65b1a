"""Regression metrics with scikit-learn's signatures and results."""
from __future__ import annotations

import warnings

import numpy as np

from ._validation import UndefinedMetricWarning, _native, as_float, check_consistent_length, optional_weight


def _args(y_true, y_pred, sample_weight, multioutput, strings):
    y_true, y_pred = as_float(y_true, "y_true").astype(np.float64), as_float(y_pred, "y_pred").astype(np.float64)
    w = optional_weight(sample_weight)
    check_consistent_length(y_true, y_pred, w)
    if isinstance(multioutput, str):
        if multioutput not in strings:
            raise ValueError(f"Allowed 'multioutput' string values are {strings}. "
                             f"You provided multioutput={multioutput!r}")
        return y_true, y_pred, w, multioutput, None
    return y_true, y_pred, w, "weights", as_float(multioutput, "multioutput").astype(np.float64).ravel()


def _result(values, multioutput):
    values = np.asarray(values)
    return values if isinstance(multioutput, str) and multioutput == "raw_values" else float(values[0])


def mean_squared_error(y_true, y_pred, *, sample_weight=None, multioutput="uniform_average"):
    args = _args(y_true, y_pred, sample_weight, multioutput, ("raw_values", "uniform_average"))
    return _result(_native.mean_squared_error(*args), multioutput)


def mean_absolute_error(y_true, y_pred, *, sample_weight=None, multioutput="uniform_average"):
    args = _args(y_true, y_pred, sample_weight, multioutput, ("raw_values", "uniform_average"))
    return _result(_native.mean_absolute_error(*args), multioutput)


def r2_score(y_true, y_pred, *, sample_weight=None, multioutput="uniform_average", force_finite=True):
    args = _args(y_true, y_pred, sample_weight, multioutput, ("raw_values", "uniform_average", "variance_weighted"))
    result = _native.r2_score(*args, force_finite)
    if len(args[0]) < 2:
        warnings.warn("R^2 score is not well-defined with less than two samples.", UndefinedMetricWarning,
                      stacklevel=2)
        return float("nan")
    return _result(result, multioutput)

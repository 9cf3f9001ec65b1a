"""Threshold metrics with scikit-learn's signatures and results: ROC and precision-recall
curves, ROC AUC (binary, one-vs-rest) and average precision."""
from __future__ import annotations

import warnings

import numpy as np

from ._validation import (UndefinedMetricWarning, _native, as_array, as_float, check_consistent_length,
                          column_or_1d, optional_weight, type_of_target, unique)

_AVERAGES = (None, "micro", "macro", "weighted", "samples")


def _positive_mask(y_true, pos_label):
    """y_true == pos_label as 0/1 floats; pos_label may be left out only for {0, 1} / {-1, 1} labels."""
    y_type = type_of_target(y_true)
    if not (y_type == "binary" or (y_type == "multiclass" and pos_label is not None)):
        raise ValueError(f"{y_type} format is not supported")
    if pos_label is None:
        classes = unique(y_true)
        if classes.dtype.kind in "OUS" or not any(np.array_equal(classes, c) for c in
                                                 ([0, 1], [-1, 1], [0], [-1], [1])):
            classes_repr = ", ".join([repr(c) for c in classes.tolist()])
            raise ValueError(f"y_true takes value in {{{classes_repr}}} and pos_label is not specified: either make "
                             "y_true take value in {0, 1} or {-1, 1} or pass pos_label explicitly.")
        pos_label = 1
    return (y_true == pos_label).astype(np.float64)


def _binary_inputs(y_true, y_score, sample_weight):
    y_true = column_or_1d(as_array(y_true, "y_true"), "y_true")
    y_score = column_or_1d(as_float(y_score, "y_score").astype(np.float64), "y_score")
    w = optional_weight(sample_weight)
    check_consistent_length(y_true, y_score, w)
    return y_true, y_score, w


def roc_curve(y_true, y_score, *, pos_label=None, sample_weight=None, drop_intermediate=True):
    """(fpr, tpr, thresholds), thresholds decreasing from +inf."""
    y_true, y_score, w = _binary_inputs(y_true, y_score, sample_weight)
    fpr, tpr, thresholds = _native.roc_curve(_positive_mask(y_true, pos_label), y_score, w, drop_intermediate)
    fpr, tpr = np.asarray(fpr), np.asarray(tpr)
    if np.isnan(fpr[-1]):
        warnings.warn("No negative samples in y_true, false positive value should be meaningless",
                      UndefinedMetricWarning, stacklevel=2)
    if np.isnan(tpr[-1]):
        warnings.warn("No positive samples in y_true, true positive value should be meaningless",
                      UndefinedMetricWarning, stacklevel=2)
    return fpr, tpr, np.asarray(thresholds)


def precision_recall_curve(y_true, y_score, *, pos_label=None, sample_weight=None, drop_intermediate=False):
    """(precision, recall, thresholds), thresholds increasing; the curve ends at (1, 0)."""
    y_true, y_score, w = _binary_inputs(y_true, y_score, sample_weight)
    y01 = _positive_mask(y_true, pos_label)
    if not np.any(y01[w != 0] if w is not None else y01):
        warnings.warn("No positive class found in y_true, recall is set to one for all thresholds.", UserWarning,
                      stacklevel=2)
    precision, recall, thresholds = _native.precision_recall_curve(y01, y_score, w, drop_intermediate)
    return np.asarray(precision), np.asarray(recall), np.asarray(thresholds)


def _warn_if_undefined(score):
    if np.any(np.isnan(score)):
        warnings.warn("Only one class is present in y_true. ROC AUC score is not defined in that case.",
                      UndefinedMetricWarning, stacklevel=3)


def _partial_auc(y01, y_score, w, max_fpr):
    """McClish-corrected area up to max_fpr, from the native ROC curve."""
    fpr, tpr, _ = _native.roc_curve(y01, y_score, w, True)
    fpr, tpr = np.asarray(fpr), np.asarray(tpr)
    stop = np.searchsorted(fpr, max_fpr, "right")
    tpr = np.append(tpr[:stop], np.interp(max_fpr, fpr[stop - 1:stop + 1], tpr[stop - 1:stop + 1]))
    fpr = np.append(fpr[:stop], max_fpr)
    area = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))
    min_area, max_area = 0.5 * max_fpr**2, max_fpr
    return 0.5 * (1 + (area - min_area) / (max_area - min_area))


def roc_auc_score(y_true, y_score, *, average="macro", sample_weight=None, max_fpr=None, multi_class="raise",
                  labels=None):
    """Area under the ROC curve: binary, or multiclass one-vs-rest ("ovr") or one-vs-one ("ovo")."""
    y_true = as_array(y_true, "y_true")
    y_type = type_of_target(y_true)
    y_score = as_float(y_score, "y_score").astype(np.float64)
    w = optional_weight(sample_weight)
    if y_type == "multiclass" or (y_type == "binary" and y_score.ndim == 2 and y_score.shape[1] > 2):
        if max_fpr is not None and max_fpr != 1.0:
            raise ValueError("Partial AUC computation not available in multiclass setting, 'max_fpr' must be set to "
                             f"`None`, received `max_fpr={max_fpr}` instead")
        if multi_class == "raise":
            raise ValueError("multi_class must be in ('ovo', 'ovr')")
        return _multiclass_roc_auc(column_or_1d(y_true, "y_true"), y_score, labels, multi_class, average, w)
    if y_type != "binary":
        raise ValueError(f"{y_type} format is not supported")
    if average not in _AVERAGES:
        raise ValueError(f"average has to be one of {_AVERAGES}")
    y_true, y_score, w = _binary_inputs(y_true, y_score, w)
    classes = unique(y_true)
    y01 = (y_true == classes[-1]).astype(np.float64) if len(classes) == 2 else np.zeros(len(y_true))
    if max_fpr is not None and max_fpr != 1:
        if max_fpr <= 0 or max_fpr > 1:
            raise ValueError(f"Expected max_fpr in range (0, 1], got: {max_fpr!r}")
        if len(classes) != 2:
            _warn_if_undefined(np.nan)
            return float("nan")
        return float(_partial_auc(y01, y_score, w, max_fpr))
    score = _native.roc_auc_binary(y01, y_score, w)
    _warn_if_undefined(score)
    return float(score)


def _multiclass_roc_auc(y_true, y_score, labels, multi_class, average, w):
    if y_score.ndim != 2:
        raise ValueError("`y_score` needs to be of shape `(n_samples, n_classes)`, since `y_true` contains multiple "
                         f"classes. Got `y_score.shape={y_score.shape}`.")
    if not np.allclose(1, y_score.sum(axis=1)):
        raise ValueError("Target scores need to be probabilities for multiclass roc_auc, i.e. they should sum up "
                         "to 1.0 over classes")
    options = ("micro", "macro", "weighted", None) if multi_class == "ovr" else ("macro", "weighted", None)
    if average not in options:
        raise ValueError(f"average must be one of {options} for multiclass problems")
    if multi_class not in ("ovo", "ovr"):
        raise ValueError(f"multi_class='{multi_class}' is not supported for multiclass ROC AUC, multi_class must be "
                         "in ('ovo', 'ovr')")
    if average is None and multi_class == "ovo":
        raise NotImplementedError("average=None is not implemented for multi_class='ovo'.")
    if labels is not None:
        labels = column_or_1d(as_array(labels, "labels"), "labels")
        classes = np.unique(labels)
        if len(classes) != len(labels):
            raise ValueError("Parameter 'labels' must be unique")
        if not np.array_equal(classes, labels):
            raise ValueError("Parameter 'labels' must be ordered")
        if len(classes) != y_score.shape[1]:
            raise ValueError(f"Number of given labels, {len(classes)}, not equal to the number of columns in "
                             f"'y_score', {y_score.shape[1]}")
        if len(np.setdiff1d(y_true, classes)):
            raise ValueError("'y_true' contains labels not in parameter 'labels'")
    else:
        classes = unique(y_true)
        if len(classes) != y_score.shape[1]:
            raise ValueError("Number of classes in y_true not equal to the number of columns in 'y_score'")
    check_consistent_length(y_true, y_score, w)
    codes = np.searchsorted(classes, y_true).astype(np.int64)
    if multi_class == "ovo":
        if w is not None:
            raise ValueError("sample_weight is not supported for multiclass one-vs-one ROC AUC, 'sample_weight' "
                             "must be None in this case.")
        return float(_native.one_vs_one_roc_auc(codes, y_score, average))
    scores = np.asarray(_native.one_vs_rest_score("roc_auc", codes, y_score, w, average or "none"))
    _warn_if_undefined(scores)
    return scores if average is None else float(scores[0])


def average_precision_score(y_true, y_score, *, average="macro", pos_label=1, sample_weight=None):
    """Area under the precision-recall curve as a step function (no interpolation)."""
    y_true = as_array(y_true, "y_true")
    y_score = as_float(y_score, "y_score").astype(np.float64)
    w = optional_weight(sample_weight)
    if average not in _AVERAGES:
        raise ValueError(f"average has to be one of {_AVERAGES}")
    y_type = type_of_target(y_true)
    present = unique(y_true)
    if y_type == "binary":
        if len(present) == 2 and pos_label not in present.tolist():
            raise ValueError(f"pos_label={pos_label} is not a valid label. It should be one of {present}")
        y_true, y_score, w = _binary_inputs(y_true, y_score, w)
        return float(_native.average_precision_binary((y_true == pos_label).astype(np.float64), y_score, w))
    if y_type != "multiclass":
        raise ValueError(f"{y_type} format is not supported")
    if pos_label != 1:
        raise ValueError("Parameter pos_label is fixed to 1 for multiclass y_true. Do not set pos_label or set "
                         "pos_label to 1.")
    y_true = column_or_1d(y_true, "y_true")
    if y_score.shape != (len(y_true), len(present)):
        raise ValueError("`y_score` needs to be of shape `(n_samples, n_classes)`, since `y_true` contains multiple "
                         f"classes. Got `y_score.shape={y_score.shape}`.")
    check_consistent_length(y_true, y_score, w)
    codes = np.searchsorted(present, y_true).astype(np.int64)
    scores = np.asarray(_native.one_vs_rest_score("average_precision", codes, y_score, w, average or "none"))
    return scores if average is None else float(scores[0])

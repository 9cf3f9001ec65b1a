"""Label metrics with scikit-learn's signatures and results: accuracy, top-k accuracy,
confusion matrix, precision / recall / F-scores, log loss and the classification report."""
from __future__ import annotations

import warnings

import numpy as np

from ._validation import (UndefinedMetricWarning, _native, as_array, as_float, check_consistent_length,
                          check_targets, column_or_1d, encode, optional_weight, type_of_target, unique, unique_labels,
                          zero_division_value)

_AVERAGES = (None, "micro", "macro", "weighted", "samples")


def accuracy_score(y_true, y_pred, *, normalize=True, sample_weight=None):
    """Fraction (or, normalize=False, the weighted count) of exactly right predictions."""
    w = optional_weight(sample_weight)
    _, _, y_true, y_pred = check_targets(y_true, y_pred, w)
    t, p = encode(y_true, y_pred)
    return float(_native.accuracy_score(t, p, normalize, w))


accuracy = accuracy_score


def top_k_accuracy_score(y_true, y_score, *, k=2, normalize=True, sample_weight=None, labels=None):
    """Fraction of samples whose true label is among the k highest scores."""
    y_true = column_or_1d(as_array(y_true, "y_true"), "y_true")
    y_score = as_float(y_score, "y_score").astype(np.float64)
    w = optional_weight(sample_weight)
    y_type = type_of_target(y_true)
    if y_type == "binary" and labels is not None and len(labels) > 2:
        y_type = "multiclass"
    if y_type not in ("binary", "multiclass"):
        raise ValueError(f"y type must be 'binary' or 'multiclass', got '{y_type}' instead.")
    if y_type == "binary":
        if y_score.ndim == 2 and y_score.shape[1] != 1:
            raise ValueError(f"`y_true` is binary while y_score is 2d with {y_score.shape[1]} classes. If `y_true` "
                             "does not contain all the labels, `labels` must be provided.")
        y_score = column_or_1d(y_score, "y_score")
    elif y_score.ndim != 2:
        raise ValueError("`y_score` needs to be of shape `(n_samples, n_classes)`, since `y_true` contains multiple "
                         f"classes. Got `y_score.shape={y_score.shape}`.")
    check_consistent_length(y_true, y_score, w)
    n_score_classes = y_score.shape[1] if y_score.ndim == 2 else 2
    if labels is None:
        classes = unique(y_true)
        if len(classes) != n_score_classes:
            raise ValueError(f"Number of classes in 'y_true' ({len(classes)}) not equal to the number of classes in "
                             f"'y_score' ({n_score_classes}).You can provide a list of all known classes by "
                             "assigning it to the `labels` parameter.")
    else:
        labels = column_or_1d(as_array(labels, "labels"), "labels")
        classes = np.unique(labels)
        if len(classes) != len(labels):
            raise ValueError("Parameter 'labels' must be unique.")
        if not np.array_equal(classes, labels):
            raise ValueError("Parameter 'labels' must be ordered.")
        if len(classes) != n_score_classes:
            raise ValueError(f"Number of given labels ({len(classes)}) not equal to the number of classes in "
                             f"'y_score' ({n_score_classes}).")
        if len(np.setdiff1d(y_true, classes)):
            raise ValueError("'y_true' contains labels not in parameter 'labels'.")
    if k >= len(classes):
        warnings.warn(f"'k' ({k}) greater than or equal to 'n_classes' ({len(classes)}) will result in a perfect "
                      "score and is therefore meaningless.", UndefinedMetricWarning, stacklevel=2)
    codes = np.searchsorted(classes, y_true).astype(np.int64)
    return float(_native.top_k_accuracy_score(codes, y_score, int(k), normalize, w))


def confusion_matrix(y_true, y_pred, *, labels=None, sample_weight=None, normalize=None):
    """(L, L) counts: row i = true label i, column j = predicted label j (labels sorted, or as given)."""
    if normalize not in (None, "true", "pred", "all"):
        raise ValueError(f"normalize must be one of {{'true', 'pred', 'all'}} or None, got {normalize!r}")
    w = optional_weight(sample_weight)
    _, present, y_true, y_pred = check_targets(y_true, y_pred, w)
    if labels is None:
        labels = present
    else:
        labels = as_array(labels, "labels").ravel()
        if labels.size == 0:
            raise ValueError("'labels' should contain at least one label.")
        if len(np.intersect1d(y_true, labels)) == 0:
            raise ValueError("At least one label specified must be in y_true")
    t, p, lab = encode(y_true, y_pred, labels)
    cm = _native.confusion_matrix(t, p, lab, w, normalize or "")
    integral = sample_weight is None or np.asarray(sample_weight).dtype.kind in "biu"
    if normalize is None and integral:
        cm = cm.astype(np.int64)
    if cm.shape == (1, 1):
        warnings.warn("A single label was found in 'y_true' and 'y_pred'. For the confusion matrix to have the "
                      "correct shape, use the 'labels' parameter to pass all known labels.", UserWarning, stacklevel=2)
    return np.array(cm)


def precision_recall_fscore_support(y_true, y_pred, *, beta=1.0, labels=None, pos_label=1, average=None,
                                    warn_for=("precision", "recall", "f-score"), sample_weight=None,
                                    zero_division="warn"):
    """Per-label (average=None) or averaged precision, recall, F-beta and support."""
    zd = zero_division_value(zero_division)
    if average not in _AVERAGES and average != "binary":
        raise ValueError("average has to be one of " + str(_AVERAGES))
    if average == "samples":
        raise ValueError("Samplewise metrics are not available outside of multilabel classification.")
    if beta < 0:
        raise ValueError(f"beta should be >=0, got {beta}")
    w = optional_weight(sample_weight)
    y_type, present, y_true, y_pred = check_targets(y_true, y_pred, w)
    if average == "binary":
        if y_type != "binary":
            raise ValueError(f"Target is {y_type} but average='binary'. Please choose another average setting, one "
                             f"of {[None, 'micro', 'macro', 'weighted']!r}.")
        if pos_label not in present.tolist() and len(present) >= 2:
            raise ValueError(f"pos_label={pos_label} is not a valid label. It should be one of {present.tolist()}")
        labels = [pos_label]
    elif pos_label not in (None, 1):
        warnings.warn(f"Note that pos_label (set to {pos_label!r}) is ignored when average != 'binary' (got "
                      f"{average!r}). You may use labels=[pos_label] to specify a single positive class.",
                      UserWarning, stacklevel=2)
    if labels is None:
        labels = present
    t, p, lab = encode(y_true, y_pred, as_array(labels, "labels").ravel())
    precision, recall, fscore, support, ill_defined = _native.precision_recall_fscore_support(
        t, p, lab, w, float(beta), average or "none", zd)
    if isinstance(zero_division, str):  # "warn"
        size = 1 if average in ("micro", "binary") else len(lab)
        for metric, modifier, flag in zip(("precision", "recall", "f-score"),
                                          ("predicted", "true", "true nor predicted"), ill_defined):
            if flag and metric in warn_for:
                where = "due to" if size == 1 else "in labels with"
                warnings.warn(f"{metric.capitalize()} is ill-defined and being set to 0.0 {where} no {modifier} "
                              "samples. Use `zero_division` parameter to control this behavior.",
                              UndefinedMetricWarning, stacklevel=3)
    if average is not None:
        return float(precision[0]), float(recall[0]), float(fscore[0]), None
    support = np.asarray(support)
    if sample_weight is None:
        support = support.astype(np.int64)
    return np.asarray(precision), np.asarray(recall), np.asarray(fscore), support


def fbeta_score(y_true, y_pred, *, beta, labels=None, pos_label=1, average="binary", sample_weight=None,
                zero_division="warn"):
    _, _, f, _ = precision_recall_fscore_support(y_true, y_pred, beta=beta, labels=labels, pos_label=pos_label,
                                                 average=average, warn_for=("f-score",),
                                                 sample_weight=sample_weight, zero_division=zero_division)
    return f


def f1_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary", sample_weight=None,
             zero_division="warn"):
    return fbeta_score(y_true, y_pred, beta=1, labels=labels, pos_label=pos_label, average=average,
                       sample_weight=sample_weight, zero_division=zero_division)


def precision_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary", sample_weight=None,
                    zero_division="warn"):
    p, _, _, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, pos_label=pos_label,
                                                 average=average, warn_for=("precision",), sample_weight=sample_weight,
                                                 zero_division=zero_division)
    return p


def recall_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary", sample_weight=None,
                 zero_division="warn"):
    _, r, _, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, pos_label=pos_label,
                                                 average=average, warn_for=("recall",), sample_weight=sample_weight,
                                                 zero_division=zero_division)
    return r


def log_loss(y_true, y_proba=None, *, normalize=True, sample_weight=None, labels=None, y_pred=None):
    """Mean negative log-likelihood of the true labels; probabilities clipped to [eps, 1 - eps]
    with eps the machine epsilon of y_proba's dtype. y_pred= is accepted as the older name."""
    if y_proba is None:
        if y_pred is None:
            raise TypeError("log_loss() missing the probabilities: pass y_proba")
        y_proba = y_pred
    elif y_pred is not None:
        raise ValueError("Cannot use both `y_pred` and `y_proba`. `y_pred` is deprecated, use `y_proba` instead.")
    y_proba = as_float(y_proba, "y_proba")
    eps = float(np.finfo(y_proba.dtype).eps)
    y_proba = y_proba.astype(np.float64)
    if y_proba.size and y_proba.max() > 1:
        raise ValueError(f"y_prob contains values greater than 1: {y_proba.max()}")
    if y_proba.size and y_proba.min() < 0:
        raise ValueError(f"y_prob contains values lower than 0: {y_proba.min()}")
    y_true = as_array(y_true, "y_true").ravel()
    w = optional_weight(sample_weight)
    check_consistent_length(y_proba, y_true, w)
    if labels is not None:
        labels = as_array(labels, "labels").ravel()
        classes = np.unique(labels)
        if not np.all(np.isin(y_true, labels)):
            raise ValueError(f"y_true contains values {set(y_true) - set(labels)} not belonging to the passed "
                             f"labels {labels}.")
    else:
        classes = unique(y_true)
    if len(classes) == 1:
        if labels is None:
            raise ValueError(f"y_true contains only one label ({classes[0]}). Please provide the list of all "
                             "expected class labels explicitly through the labels argument.")
        raise ValueError(f"The labels array needs to contain at least two labels, got {classes}.")
    if y_proba.ndim == 2 and y_proba.shape[1] == 1:
        y_proba = y_proba.ravel()
    n_columns = 2 if y_proba.ndim == 1 else y_proba.shape[1]
    if y_proba.ndim == 2 and not np.all(np.isclose(y_proba.sum(axis=1), 1, rtol=np.sqrt(eps))):
        warnings.warn("The y_prob values do not sum to one. Make sure to pass probabilities.", UserWarning,
                      stacklevel=2)
    if len(classes) != n_columns:
        if labels is None:
            raise ValueError(f"y_true and y_prob contain different number of classes: {len(classes)} vs "
                             f"{n_columns}. Please provide the true labels explicitly through the labels argument. "
                             f"Classes found in y_true: {classes}")
        raise ValueError(f"The number of classes in labels is different from that in y_prob. Classes found in "
                         f"labels: {classes}")
    codes = np.searchsorted(classes, y_true).astype(np.int64)
    return float(_native.log_loss(codes, y_proba, eps, normalize, w))


def classification_report(y_true, y_pred, *, labels=None, target_names=None, sample_weight=None, digits=2,
                          output_dict=False, zero_division="warn"):
    """scikit-learn's text report (or dict) of per-label precision, recall, F1 and support."""
    w = optional_weight(sample_weight)
    y_type, present, y_true, y_pred = check_targets(y_true, y_pred, w)
    labels_given = labels is not None
    labels = present if labels is None else np.asarray(labels)
    micro_is_accuracy = not labels_given or set(labels.tolist()) >= set(unique_labels(y_true, y_pred).tolist())
    if target_names is not None and len(labels) != len(target_names):
        if labels_given:
            warnings.warn(f"labels size, {len(labels)}, does not match size of target_names, {len(target_names)}",
                          stacklevel=2)
        else:
            raise ValueError(f"Number of classes, {len(labels)}, does not match size of target_names, "
                             f"{len(target_names)}. Try specifying the labels parameter")
    if target_names is None:
        target_names = ["%s" % label for label in labels]
    headers = ["precision", "recall", "f1-score", "support"]
    kw = dict(labels=labels, sample_weight=sample_weight, zero_division=zero_division)
    p, r, f1, s = precision_recall_fscore_support(y_true, y_pred, average=None, **kw)
    rows = list(zip(target_names, p, r, f1, s))
    if output_dict:
        report = {row[0]: dict(zip(headers, [float(v) for v in row[1:]])) for row in rows}
    else:
        width = max(max(len(cn) for cn in target_names), len("weighted avg"), digits)
        text = ("{:>{width}s} " + " {:>9}" * len(headers)).format("", *headers, width=width) + "\n\n"
        row_fmt = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
        for row in rows:
            text += row_fmt.format(*row, width=width, digits=digits)
        text += "\n"
    for average in ("micro", "macro", "weighted"):
        heading = "accuracy" if average == "micro" and micro_is_accuracy else average + " avg"
        avg_p, avg_r, avg_f1, _ = precision_recall_fscore_support(y_true, y_pred, average=average, **kw)
        avg = [avg_p, avg_r, avg_f1, np.sum(s)]
        if output_dict:
            report[heading] = dict(zip(headers, [float(v) for v in avg]))
        elif heading == "accuracy":
            fmt = "{:>{width}s} " + " {:>9.{digits}}" * 2 + " {:>9.{digits}f}" + " {:>9}\n"
            text += fmt.format(heading, "", "", *avg[2:], width=width, digits=digits)
        else:
            text += row_fmt.format(heading, *avg, width=width, digits=digits)
    if output_dict:
        if "accuracy" in report:
            report["accuracy"] = report["accuracy"]["precision"]
        return report
    return text

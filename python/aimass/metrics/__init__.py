"""aimass.metrics: scikit-learn's metrics (same signatures, same results) computed in the
native core, and the streaming metrics of the training loop.

    from aimass import metrics
    metrics.accuracy_score(y_true, y_pred)
    metrics.roc_auc_score(y_true, proba, multi_class="ovr")
    print(metrics.classification_report(y_true, y_pred))

    acc = metrics.Streaming("accuracy")          # batch by batch, as Model.fit does
    for logits, labels in batches:
        acc.update(logits, labels)
    acc.result()

Inputs are lists, NumPy arrays or aimass Tensors.
"""
from __future__ import annotations

from .. import _core
from ._classification import (accuracy, accuracy_score, classification_report, confusion_matrix, f1_score,
                              fbeta_score, log_loss, precision_recall_fscore_support, precision_score, recall_score,
                              top_k_accuracy_score)
from ._ranking import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve
from ._regression import mean_absolute_error, mean_squared_error, r2_score
from ._validation import UndefinedMetricWarning

Streaming = _core.metrics.Streaming

__all__ = [
    "Streaming", "UndefinedMetricWarning", "accuracy", "accuracy_score", "average_precision_score",
    "classification_report", "confusion_matrix", "f1_score", "fbeta_score", "log_loss", "mean_absolute_error",
    "mean_squared_error", "precision_recall_curve", "precision_recall_fscore_support", "precision_score",
    "r2_score", "recall_score", "roc_auc_score", "roc_curve", "top_k_accuracy_score",
]

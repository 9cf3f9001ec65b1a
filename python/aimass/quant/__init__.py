"""aimass.quant: model compression.

    am.quant.prune(model, 0.5)                              # unstructured, masks kept through fit
    small = am.quant.prune(model, 0.5, structured=True)     # a smaller model; small.prune_report
    am.quant.distill(teacher, student, x, y, temperature=4.0, alpha=0.9, epochs=10)
"""
from __future__ import annotations

from ._distill import DistillationLoss, distill  # noqa: F401
from ._prune import PruneReport, Sparsity, masked_parameters, prune, remove_pruning, sparsity  # noqa: F401

"""Model compression: int8 / int4 quantisation on aimass's own integer kernels (csrc/quant),
pruning and knowledge distillation.

    q = am.quant.quantize_dynamic(model)                    # Dense: int8, activations per row
    q = am.quant.quantize(model, calibration=x_val)         # Conv2D + Dense: static int8
    q = am.quant.quantize_weight_only(model, bits=4)        # Dense: int4 weights, float activations
    am.quant.compare(model, q, x_test, y_test)              # what the compression cost
    qat = am.quant.prepare_qat(model); qat.fit(...)         # quantisation-aware training,
    q = am.quant.convert(qat)                               # then the same int8 model as quantize
    am.quant.prune(model, 0.5)                              # unstructured, masks kept through fit
    small = am.quant.prune(model, 0.5, structured=True)     # a smaller model; small.prune_report
    am.quant.distill(teacher, student, x, y, temperature=4.0, alpha=0.9, epochs=10)
"""
from __future__ import annotations

from .._core.quant import Observer  # noqa: F401
from ._compare import compare  # noqa: F401
from ._distill import DistillationLoss, distill  # noqa: F401
from ._fuse import fuse_for_inference  # noqa: F401
from ._qat import convert, prepare_qat  # noqa: F401
from ._prune import PruneReport, Sparsity, masked_parameters, prune, remove_pruning, sparsity  # noqa: F401
from ._quantize import quantize, quantize_dynamic, quantize_weight_only  # noqa: F401
from ._report import LayerDecision, QuantizationReport  # noqa: F401

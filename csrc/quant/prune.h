// Pruning masks (am.quant.prune, python/aimass/quant/_prune.py). A pruned parameter "<p>" of a
// module has a buffer "<p>_mask" beside it: float 0/1 of the parameter's shape, saved with the
// model. The native training loop (nn/training.cpp) keeps the pruned entries at zero through
// fine-tuning: it collects the masked parameters once per epoch (none: nothing is done per step)
// and multiplies each by its mask after every optimizer step.
//
//   auto masked = quant::masked_parameters(model);   // once per epoch
//   for (batch ...) { ...; optimizer.step(); quant::apply_masks(masked); }
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"
#include "nn/module.h"

namespace aimass::quant {

inline constexpr const char* kMaskSuffix = "_mask";

struct MaskedParameter {
  std::string name;  // the parameter's dotted name in the model ("0.weight")
  Tensor param;      // the module's own tensor
  Tensor mask;       // 0/1, param's shape
};

// Every parameter of model (and its descendants) that has a "<name>_mask" buffer in its module,
// each listed once. ValueError naming the parameter when a mask's shape differs from its own.
std::vector<MaskedParameter> masked_parameters(nn::Module& model);

// param *= mask for each entry, in place and outside autograd (the optimizer's update of a
// pruned entry is undone; its optimizer state is left as it is).
void apply_masks(const std::vector<MaskedParameter>& masked);

}  // namespace aimass::quant

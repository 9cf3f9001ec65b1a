#include "quant/prune.h"

#include <unordered_set>

#include "autograd/grad_mode.h"
#include "core/error.h"
#include "ops/elementwise.h"

namespace aimass::quant {

std::vector<MaskedParameter> masked_parameters(nn::Module& model) {
  std::vector<MaskedParameter> out;
  std::unordered_set<const TensorImpl*> seen;  // a parameter shared by two modules is masked once
  for (auto& [prefix, module] : model.named_modules()) {
    for (const auto& [name, mask] : module->own_buffers()) {
      const std::string suffix = kMaskSuffix;
      if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
        continue;
      const std::string param_name = name.substr(0, name.size() - suffix.size());
      Tensor param = module->parameter(param_name);
      if (!param.defined() || !mask.defined()) continue;  // a buffer merely named *_mask
      const std::string full = prefix.empty() ? param_name : prefix + "." + param_name;
      AM_CHECK(mask.shape() == param.shape(), ValueError, "pruning mask '", full, kMaskSuffix, "' has shape ",
               mask.describe(), " but the parameter '", full, "' is ", param.describe());
      if (seen.insert(param.impl()).second) out.push_back({full, param, mask});
    }
  }
  return out;
}

void apply_masks(const std::vector<MaskedParameter>& masked) {
  autograd::GradModeGuard no_grad(false);
  for (const MaskedParameter& m : masked) binary_inplace(BinaryOp::Mul, m.param, m.mask);
}

}  // namespace aimass::quant

// aimass._core.quant: pruning masks (quant/prune.h); the pruning itself is am.quant.prune.
#include "bindings/bindings.h"
#include "quant/prune.h"

namespace aimass::bindings {

void bind_prune(py::module_& quant) {
  quant.def("_masked_parameters", [](nn::Module& model) {
    py::list out;
    for (const auto& m : quant::masked_parameters(model)) out.append(py::make_tuple(m.name, m.param, m.mask));
    return out;
  }, py::arg("model"), "[(name, parameter, mask)] of every masked parameter; ValueError for a mask of the wrong shape");
  quant.def("_apply_masks", [](nn::Module& model) {
    auto masked = quant::masked_parameters(model);
    without_gil([&] { quant::apply_masks(masked); return 0; });
    return masked.size();
  }, py::arg("model"), "parameter *= mask for every masked parameter, in place; returns how many");
}

}  // namespace aimass::bindings

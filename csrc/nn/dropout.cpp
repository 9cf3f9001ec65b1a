#include "nn/dropout.h"

#include "autograd/functions.h"
#include "core/error.h"

namespace aimass::nn {

Dropout::Dropout(double p) : Module("Dropout"), p_(p) {
  AM_CHECK(p >= 0 && p <= 1, ValueError, "Dropout: p must be in [0, 1], got ", p);
}

Tensor Dropout::forward(const Tensor& x) { return autograd::dropout(x, p_, training()); }

std::string Dropout::describe() const { return str_cat("Dropout(p=", p_, ")"); }

Config Dropout::config() const { return {{"p", p_}}; }

}  // namespace aimass::nn

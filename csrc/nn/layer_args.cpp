#include "nn/layer_args.h"

#include "core/error.h"

namespace aimass::nn {

std::array<int64_t, 2> int_pair(const IntOrPair& value, const char* what) {
  if (const int64_t* v = std::get_if<int64_t>(&value)) return {*v, *v};
  const auto& values = std::get<std::vector<int64_t>>(value);
  AM_CHECK(values.size() == 2, ValueError, what, " must be an int or a pair of ints, got ", values.size(), " values");
  return {values[0], values[1]};
}

}  // namespace aimass::nn

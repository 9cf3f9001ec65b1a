// Layer constructor arguments in the forms callers write them, parsed into the options structs
// the layers take, so that C++ callers and the Python bindings accept the same things:
//   kernel_size=3 or (3, 5)     -> int_pair
//   padding="same" / "valid" / 1 / (1, 2)   -> parse_padding (nn/conv.h)
//   activation=None / "relu"    -> parse_activation (nn/activation.h)
//   merge op "add", ...         -> parse_merge_op (nn/merge.h)
// Pooling's strides default to the pool size (PoolOptions, nn/pool.h); Conv1D's one-value
// arguments map onto Conv2D's pairs in conv1d_as_conv2d (nn/conv.h).
#pragma once
#include <array>
#include <cstdint>
#include <variant>
#include <vector>

namespace aimass::nn {

// An int (used for both axes) or the values of a sequence (exactly two: (H, W)).
using IntOrPair = std::variant<int64_t, std::vector<int64_t>>;

// (H, W) from an int or a pair; ValueError naming `what` for a sequence of another length.
std::array<int64_t, 2> int_pair(const IntOrPair& value, const char* what);

}  // namespace aimass::nn

// Weight initialisers, drawing from the global seedable generator (am.manual_seed).
// Fans follow the weight layouts of the layers: a Dense weight (out, in) has fan_in = in and
// fan_out = out; a convolution weight (O, C/groups, *kernel) has fan_in = C/groups * prod(kernel)
// and fan_out = O * prod(kernel).
#pragma once
#include <string>

#include "core/tensor.h"

namespace aimass::nn {

enum class Init : uint8_t { Zeros, Ones, GlorotUniform, GlorotNormal, HeUniform, HeNormal };

// "zeros", "ones", "glorot_uniform" (also "xavier_uniform"), "glorot_normal", "he_uniform"
// (also "kaiming_uniform"), "he_normal"; ValueError naming `layer` otherwise.
Init parse_init(const std::string& name, const std::string& layer);
const char* init_name(Init init);

std::pair<int64_t, int64_t> fans(const Shape& weight_shape);  // {fan_in, fan_out}

// A new tensor of that shape drawn per `init`:
//   glorot: uniform(+-sqrt(6 / (fan_in + fan_out))) or normal(0, sqrt(2 / (fan_in + fan_out)));
//   he:     uniform(+-sqrt(6 / fan_in))              or normal(0, sqrt(2 / fan_in)).
Tensor initial_value(Init init, const Shape& shape, DType dtype, Device device);
// Fills an existing tensor in place (without recording a graph).
void initialize_(const Tensor& t, Init init);

}  // namespace aimass::nn

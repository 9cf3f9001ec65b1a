// Decoded images to model input: the layout change and normalisation image_folder needs.
#pragma once
#include <vector>

#include "core/tensor.h"

namespace aimass::data {

// images: uint8 (N, H, W, C) on the CPU (as Pillow decodes) -> float32 (N, C, H, W),
// (x / 255 - mean[c]) / std[c]. mean and std hold C values, or one for every channel; both
// empty: x / 255 only.
Tensor images_to_tensor(const Tensor& images, const std::vector<double>& mean, const std::vector<double>& std);

}  // namespace aimass::data

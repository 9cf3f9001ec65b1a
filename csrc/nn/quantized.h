// The layers of a quantised model (am.quant): inference-only replacements for Dense and Conv2D
// whose weights are stored as integers. Each is an ordinary Module: predict / evaluate, save /
// load (its integer buffers are safetensors tensors) and serving work as for any layer. Their
// buffers are not parameters: fit does not train them (quantisation-aware training trains the
// float model with fake quantisation and converts it afterwards).
//
//   QuantizedDense   x (..., in) -> (..., units). Buffers: weight int8 (units, in), weight_scale
//                    float32 (units,) (symmetric, per output channel), bias float32 (units,),
//                    and for static activations input_scale float32 (1,), input_zero_point int32 (1,).
//                    Activations are u8: per row at run time (dynamic) or with the calibrated
//                    (scale, zero point) (static).
//   QuantizedConv2D  x (N, C, H, W) -> (N, filters, OH, OW); static activations; groups 1.
//                    Buffers as QuantizedDense, weight int8 (filters, C, KH, KW).
//   QuantizedEmbedding  indices (...) -> (..., embedding_dim): int8 rows with a float32 scale each
//                    (symmetric per row). Buffers: weight int8 (num, dim), weight_scale float32 (num,).
//   WeightOnlyDense  x (..., in) -> (..., units) with float activations and weights in 8 or 4 bits
//                    (quant/weight_only.h). Buffers: weight_q uint8 (units, row_bytes),
//                    weight_scales float16 (units, groups), bias float32 (units,).
//
// The int8 weights are packed for the kernel on first use and again whenever the weight buffer
// is written through aimass (load_state_dict, copy_): the pack follows the storage's version.
// Devices: the layers run where their buffers are (model.to("cuda") moves them; the input must
// be there too): on the CPU with csrc/quant's packed weights, on CUDA with pack_int8_cuda's.
#pragma once
#include <memory>
#include <mutex>
#include <string>

#include "nn/activation.h"
#include "nn/conv.h"
#include "nn/module.h"
#include "ops/quant.h"

namespace aimass::nn {

// The int8 weights of one layer, packed once per version of the buffer (for the CPU kernels, or
// for the CUDA ones when the buffer is on a CUDA device); safe from many threads.
class PackedInt8Cache {
 public:
  std::shared_ptr<const quant::PackedInt8Weights> get(const Tensor& weight_2d) const;
  std::shared_ptr<const CudaInt8Weights> get_cuda(const Tensor& weight_2d) const;

 private:
  // Whether weight_2d is the buffer last packed (same storage, same version); records it if not.
  bool current(const Tensor& weight_2d) const;
  mutable std::mutex mutex_;
  mutable std::shared_ptr<const quant::PackedInt8Weights> packed_;
  mutable std::shared_ptr<const CudaInt8Weights> cuda_;
  mutable const void* data_ = nullptr;
  mutable uint64_t version_ = 0;
};

struct QuantizedDenseOptions {
  int64_t units = 0;
  int64_t in_features = 0;
  Activation activation = Activation::None;
  bool use_bias = true;
  bool static_activations = false;  // false: dynamic (per row at run time)
};

class QuantizedDense : public Module {
 public:
  explicit QuantizedDense(const QuantizedDenseOptions& options);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  Config config() const override;
  const QuantizedDenseOptions& options() const { return options_; }

 private:
  QuantizedDenseOptions options_;
  PackedInt8Cache packed_;
};

class QuantizedConv2D : public Module {
 public:
  explicit QuantizedConv2D(const ConvOptions& options);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  Config config() const override;
  const ConvOptions& options() const { return options_; }

 private:
  ConvOptions options_;
  PackedInt8Cache packed_;
};

struct WeightOnlyDenseOptions {
  int64_t units = 0;
  int64_t in_features = 0;
  int bits = 4;
  int64_t group_size = 128;
  Activation activation = Activation::None;
  bool use_bias = true;
};

class WeightOnlyDense : public Module {
 public:
  explicit WeightOnlyDense(const WeightOnlyDenseOptions& options);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  Config config() const override;
  const WeightOnlyDenseOptions& options() const { return options_; }

 private:
  WeightOnlyDenseOptions options_;
};

class QuantizedEmbedding : public Module {
 public:
  QuantizedEmbedding(int64_t num_embeddings, int64_t embedding_dim);
  Tensor forward(const Tensor& indices) override;
  std::string describe() const override;
  Config config() const override;

 private:
  int64_t num_embeddings_, embedding_dim_;
};

}  // namespace aimass::nn

// Float32 weights packed once for inference. A Dense layer's weight (N, K) that reaches the CPU
// linear kernel twice unchanged (same storage, same version: an evaluate, a predict, a server's
// batches) is packed for the GEMM micro-kernel the second time and reused from then on, as ONNX
// Runtime packs MatMul weights at load. Training changes the weights every step (the optimizer
// bumps the storage's version), so it never pays for packing.
//
// A write through aimass (copy_, load_state_dict, an optimizer step, indexing) bumps the version
// and the next call repacks; a write straight into the memory through a NumPy view is caught by
// a spot check of 64 spread elements against the packed copy on every use, and repacks too.
// Entries follow their storage (weakly held: a freed weight's entry goes), and the cache keeps
// at most AIMASS_WEIGHT_PACK_CACHE_MB megabytes (default 1024; 0 turns it off), least recently
// used out first. Thread-safe.
#pragma once
#include <memory>

#include "core/tensor.h"
#include "ops/cpu/sgemm_avx512.h"

namespace aimass::cpu {

// w: contiguous float32 (N, K) on the CPU, used as B^T. The packed weights when cached (null:
// use the unpacked GEMM, e.g. the first sight of this version, not AVX-512, or the cache is off).
std::shared_ptr<const SgemmPackedB> packed_weight_for_inference(const Tensor& w);

// For tests: entries held and packs made since the process started.
int64_t weight_pack_cache_entries();
int64_t weight_pack_count();
void clear_weight_pack_cache();

}  // namespace aimass::cpu

#!/usr/bin/env bash
# Runs the CUDA k-NN kernels (csrc/ops/cuda/knn_flat.cu, knn_ivf.cu) on the host, with no GPU,
# and compares them with the CPU kernels on integer data (exact scores: ids and distances must
# be equal); then the int8 / int4 kernels (csrc/ops/cuda/quant_*.cu, quant_driver.cpp: the int8
# GEMM through its __dp4a kernel, since the emulated cuBLASLt offers no algorithm). transform.py turns each .cu into plain C++ (kernel launches -> emu_run, tiles
# shrunk so that small inputs cross several tiles, parts and chunks); stub/ emulates the CUDA
# runtime (one std::thread per CUDA thread, std::barrier for __syncthreads and warp shuffles),
# cuBLAS (column-major GEMM by its documented semantics) and CUB's segmented sort.
# Usage: tests/cpp/knn_cuda_emu/run.sh [build dir with lib/libaimass_core.so] [flat|ivf|quant|all|quick]
# Slow (a few minutes): every emulated block starts its threads. "quick": four small cases.
# EMU_FLAGS adds compiler flags, e.g. EMU_FLAGS=-fsanitize=thread ... quick.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
build="${1:-$root/build/dev}"
out="$(mktemp -d)"
python3 "$here/transform.py" "$root/csrc/ops/cuda/knn_flat.cu" "$out/knn_flat.cpp"
python3 "$here/transform.py" "$root/csrc/ops/cuda/knn_ivf.cu" "$out/knn_ivf.cpp"
blas="$(dirname "$(ldd "$build/lib/libaimass_core.so" | awk '/openblas/ {print $3}')")"
g++ -std=c++20 -O1 ${EMU_FLAGS:-} -D__CUDACC__ -include "$here/stub/cuda_runtime.h" -I "$here/stub" -I "$root/csrc" \
  "$out/knn_flat.cpp" "$out/knn_ivf.cpp" "$here/driver.cpp" -o "$out/knn_cuda_emu" \
  -L "$build/lib" -laimass_core -Wl,-rpath,"$build/lib" -Wl,-rpath,"$blas" -pthread
mode="${2:-all}"
if [ "$mode" != quant ]; then AIMASS_NUM_THREADS=1 "$out/knn_cuda_emu" "$mode"; fi
if [ "$mode" = flat ] || [ "$mode" = ivf ]; then exit 0; fi
for f in quant_int8 quant_weight_only quant_embedding; do
  python3 "$here/transform.py" "$root/csrc/ops/cuda/$f.cu" "$out/$f.cpp"
done
g++ -std=c++20 -O1 -ffp-contract=off ${EMU_FLAGS:-} -D__CUDACC__ -include "$here/stub/cuda_runtime.h" -I "$here/stub" \
  -I "$root/csrc" "$out/quant_int8.cpp" "$out/quant_weight_only.cpp" "$out/quant_embedding.cpp" "$here/quant_driver.cpp" \
  -o "$out/quant_cuda_emu" -L "$build/lib" -laimass_core -Wl,-rpath,"$build/lib" -Wl,-rpath,"$blas" -pthread
AIMASS_NUM_THREADS=1 "$out/quant_cuda_emu" "$mode"

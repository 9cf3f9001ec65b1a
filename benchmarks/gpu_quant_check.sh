#!/usr/bin/env bash
# Verifies the CUDA int8 / int4 kernels (csrc/ops/cuda/quant_*.cu) on a machine with an NVIDIA GPU:
# written without one, this is their first real run. Correctness first; timings last, for information.
#   1. builds the CUDA backend (AIMASS_CUDA=ON) in BUILD (configured there first if need be);
#   2. GoogleTest QuantCudaKernels.* (each kernel against its CPU reference, both int8 GEMM paths,
#      plus one run that requires cuBLASLt's IMMA path) and CudaKernels.* (the rest of the backend),
#      under compute-sanitizer memcheck too where it is installed;
#   3. pytest tests/python/test_quant_cuda.py (ops and layers .to("cuda") against the CPU),
#      test_backends.py's quantised-layers case and test_cuda_symbols.py;
#   4. informational timings against our CUDA float32 linear (benchmarks/bench_quant_cuda.py --quick).
# Usage: benchmarks/gpu_quant_check.sh   (BUILD=build/cuda, PYTHON=python, ARCH=90 by default;
#        SKIP_BUILD=1 to use BUILD/lib as it is, e.g. carried from a machine that built it)
# Exits non-zero on the first failure. Needs cmake, ninja, nvcc, GTest, and a Python with numpy,
# pybind11 and pytest (or their wheels in .whl/: bash tests/gpu_wheels.sh here, carry=[".whl"]).
# tests/gpu_check.sh (every CUDA test of the project) runs these tests too; this script is the
# focused, stricter one (memcheck, and a failure when CUDA turns out unusable).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build/cuda}
py=${PYTHON:-python3}
stamp() { printf '\n=== %s  [%s]\n' "$1" "$(date +%H:%M:%S)"; }
# The wheels tests/gpu_wheels.sh puts in .whl/ (pytest, numpy, pybind11, ...), as tests/gpu_check.sh.
if compgen -G "$root/.whl/*.whl" >/dev/null; then
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$root"/.whl/*.whl
  export PYTHONPATH=/tmp/site
fi

nvidia-smi -L || { echo "no NVIDIA GPU visible (nvidia-smi failed)" >&2; exit 1; }
if [[ "${SKIP_BUILD:-0}" == 1 ]]; then
  # A build made elsewhere and carried here (its lib/ only): its RPATHs must resolve here too
  # (the BLAS of scipy_openblas32; add its directory to LD_LIBRARY_PATH otherwise).
  [[ -f "$build/lib/libaimass_cuda.so" ]] || { echo "SKIP_BUILD=1 but no $build/lib/libaimass_cuda.so" >&2; exit 1; }
else
  if [[ ! -f "$build/CMakeCache.txt" ]]; then
    stamp "configure $build (AIMASS_CUDA=ON, sm_${ARCH:-90})"
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAIMASS_CUDA=ON -DAIMASS_BUILD_TESTS=ON \
      -DCMAKE_CUDA_ARCHITECTURES="${ARCH:-90}" -DPython_EXECUTABLE="$(command -v "$py")"
  fi
  stamp "build"
  cmake --build "$build" -j "$(nproc)"
fi

stamp "GoogleTest: QuantCudaKernels.* and CudaKernels.*"
"$build/lib/aimass_tests" --gtest_filter='QuantCudaKernels.*:CudaKernels.*:Quant*' --gtest_brief=1
if command -v compute-sanitizer >/dev/null; then
  stamp "compute-sanitizer memcheck: QuantCudaKernels.*"
  compute-sanitizer --tool memcheck --error-exitcode 1 "$build/lib/aimass_tests" \
    --gtest_filter='QuantCudaKernels.*' --gtest_brief=1
  stamp "compute-sanitizer racecheck: QuantCudaKernels.* (shared memory: the quantiser and dp4a tiles)"
  compute-sanitizer --tool racecheck --error-exitcode 1 "$build/lib/aimass_tests" \
    --gtest_filter='QuantCudaKernels.QuantizeU8*:QuantCudaKernels.Int8Gemm*' --gtest_brief=1
else
  echo "note: compute-sanitizer not found, memcheck skipped"
fi

stamp "pytest: test_quant_cuda.py, the quantised-layers backend case, test_cuda_symbols.py"
pkg=$(mktemp -d)
cp -r "$root/python/aimass" "$pkg/" && cp "$build"/lib/*.so "$pkg/aimass/"
(cd "$pkg" && PYTHONPATH="$pkg${PYTHONPATH:+:$PYTHONPATH}" "$py" -m pytest -c "$root/pyproject.toml" --rootdir "$root" -q -p no:cacheprovider \
  -rs "$root/tests/python/test_quant_cuda.py" "$root/tests/python/test_cuda_symbols.py" \
  "$root/tests/python/test_backends.py" -k "quant or cuda_backend_exports or every_kernel")
# A skip here means CUDA was not usable: that is a failure of this check, not a pass.
(cd "$pkg" && PYTHONPATH="$pkg${PYTHONPATH:+:$PYTHONPATH}" "$py" -c "import aimass as am, sys; sys.exit(0 if am.cuda.is_available() else 1)") ||
  { echo "CUDA not available to aimass: the tests above skipped" >&2; exit 1; }
stamp "all CUDA int8 / int4 checks passed"
stamp "timings (informational): benchmarks/bench_quant_cuda.py --quick"
(cd "$pkg" && PYTHONPATH="$pkg${PYTHONPATH:+:$PYTHONPATH}" "$py" "$root/benchmarks/bench_quant_cuda.py" --quick) || echo "note: the timing run failed" >&2

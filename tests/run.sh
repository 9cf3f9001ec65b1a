#!/usr/bin/env bash
# The whole test suite, as README.md gives it and .ci/run runs it:
#   1. `pip install .` into a fresh virtual environment (AIMASS_CUDA=AUTO: the CUDA backend is
#      built where nvcc is found) and pytest against that installed package;
#   2. a CPU-only CMake build (AIMASS_CUDA=OFF) with the GoogleTest suite under ctest, the CUDA
#      k-NN kernels run on the host by tests/cpp/knn_cuda_emu, and pytest again against its
#      Python module;
#   3. the GoogleTest suite under AddressSanitizer + UndefinedBehaviorSanitizer.
# Steps 1 and 2 run the CPU kernels at the best instruction set this machine has; step 2 then runs
# the GoogleTest suite and the SIMD-heavy pytest files (ops, layers, k-NN, training) again at each
# lower level (AIMASS_CPU_ISA=avx2, =baseline: csrc/core/cpu_isa.h), about 50 s a level
# on 2 cores.
# Exits non-zero on the first failure. Set AIMASS_TEST_QUICK=1 to run step 1 only.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${AIMASS_TEST_DIR:-$root/build/test-run}
jobs=${AIMASS_TEST_JOBS:-$(nproc)}
mkdir -p "$work"
stamp() { printf '\n=== %s  [%s]\n' "$1" "$(date +%H:%M:%S)"; }

# The registry's PostgreSQL tests start a throwaway server (tests/python/postgres_server.py) and
# must not skip in CI: install the server where it is missing and we can (root with apt-get).
if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    stamp "apt-get install postgresql (for the registry tests)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }
  else
    echo "note: no PostgreSQL server binaries and no way to install them: the registry's PostgreSQL tests will skip" >&2
  fi
fi

stamp "fresh virtual environment"
python3 -m venv --clear "$work/venv"
# shellcheck disable=SC1091
. "$work/venv/bin/activate"
python -m pip install -q --upgrade pip
python -m pip install -q numpy pytest hypothesis ml_dtypes scikit-build-core "pybind11>=3.0" scipy-openblas32 ninja "cmake>=3.26" \
  safetensors tqdm pillow scikit-learn nbformat nbclient ipykernel matplotlib faiss-cpu "sqlalchemy>=2" psycopg2-binary \
  "tritonclient[http,grpc]" grpcio protobuf uvicorn httptools prometheus-client orjson onnx onnxruntime \
  optuna pandas

stamp "pip install . (AIMASS_CUDA=AUTO)"
CMAKE_BUILD_PARALLEL_LEVEL=$jobs python -m pip install -q "$root" 2>&1 | tail -20
python -m aimass.cli info

stamp "pytest against the installed package"
# Run from outside the source tree so `import aimass` is the installed one.
(cd "$work" && python -m pytest -c "$root/pyproject.toml" --rootdir "$root" "$root/tests/python" -q -p no:cacheprovider)

[[ "${AIMASS_TEST_QUICK:-0}" == 1 ]] && exit 0

stamp "CPU-only build (AIMASS_CUDA=OFF) with GoogleTest"
cmake -S "$root" -B "$work/cpu" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAIMASS_CUDA=OFF -DAIMASS_BUILD_TESTS=ON >/dev/null
cmake --build "$work/cpu" -j "$jobs"
ctest --test-dir "$work/cpu" --output-on-failure -j "$jobs"

# The levels below this machine's best: the runs above covered the best one.
levels_below_best() {
  local best
  best=$(PYTHONPATH="$1" AIMASS_CPU_ISA= python -c "from aimass import _core; print(_core.cpu_isa_limit())")
  case "$best" in avx512) echo avx2 baseline ;; avx2) echo baseline ;; esac
}
# The pytest files whose ops run through the per-ISA kernels (the SIMD table, our GEMM, the k-NN
# scan, pooling, the optimizer steps), for the extra levels.
simd_suites=(elementwise activation reduce norm softmax matmul conv pool linear loss cross_entropy dtypes nn_layers
  knn_flat knn_ivf kmeans optim training cpu_isa quant_ops qat)
simd_suites=("${simd_suites[@]/#/$root/tests/python/test_}")
simd_suites=("${simd_suites[@]/%/.py}")

stamp "CUDA k-NN kernels run on the host (emulated CUDA runtime, cuBLAS, CUB) against the CPU kernels"
bash "$root/tests/cpp/knn_cuda_emu/run.sh" "$work/cpu" quick

stamp "pytest against the CPU-only build"
pkg="$work/cpu-package/aimass"
rm -rf "$pkg" && mkdir -p "$pkg"
cp -r "$root"/python/aimass/. "$pkg"/ && cp "$work"/cpu/lib/*.so "$pkg"/
(cd "$work" && PYTHONPATH="$work/cpu-package" python -m pytest -c "$root/pyproject.toml" --rootdir "$root" "$root/tests/python" -q -p no:cacheprovider)

for isa in $(levels_below_best "$work/cpu-package"); do
  stamp "GoogleTest and the SIMD pytest files at AIMASS_CPU_ISA=$isa"
  AIMASS_CPU_ISA=$isa ctest --test-dir "$work/cpu" --output-on-failure -j "$jobs"
  (cd "$work" && AIMASS_CPU_ISA=$isa PYTHONPATH="$work/cpu-package" python -m pytest -c "$root/pyproject.toml" \
    --rootdir "$root" "${simd_suites[@]}" -q -p no:cacheprovider)
done

stamp "GoogleTest under AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S "$root" -B "$work/asan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAIMASS_CUDA=OFF -DAIMASS_BUILD_TESTS=ON \
  -DAIMASS_BUILD_PYTHON=OFF -DAIMASS_SANITIZE=ON >/dev/null
cmake --build "$work/asan" -j "$jobs"
# allocator_may_return_null: tests ask for sizes no machine has (2**62 bytes) and expect the
# MemoryError our allocator raises when malloc says no, as it does without the sanitizer.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$work/asan" --output-on-failure -j "$jobs"

stamp "all tests passed"

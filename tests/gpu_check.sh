#!/usr/bin/env bash
# The GPU checks, as one prepared script for a session that is lent a CUDA machine (CI has none):
# builds the CUDA backend there, runs every CUDA test (pytest -m cuda, the GoogleTest CUDA cases)
# and the GPU benchmarks, each step time-boxed, and writes the log to $OUT/gpu_check.log.
#
#   here, once:  bash tests/gpu_wheels.sh            (the wheels that machine lacks, into .whl/)
#   there:       run(command="bash tests/gpu_check.sh", carry=[".whl"], timeout_s=590)
#
# Steps stop at their own time limits (AIMASS_GPU_BUILD_S, _TEST_S, _BENCH_S) so that the log
# comes back even when one hangs. A failing step is reported and the next one still runs; the
# exit status is non-zero when any failed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$root/build/gpu-check}
mkdir -p "$out"
log="$out/gpu_check.log"
exec > >(tee "$log") 2>&1
export PYTHONUNBUFFERED=1
status=0
step() { printf '\n=== %s  [%s]\n' "$1" "$(date +%H:%M:%S)"; }
run_step() {  # name, seconds, command...
  local name=$1 limit=$2; shift 2
  step "$name"
  timeout "$limit" "$@"
  local rc=$?
  [[ $rc == 0 ]] || { echo "!!! $name failed (rc=$rc)"; status=1; }
}

if compgen -G "$root/.whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$root"/.whl/*.whl
  export PYTHONPATH=/tmp/site
fi
step "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || status=1
python3 -c "import sys, numpy; print(sys.version.split()[0], 'numpy', numpy.__version__)"

build=/tmp/aimass-cuda
run_step "CMake build with CUDA (sm_90)" "${AIMASS_GPU_BUILD_S:-300}" bash -c "
  cmake -S '$root' -B $build -G Ninja -DCMAKE_BUILD_TYPE=Release -DAIMASS_CUDA=ON -DAIMASS_BUILD_TESTS=ON \
    -DCMAKE_CUDA_ARCHITECTURES=90 -DPython_EXECUTABLE=\$(command -v python3) >/dev/null &&
  cmake --build $build -j \$(nproc)"
pkg=/tmp/aimass-pkg
rm -rf $pkg && mkdir -p $pkg/aimass && cp -r "$root"/python/aimass/. $pkg/aimass/ && cp $build/lib/*.so $pkg/aimass/ 2>/dev/null
export PYTHONPATH=$pkg${PYTHONPATH:+:$PYTHONPATH}
python3 -c "import aimass as am; print(am.info())" || status=1

run_step "GoogleTest CUDA cases" "${AIMASS_GPU_TEST_S:-120}" \
  "$build/lib/aimass_tests" --gtest_filter='*Cuda*:*CUDA*:*Gpu*:*GPU*' --gtest_brief=1
run_step "pytest -m cuda" "${AIMASS_GPU_TEST_S:-240}" \
  python3 -m pytest -c "$root/pyproject.toml" --rootdir "$root" "$root/tests/python" -m cuda -q -p no:cacheprovider -x \
  --deselect "$root/tests/python/test_notebooks.py"
run_step "bench_knn --only gpu" "${AIMASS_GPU_BENCH_S:-90}" python3 "$root/benchmarks/bench_knn.py" --only gpu --repeats 3
run_step "bench_tensor --quick" "${AIMASS_GPU_BENCH_S:-90}" python3 "$root/benchmarks/bench_tensor.py" --quick
run_step "bench_quant_cuda --quick" "${AIMASS_GPU_BENCH_S:-90}" python3 "$root/benchmarks/bench_quant_cuda.py" --quick --repeats 5

step "done (status $status)"
exit $status

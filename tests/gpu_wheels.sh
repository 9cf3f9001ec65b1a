#!/usr/bin/env bash
# Downloads into .whl/ (ignored by git) the wheels tests/gpu_check.sh needs that the GPU machine's
# image lacks (it has no package registry; its Python is 3.12).
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo /.whl/ >> .git/info/exclude
mkdir -p .whl
for spec in scipy-openblas32 uvicorn httptools orjson sqlalchemy greenlet tqdm; do
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl "$spec" || echo "skipped $spec"
done
ls -la .whl

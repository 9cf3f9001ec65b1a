"""The kernel table resolves its CUDA kernels by name at run time (dlsym), so a misspelt or missing
symbol would only show on a GPU. Where the CUDA backend was built, check on any machine that it
exports aimass_cuda_<name> for every registered kernel (ops/kernels/*.h), its kernel list and the
backend entry point."""
from __future__ import annotations

import pathlib
import shutil
import subprocess

import pytest

import aimass
from aimass import _core

LIBRARY = pathlib.Path(aimass.__file__).parent / "libaimass_cuda.so"


def test_cuda_backend_exports_every_kernel_of_the_table():
    if not LIBRARY.exists():
        pytest.skip("aimass was built without the CUDA backend")
    if shutil.which("nm") is None:
        pytest.skip("nm (binutils) is not installed")
    wanted = {f"aimass_cuda_{name}" for name in _core.kernel_names()} | {"aimass_cuda_backend", "aimass_cuda_kernels"}
    assert len(wanted) > 30
    out = subprocess.run(["nm", "-D", "--defined-only", str(LIBRARY)], capture_output=True, text=True, check=True).stdout
    exported = {line.split()[-1] for line in out.splitlines() if line.strip()}
    assert sorted(wanted - exported) == []

"""``aimass.info()`` and ``aimass info``: what this build is and what it sees."""
from __future__ import annotations

import platform

from . import _core, cuda


def info() -> dict:
    """Version, build options, BLAS, SIMD level, CUDA/cuDNN versions and visible devices."""
    report = {
        "version": _core.version(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cuda_built": _core.cuda_built(),
        "cuda_toolkit": _core.cuda_toolkit_version() or "-",
        "blas": _core.blas_config(),
        "cpu_simd": _core.cpu_simd_level(),
        "num_threads": _core.get_num_threads(),
        "devices": ["cpu"],
    }
    if cuda.is_available():
        v = cuda.versions()
        report.update(cuda_runtime=v["runtime"], cuda_driver=v["driver"], cudnn=v["cudnn"], cublas=v["cublas"])
        report["devices"] += [f"cuda:{i} ({cuda.device_name(i)})" for i in range(cuda.device_count())]
    else:
        report["cuda"] = cuda.unavailable_reason()
    return report


def format_info(report: dict) -> str:
    width = max(len(k) for k in report)
    lines = []
    for key, value in report.items():
        if isinstance(value, list):
            value = ", ".join(value)
        lines.append(f"{key.ljust(width)}  {value}")
    return "\n".join(lines)

"""The CUDA backend: loaded the first time a CUDA device is asked for, never at import."""
from __future__ import annotations

from ._core import cuda as _cuda

is_available = _cuda.is_available
device_count = _cuda.device_count
memory_allocated = _cuda.memory_allocated
memory_reserved = _cuda.memory_reserved
empty_cache = _cuda.empty_cache
synchronize = _cuda.synchronize
device_name = _cuda.device_name
versions = _cuda.versions


def unavailable_reason() -> str:
    """Why CUDA cannot be used here ("" when it can)."""
    if _cuda.is_available():
        return ""
    return _cuda.unavailable_reason() or "no CUDA device found"

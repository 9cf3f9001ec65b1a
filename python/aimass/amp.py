"""Mixed precision: ``with am.autocast("cuda", dtype=am.bfloat16): loss = loss_fn(model(x), y)``.

Inside the region Dense, Conv2D and the attention projections run in float16 / bfloat16 with
float32 accumulation, while the float32 parameters stay the master weights (their gradients are
float32); normalisation layers and losses compute in float32. Also usable as a decorator. The
state is per thread. On CPU, bfloat16 autocast works the same way (for testing and for CPUs with
native bfloat16).
"""
from __future__ import annotations

import functools

from ._core import DType
from ._core import nn as _nn


class autocast:  # noqa: N801  (a context manager named as PyTorch's)
    def __init__(self, device_type: str = "cuda", dtype: DType | str | None = None, enabled: bool = True):
        default_dtype = _nn._default_autocast_dtype(device_type)  # ValueError for another device_type
        self.device_type = device_type
        self.dtype = dtype if dtype is not None else default_dtype
        self.enabled = enabled

    def __enter__(self) -> "autocast":
        self._previous = _nn._get_autocast()
        if self.enabled:
            _nn._set_autocast(True, self.device_type, self.dtype)
        else:
            _nn._set_autocast(False, self._previous[1], self._previous[2])
        return self

    def __exit__(self, *exc) -> None:
        _nn._set_autocast(*self._previous)

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with autocast(self.device_type, self.dtype, self.enabled):
                return fn(*args, **kwargs)

        return wrapped


def is_autocast_enabled() -> bool:
    return bool(_nn._get_autocast()[0])

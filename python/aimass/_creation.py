"""The ``*_like`` constructors: a new tensor with another's shape, dtype and device."""
from __future__ import annotations

from . import _core
from ._core import Tensor


def _like(t: Tensor, dtype, device):
    return t.shape, (t.dtype if dtype is None else dtype), (str(t.device) if device is None else device)


def empty_like(t: Tensor, dtype=None, device=None) -> Tensor:
    return _core.empty(*_like(t, dtype, device))


def zeros_like(t: Tensor, dtype=None, device=None) -> Tensor:
    return _core.zeros(*_like(t, dtype, device))


def ones_like(t: Tensor, dtype=None, device=None) -> Tensor:
    return _core.ones(*_like(t, dtype, device))


def full_like(t: Tensor, fill_value, dtype=None, device=None) -> Tensor:
    shape, dt, dev = _like(t, dtype, device)
    return _core.full(shape, fill_value, dtype=dt, device=dev)


def rand_like(t: Tensor, dtype=None, device=None) -> Tensor:
    return _core.rand(*_like(t, dtype, device))


def randn_like(t: Tensor, dtype=None, device=None) -> Tensor:
    return _core.randn(*_like(t, dtype, device))


def randint_like(t: Tensor, low: int, high: int | None = None, dtype=None, device=None) -> Tensor:
    shape, dt, dev = _like(t, dtype, device)
    return _core.randint(low, high, shape, dtype=dt, device=dev)

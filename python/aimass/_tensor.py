"""Tensor methods that are conversions of Python values (repr, tolist, .to) rather than ops."""
from __future__ import annotations

import numpy as np

from . import _core
from ._core import Tensor


def _to(self: Tensor, *args, device=None, dtype=None, copy: bool = False) -> Tensor:
    """``t.to("cuda")``, ``t.to(am.float16)``, ``t.to("cpu", am.float32)``, ``t.to(device=..., dtype=...)``."""
    for a in args:
        if _is_dtype_arg(a):
            if dtype is not None:
                raise TypeError("to(): dtype given twice")
            dtype = a
        else:
            if device is not None:
                raise TypeError("to(): device given twice")
            device = a
    return _core.to(self, device=device, dtype=dtype, copy=copy)


def _is_dtype_arg(a) -> bool:
    """Whether a positional argument of .to() (Tensor.to, Module.to) is a dtype rather than a device:
    an am/NumPy dtype, or a string that does not name a device (core/device.h decides)."""
    return isinstance(a, (_core.DType, np.dtype, type)) or (isinstance(a, str) and not _core._is_device_name(a))


def _cpu(self: Tensor) -> Tensor:
    return _core.to(self, device="cpu")


def _cuda(self: Tensor, device: int = 0) -> Tensor:
    return _core.to(self, device=f"cuda:{device}")


def _host_array(t: Tensor) -> np.ndarray:
    if t.device.type != "cpu":
        t = _cpu(t)
    if t.dtype == _core.DType.bfloat16:
        try:
            return t.numpy()
        except TypeError:
            return _core.to(t, dtype=_core.DType.float32).numpy()
    return t.numpy()


def _array(self: Tensor, dtype=None, copy=None) -> np.ndarray:
    """``np.asarray(t)``: zero-copy for CPU tensors; a copy for CUDA tensors."""
    if copy is False and self.device.type != "cpu":
        raise ValueError(f"np.asarray(..., copy=False): the tensor is on {self.device}, a copy is needed")
    a = _host_array(self)
    if dtype is not None:
        a = a.astype(dtype, copy=False)
    return a.copy() if copy else a


def _tolist(self: Tensor):
    return _host_array(self).tolist()


def _repr(self: Tensor) -> str:
    a = _host_array(self)
    body = np.array2string(a, separator=", ", prefix="tensor(", threshold=1000, edgeitems=3)
    extras = [f"dtype={self.dtype}"]
    if self.device.type != "cpu":
        extras.append(f"device='{self.device}'")
    if self.requires_grad:
        extras.append("requires_grad=True")
    return f"tensor({body}, {', '.join(extras)})"


def _iter(self: Tensor):
    if self.ndim == 0:
        raise TypeError("iteration over a 0-d tensor")
    for i in range(len(self)):
        yield self[i]


def _format(self: Tensor, spec: str) -> str:
    if self.ndim == 0:
        return format(self.item(), spec)
    return repr(self) if not spec else object.__format__(self, spec)


_core.DType.__str__ = lambda self: self.name
_core.DType.__repr__ = lambda self: f"aimass.{self.name}"
_core.DType.__format__ = lambda self, spec: format(self.name, spec)

Tensor.to = _to
Tensor.cpu = _cpu
Tensor.cuda = _cuda
Tensor.__array__ = _array
Tensor.tolist = _tolist
Tensor.__repr__ = _repr
Tensor.__str__ = _repr
Tensor.__iter__ = _iter
Tensor.__format__ = _format
Tensor.__array_priority__ = 1000  # ndarray <op> Tensor defers to Tensor's reflected operator

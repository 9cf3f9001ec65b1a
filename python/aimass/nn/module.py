"""The Python side of ``aimass.nn.Module`` (the class itself is native: ``aimass._core.nn.Module``).

Attribute assignment registers parameters, buffers and child modules in the native module, so a
model written as a Python subclass is visible to native code (Sequential, the training loop)::

    class Net(am.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = am.nn.Dense(64, activation="relu")
            self.fc2 = am.nn.Dense(10)

        def forward(self, x):
            return self.fc2(self.fc1(x))

Threads: a model may predict from many threads at once (each in eval mode for its own thread);
changing its structure (assigning a layer or parameter, ``add``, ``to``, ``load_state_dict``,
``zero_grad``) while another thread runs it raises RuntimeError "... is in use by another
thread" (csrc/nn/module.h).
"""
from __future__ import annotations

import inspect
import types
from collections import OrderedDict
from typing import Iterator

from .._core import Tensor
from .._core import nn as _nn

Module = _nn.Module


class Parameter:
    """``Parameter(data)``: a leaf tensor that requires grad; assigned to a Module attribute, it
    becomes one of the module's parameters. Returns an ``aimass.Tensor``."""

    def __new__(cls, data, requires_grad: bool = True) -> Tensor:  # type: ignore[misc]
        from .. import asarray

        t = asarray(data).detach()
        t.requires_grad_(requires_grad)
        t._is_parameter = True
        return t


def _is_python_forward(module: Module) -> bool:
    return isinstance(inspect.getattr_static(type(module), "forward"), types.FunctionType)


def _setattr(self: Module, name: str, value) -> None:
    if isinstance(value, Module):
        self._register_module(name, value)
    elif isinstance(value, Tensor) and getattr(value, "_is_parameter", False):
        self._register_parameter(name, value)
    elif isinstance(value, Tensor) and self._buffer(name) is not None:
        self._register_buffer(name, value)
    elif isinstance(value, Tensor) and self._parameter(name) is not None:
        self._register_parameter(name, value)
    else:
        object.__setattr__(self, name, value)


def _getattr(self: Module, name: str):
    # Only reached when normal lookup fails: the native registries.
    if not name.startswith("__"):
        for lookup in (self._parameter, self._buffer, self._child):
            value = lookup(name)
            if value is not None:
                return value
    raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")


def _call(self: Module, *args, **kwargs):
    if _is_python_forward(self):
        return self.forward(*args, **kwargs)
    if len(args) != 1 or kwargs:
        raise TypeError(f"{type(self).__name__}: a layer is called with one input, got {len(args)} positional and "
                        f"{sorted(kwargs)} keyword arguments")
    return self._call(args[0])


def register_buffer(self: Module, name: str, tensor: Tensor) -> None:
    """State saved with the model (in state_dict) but not trained, such as running statistics."""
    self._register_buffer(name, tensor)


def parameters(self: Module) -> Iterator[Tensor]:
    """Every parameter of the module and its children, each once."""
    return iter([t for _, t in self._named_parameters()])


def named_parameters(self: Module) -> Iterator[tuple[str, Tensor]]:
    return iter(self._named_parameters())


def buffers(self: Module) -> Iterator[Tensor]:
    return iter([t for _, t in self._named_buffers()])


def named_buffers(self: Module) -> Iterator[tuple[str, Tensor]]:
    return iter(self._named_buffers())


def children(self: Module) -> Iterator[Module]:
    return iter([m for _, m in self._children()])


def named_children(self: Module) -> Iterator[tuple[str, Module]]:
    return iter(self._children())


def modules(self: Module) -> Iterator[Module]:
    return iter([m for _, m in self._named_modules()])


def named_modules(self: Module) -> Iterator[tuple[str, Module]]:
    return iter(self._named_modules())


def state_dict(self: Module) -> "OrderedDict[str, Tensor]":
    """Parameters and buffers by dotted name ("0.weight"); the module's own tensors, not copies."""
    return OrderedDict(self._state_dict())


def load_state_dict(self: Module, state_dict, strict: bool = True) -> None:
    """Copies values (Tensors or NumPy arrays) into the module's tensors. With strict, every key must
    match: a ValueError names the missing and unexpected keys and the mismatched shapes."""
    self._load_state_dict(dict(state_dict), strict)


def to(self: Module, target) -> Module:
    """``model.to("cuda")`` (any name am.Device accepts, or a Device) or ``model.to(am.float64)``: in
    place; returns the module."""
    from .._tensor import _is_dtype_arg

    if _is_dtype_arg(target):
        self._to_dtype(target)
    else:
        self._to_device(target)
    return self


def cpu(self: Module) -> Module:
    return self.to("cpu")


def cuda(self: Module, index: int = 0) -> Module:
    return self.to(f"cuda:{index}")


def num_parameters(self: Module) -> int:
    """The number of trainable values."""
    return sum(t.size for t in self.parameters())


def build(self: Module, input_shape) -> Module:
    """Creates lazily sized weights for inputs of ``input_shape`` (a leading None is the batch)."""
    from .. import autograd, zeros

    shape = tuple(1 if d is None else int(d) for d in input_shape)
    with autograd.no_grad(), _nn._mode(False):  # eval mode for this thread only
        self(zeros(shape))
    return self


def _repr(self: Module) -> str:
    if not Module._is_constructed(self):
        return f"<{type(self).__name__} (not constructed)>"
    head = f"{type(self).__name__}()" if _is_python_forward(self) else self._describe()
    kids = self._children()
    if not kids:
        return head
    lines = []
    for name, child in kids:
        body = repr(child).replace("\n", "\n  ")
        lines.append(f"  ({name}): {body}")
    return head[:-1] + ("\n" if head.endswith("()") else ",\n") + "\n".join(lines) + "\n)"


def __iter__(self: Module) -> Iterator[Module]:
    return iter([m for _, m in self._children()])


for _name, _fn in {
    "__setattr__": _setattr,
    "__getattr__": _getattr,
    "__call__": _call,
    "__repr__": _repr,
    "register_buffer": register_buffer,
    "parameters": parameters,
    "named_parameters": named_parameters,
    "buffers": buffers,
    "named_buffers": named_buffers,
    "children": children,
    "named_children": named_children,
    "modules": modules,
    "named_modules": named_modules,
    "state_dict": state_dict,
    "load_state_dict": load_state_dict,
    "to": to,
    "cpu": cpu,
    "cuda": cuda,
    "num_parameters": num_parameters,
    "build": build,
}.items():
    setattr(Module, _name, _fn)
_nn.Sequential.__iter__ = __iter__

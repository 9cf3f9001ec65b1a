"""GraphBuilder: the ONNX graph under construction (nodes, initializers, unique names), shared
by the graph walk (_export.py) and the layer converters (_layers.py).

Weights enter the graph through ``weight(array, name, role)`` only: a later int8 pass (QDQ)
can quantise them there, by role ("kernel" for the Dense / Conv weights, "bias", "table", ...).
"""
from __future__ import annotations

import hashlib

import numpy as np


class GraphBuilder:
    def __init__(self, onnx, opset: int) -> None:
        self.onnx, self.opset = onnx, opset
        self.nodes: list = []
        self.initializers: list = []
        self._used: set[str] = set()
        self._stored: dict[tuple, str] = {}  # (dtype, shape, digest of the bytes) -> initializer name

    def name(self, base: str) -> str:
        """A tensor or node name not used before: base, base_1, base_2, ..."""
        base = base.replace("/", ".") or "t"
        name, k = base, 0
        while name in self._used:
            k += 1
            name = f"{base}_{k}"
        self._used.add(name)
        return name

    def reserve(self, name: str) -> None:
        self._used.add(name)

    def weight(self, array: np.ndarray, name: str, role: str = "weight") -> str:
        """An initializer holding `array` (float32 unless it is an integer array). Equal arrays are
        stored once (a layer shared by two nodes of a functional model, repeated constants)."""
        del role  # where a QDQ pass will hook in
        array = np.ascontiguousarray(array)
        if array.dtype.kind == "f":
            array = array.astype(np.float32)
        key = (array.dtype.str, array.shape, hashlib.sha256(array.tobytes()).digest())
        if key not in self._stored:
            tensor = self.onnx.numpy_helper.from_array(array, self.name(name))
            self.initializers.append(tensor)
            self._stored[key] = tensor.name
        return self._stored[key]

    def const(self, value, name: str = "const", dtype=np.float32) -> str:
        return self.weight(np.asarray(value, dtype=dtype), name, role="constant")

    def ints(self, values, name: str = "shape") -> str:
        return self.weight(np.asarray(values, dtype=np.int64), name, role="constant")

    def op(self, op_type: str, inputs: list[str], name: str, **attrs) -> str:
        """One node of one output; returns the output's name."""
        out = self.name(name)
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), [out], name=self.name(f"{out}.{op_type}"),
                                                     **attrs))
        return out

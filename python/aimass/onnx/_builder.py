"""GraphBuilder: the ONNX graph under construction (nodes, initializers, unique names), shared
by the graph walk (_export.py) and the layer converters (_layers.py).

Weights enter the graph through ``weight(array, name, role)`` only: a later int8 pass (QDQ)
can quantise them there, by role ("kernel" for the Dense / Conv weights, "bias", "table", ...).
The weights of am.quant's layers, already integers, enter through ``int_weight`` (int8 / uint8,
and int4 packed two per byte, opset 21).
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

    def int_weight(self, values: np.ndarray, name: str, elem_type: str = "int8") -> str:
        """An integer initializer of ONNX type elem_type ("int8", "uint8", "int4" (values in [-8, 7],
        stored two per byte, the first element in the low nibble, as ONNX packs INT4)). Stored once."""
        values = np.ascontiguousarray(values)
        if elem_type != "int4":
            return self.weight(values.astype(elem_type), name, role="quantized")
        flat = values.astype(np.int8).ravel()
        nibbles = (flat.astype(np.uint8) & 0x0F)
        if nibbles.size % 2:
            nibbles = np.concatenate([nibbles, np.zeros(1, np.uint8)])
        packed = (nibbles[0::2] | (nibbles[1::2] << 4)).astype(np.uint8).tobytes()
        key = ("int4", values.shape, hashlib.sha256(packed).digest())
        if key not in self._stored:
            tensor = self.onnx.helper.make_tensor(self.name(name), self.onnx.TensorProto.INT4, list(values.shape),
                                                  packed, raw=True)
            self.initializers.append(tensor)
            self._stored[key] = tensor.name
        return self._stored[key]

    def const(self, value, name: str = "const", dtype=np.float32) -> str:
        return self.weight(np.asarray(value, dtype=dtype), name, role="constant")

    def ints(self, values, name: str = "shape") -> str:
        return self.weight(np.asarray(values, dtype=np.int64), name, role="constant")

    def op(self, op_type: str, inputs: list[str], name: str, **attrs) -> str:
        """One node of one output; returns the output's name."""
        return self.ops(op_type, inputs, [name], **attrs)[0]

    def ops(self, op_type: str, inputs: list[str], names: list[str], **attrs) -> list[str]:
        """One node of len(names) outputs (DynamicQuantizeLinear's three); returns their names.
        An input "" is an omitted optional input."""
        outs = [self.name(n) for n in names]
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), outs,
                                                     name=self.name(f"{outs[0]}.{op_type}"), **attrs))
        return outs

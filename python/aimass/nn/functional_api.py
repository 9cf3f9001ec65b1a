"""Keras's functional API: symbolic inputs, layers called on them, and the Model they make.

    x = am.nn.Input(shape=(1, 8, 8))                      # (None, 1, 8, 8)
    a = am.nn.Conv2D(8, 3, padding="same", activation="relu")(x)
    b = am.nn.Conv2D(8, 3, padding="same")(x)
    h = am.nn.Flatten()(am.nn.Add()([a, b]))              # (None, 512)
    y = am.nn.Dense(10, activation="softmax")(h)
    model = am.nn.Model(inputs=x, outputs=y)

Calling a layer on a symbolic tensor (one that comes from an Input) records a node (the layer
and the symbolic tensors it takes) instead of computing; the shapes are found by running the
layer on a zero sample of batch 1 (which also builds lazily sized layers, as Keras builds them
when the graph is made). Model collects the nodes between its inputs and outputs into a native
graph (csrc/nn/graph.h): the forward pass, and for a model of one input and one output the whole
fit, run in C++. A model of several inputs or outputs trains through the loop of
aimass/nn/multi_io.py (forward, loss and step native, the loop over batches in Python).
"""
from __future__ import annotations

import itertools
import re
from typing import Any, Sequence

import numpy as np

from .. import _core
from .._core import Tensor
from .._core import nn as _nn
from .module import Module

_node_ids = itertools.count()


class SymbolicTensor:
    """A placeholder in a functional graph: its shape ((None, ...): the batch is not fixed), its
    dtype, and the node that makes it. Layers called on it return SymbolicTensors."""

    def __init__(self, node: "_Node", sample: Tensor) -> None:
        self._node = node
        self._sample = sample  # a concrete (1, ...) value: shapes and dtypes of what follows
        self.shape = (None, *sample.shape[1:])
        self.dtype = sample.dtype

    @property
    def name(self) -> str:
        return self._node.name

    def __repr__(self) -> str:
        return f"<SymbolicTensor shape={self.shape} dtype={self.dtype} from {self._node.describe()}>"

    # Arithmetic on symbolic tensors would need a layer; say so rather than fail obscurely.
    def _no_ops(self, *_: Any) -> Any:
        raise TypeError("a symbolic tensor (from am.nn.Input) takes layers, not operators: use am.nn.Add()([a, b]), "
                        "am.nn.Multiply(), am.nn.Subtract(), ...")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __matmul__ = __truediv__ = _no_ops


class _Node:
    """One call in a functional graph: `layer` (None for an Input) on `inputs`."""

    def __init__(self, layer: Module | None, inputs: list[SymbolicTensor], name: str) -> None:
        self.id = next(_node_ids)  # creation order, which is a topological order
        self.layer, self.inputs, self.name = layer, inputs, name

    def describe(self) -> str:
        return f"Input {self.name!r}" if self.layer is None else type(self.layer).__name__


def Input(shape: Sequence[int] | int, dtype: Any = "float32", name: str | None = None) -> SymbolicTensor:
    """A model input: ``shape`` is one sample's shape, without the batch (Keras's ``Input(shape=(28, 28))``).
    Integer inputs (token ids for an Embedding) take ``dtype="int64"``."""
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if any(d is None for d in shape):
        raise ValueError(f"Input: every dimension of the sample shape must be known (a graph is sized from a sample), "
                         f"got {shape}")
    shape = tuple(int(d) for d in shape)
    if any(d <= 0 for d in shape):
        raise ValueError(f"Input: the sample shape must be positive sizes (no batch dimension), got {shape}")
    sample = _core.zeros((1, *shape), dtype=dtype)
    k = next(_input_ids)
    return SymbolicTensor(_Node(None, [], name or ("input_layer" if k == 0 else f"input_layer_{k}")), sample)


_input_ids = itertools.count()


def is_symbolic(x: Any) -> bool:
    if isinstance(x, SymbolicTensor):
        return True
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(isinstance(t, SymbolicTensor) for t in x)


def _sample_call(layer: Module, samples: list[Tensor]) -> Tensor:
    """The layer on concrete samples, in eval mode without gradients (no random numbers but the
    weights a lazily sized layer creates, in the order the graph is built)."""
    from ..autograd import no_grad

    training = layer.training
    layer.eval()
    try:
        with no_grad():
            if isinstance(layer, _nn._Merge):
                return layer._merge(samples)
            if isinstance(layer, Model) and len(samples) > 1:
                raise ValueError("a Model used as a layer takes one input")
            out = _plain_call(layer, samples[0])
    finally:
        layer.train(training)
    if isinstance(out, (list, tuple)):
        raise ValueError(f"{type(layer).__name__}: a layer in a functional graph must return one tensor")
    return out


def symbolic_call(layer: Module, x) -> SymbolicTensor:
    """Records layer(x) for symbolic x (one SymbolicTensor, or a list for a merge layer)."""
    inputs = list(x) if isinstance(x, (list, tuple)) else [x]
    merge = isinstance(layer, _nn._Merge)
    if merge != isinstance(x, (list, tuple)):
        raise TypeError(f"{type(layer).__name__}: " + ("a merge layer takes a list of tensors, e.g. Add()([a, b])"
                                                        if merge else "a layer takes one tensor, not a list"))
    try:
        out = _sample_call(layer, [t._sample for t in inputs])
    except (ValueError, TypeError, IndexError) as e:
        shapes = ", ".join(str(t.shape) for t in inputs)
        raise type(e)(f"{type(layer).__name__} cannot take an input of shape {shapes}: {e}") from e
    return SymbolicTensor(_Node(layer, inputs, type(layer).__name__), out)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower().replace("2_d", "2d").replace("1_d", "1d")


class Model(_nn._Graph):
    """A functional model: ``Model(inputs=x, outputs=y)`` (each one SymbolicTensor or a list).
    Called on a Tensor (one input) it returns a Tensor; on a list of Tensors (several inputs) a list
    of outputs, or one Tensor when it has one output. It compiles, fits, evaluates, predicts,
    saves and loads like a Sequential. Layers are named as Keras names them ("dense",
    "dense_1", "conv2d", ...), so parameters read "dense.weight"."""

    def __init__(self, inputs, outputs, name: str | None = None) -> None:
        ins = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        outs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        for what, ts in (("inputs", ins), ("outputs", outs)):
            if not ts or not all(isinstance(t, SymbolicTensor) for t in ts):
                raise TypeError(f"Model: {what} must be symbolic tensors (from am.nn.Input and layers called on it)")
        if any(t._node.layer is not None for t in ins):
            raise ValueError("Model: inputs must be am.nn.Input tensors")
        # Every node between the inputs and the outputs, in creation (= topological) order.
        seen: dict[int, _Node] = {t._node.id: t._node for t in ins}  # an unused input is still an input
        stack = [t._node for t in outs]
        while stack:
            node = stack.pop()
            if node.id in seen and node.layer is not None:
                continue
            seen[node.id] = node
            stack.extend(t._node for t in node.inputs)
        ordered = [seen[i] for i in sorted(seen)]
        input_ids = [t._node.id for t in ins]
        for node in ordered:
            if node.layer is None and node.id not in input_ids:
                raise ValueError(f"Model: the outputs depend on the input {node.name!r}, which is not among the "
                                 f"model's inputs (graph disconnected)")
        position = {node.id: i for i, node in enumerate(ordered)}
        layers: list[tuple[str, Module]] = []
        layer_index: dict[int, int] = {}  # id(layer) -> index, a layer shared by nodes is listed once
        counts: dict[str, int] = {}
        nodes = []
        for node in ordered:
            if node.layer is None:
                nodes.append((-1, []))
                continue
            key = id(node.layer)
            if key not in layer_index:
                base = _snake(type(node.layer).__name__)
                k = counts.get(base, 0)
                counts[base] = k + 1
                layer_index[key] = len(layers)
                layers.append((base if k == 0 else f"{base}_{k}", node.layer))
            nodes.append((layer_index[key], [position[t._node.id] for t in node.inputs]))
        self._init_graph(layers, nodes, [position[i] for i in input_ids], [position[t._node.id] for t in outs],
                         input_shapes=[t.shape[1:] for t in ins], input_dtypes=[str(t.dtype) for t in ins],
                         input_names=[t.name for t in ins], name=name)
        object.__setattr__(self, "inputs", ins)
        object.__setattr__(self, "outputs", outs)

    def _init_graph(self, layers, nodes, inputs, outputs, input_shapes, input_dtypes, input_names, name) -> None:
        _nn._Graph.__init__(self, layers, nodes, inputs, outputs)
        spec = {"layers": layers, "nodes": nodes, "inputs": inputs, "outputs": outputs,
                "input_shapes": [tuple(s) for s in input_shapes], "input_dtypes": list(input_dtypes),
                "input_names": list(input_names)}
        object.__setattr__(self, "_graph", spec)
        object.__setattr__(self, "name", name or "model")
        if len(inputs) == 1:
            object.__setattr__(self, "_input_shape", (None, *spec["input_shapes"][0]))

    @classmethod
    def _from_graph(cls, layers, nodes, inputs, outputs, input_shapes, input_dtypes, input_names, name=None) -> "Model":
        """Rebuilds a model from its recorded graph (serialization): no symbolic calls."""
        model = cls.__new__(cls)
        Model._init_graph(model, layers, nodes, inputs, outputs, input_shapes, input_dtypes, input_names, name)
        return model

    @property
    def layers(self) -> list[Module]:
        return [layer for _, layer in self._graph["layers"]]

    @property
    def num_inputs(self) -> int:
        return len(self._graph["inputs"])

    @property
    def num_outputs(self) -> int:
        return len(self._graph["outputs"])

    @property
    def output_names(self) -> list[str]:
        """The name of the layer making each output (Keras keys per-output losses by it)."""
        names = []
        for o in self._graph["outputs"]:
            layer = self._graph["nodes"][o][0]
            names.append(self._graph["input_names"][self._graph["inputs"].index(o)] if layer < 0
                         else self._graph["layers"][layer][0])
        return names

    def __call__(self, x, *args, **kwargs):
        if is_symbolic(x):
            if self.num_inputs != 1 or self.num_outputs != 1:
                raise ValueError("a Model used as a layer in another functional model must have one input and one output")
            return symbolic_call(self, x)
        if isinstance(x, (list, tuple)):
            out = self._run(list(x))
            return out[0] if len(out) == 1 else out
        if self.num_inputs != 1:
            raise ValueError(f"Model: this model has {self.num_inputs} inputs: call it with a list of {self.num_inputs} "
                             f"tensors")
        out = self._run([x])
        return out[0] if len(out) == 1 else out

    def graph_config(self, layer_config) -> dict:
        """The JSON-able graph: every layer as {"name": ..., **layer_config(layer)} (serialization.py
        passes its model_config), nodes as [layer index (-1: an input), [input node indices]]."""
        g = self._graph
        return {"name": self.name, "layers": [{"name": name, **layer_config(layer)} for name, layer in g["layers"]],
                "nodes": [[index, list(inputs)] for index, inputs in g["nodes"]],
                "inputs": list(g["inputs"]), "outputs": list(g["outputs"]),
                "input_shapes": [list(shape) for shape in g["input_shapes"]], "input_dtypes": list(g["input_dtypes"]),
                "input_names": list(g["input_names"])}

    @classmethod
    def from_graph_config(cls, config: dict, layer_from_config, path: str = "<config>") -> "Model":
        """Rebuilds graph_config's model; layer_from_config rebuilds each layer's entry. A corrupt
        description is a ValueError naming the file (the native graph checks the node indices)."""
        def bad(why: str) -> ValueError:
            return ValueError(f"am.load: {path!r} has a corrupt functional model: {why}")

        def ints(v) -> bool:
            return isinstance(v, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in v)

        if not isinstance(config, dict):
            raise bad("expected an object")
        layers_cfg, nodes_cfg = config.get("layers"), config.get("nodes")
        inputs, outputs = config.get("inputs"), config.get("outputs")
        if not isinstance(layers_cfg, list) or not all(isinstance(c, dict) and isinstance(c.get("name"), str)
                                                       for c in layers_cfg):
            raise bad("layers must be a list of named layer descriptions")
        if not isinstance(nodes_cfg, list) or not all(isinstance(n, list) and len(n) == 2 and isinstance(n[0], int)
                                                      and ints(n[1]) for n in nodes_cfg):
            raise bad("nodes must be a list of [layer index, [input node indices]]")
        if not ints(inputs) or not ints(outputs):
            raise bad("inputs and outputs must be lists of node indices")
        shapes, dtypes, names = config.get("input_shapes"), config.get("input_dtypes"), config.get("input_names")
        if (not isinstance(shapes, list) or len(shapes) != len(inputs) or not all(ints(sh) and all(d > 0 for d in sh)
                                                                                 for sh in shapes)):
            raise bad("input_shapes must give one list of positive sizes per input")
        if not isinstance(dtypes, list) or len(dtypes) != len(inputs) or not all(d in _INPUT_DTYPES for d in dtypes):
            raise bad(f"input_dtypes must name one of {sorted(_INPUT_DTYPES)} per input")
        if not isinstance(names, list) or len(names) != len(inputs) or not all(isinstance(n, str) for n in names):
            raise bad("input_names must give one name per input")
        name = config.get("name")
        layers = [(c["name"], layer_from_config({k: v for k, v in c.items() if k != "name"})) for c in layers_cfg]
        try:
            return cls._from_graph(layers, [(n[0], n[1]) for n in nodes_cfg], inputs, outputs, shapes, dtypes, names,
                                   name if isinstance(name, str) else None)
        except (ValueError, TypeError, IndexError) as e:
            raise bad(str(e)) from e


# The classes of this file that model files name (registered by nn/registry.py).
LAYER_NAMES = ("Model", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate")

_INPUT_DTYPES = {"float16", "bfloat16", "float32", "float64", "int8", "uint8", "int32", "int64", "bool"}


# ---------------------------------------------------------------------------------------------
# merge layers: Add()([a, b]) on tensors or symbolic tensors

class _ElementwiseMergeLayer(_nn._ElementwiseMerge):
    _op = ""

    def __init__(self) -> None:
        super().__init__(self._op)


class Add(_ElementwiseMergeLayer):
    """x0 + x1 + ... (inputs of one shape)."""
    _op = "add"


class Subtract(_ElementwiseMergeLayer):
    """x0 - x1 (exactly two inputs)."""
    _op = "subtract"


class Multiply(_ElementwiseMergeLayer):
    """x0 * x1 * ..., elementwise."""
    _op = "multiply"


class Average(_ElementwiseMergeLayer):
    """(x0 + x1 + ...) / n."""
    _op = "average"


class Maximum(_ElementwiseMergeLayer):
    _op = "maximum"


class Minimum(_ElementwiseMergeLayer):
    _op = "minimum"


Concatenate = _nn.Concatenate


def _merge_call(self, inputs):
    if is_symbolic(inputs):
        return symbolic_call(self, inputs)
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(f"{type(self).__name__}: a merge layer is called with a list of tensors, e.g. "
                        f"{type(self).__name__}()([a, b])")
    return self._merge(list(inputs))


_nn._Merge.__call__ = _merge_call

# Every other layer: a symbolic input records a node instead of computing.
_plain_call = Module.__call__
_shape_recorder: list[dict] = []  # summary() traces: id(module) -> output shape, while tracing


def _call(self, *args, **kwargs):
    if args and is_symbolic(args[0]):
        if len(args) != 1 or kwargs:
            raise TypeError(f"{type(self).__name__}: on a symbolic tensor, a layer takes one input and no options")
        return symbolic_call(self, args[0])
    if args and isinstance(args[0], Tensor) and "_input_shape" not in self.__dict__:
        object.__setattr__(self, "_input_shape", (None, *args[0].shape[1:]))  # for summary() and the saved signature
        object.__setattr__(self, "_input_dtype", str(args[0].dtype))
    out = _plain_call(self, *args, **kwargs)
    if _shape_recorder and isinstance(out, Tensor):
        _shape_recorder[-1][id(self)] = tuple(out.shape)
    return out


Module.__call__ = _call

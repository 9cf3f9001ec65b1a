"""``model.summary()``: Keras's table of layers, output shapes and parameter counts.

    Model: "sequential"
    _________________________________________________________________
     Layer (type)                Output Shape              Param #
    =================================================================
     dense (Dense)               (None, 64)                320
    ...
    =================================================================
    Total params: 970 (3.79 KB)
    Trainable params: 970 (3.79 KB)
    Non-trainable params: 0 (0.00 Byte)
    _________________________________________________________________

A Sequential lists its layers, a functional Model its nodes (with Keras's "Connected to"
column), a Python subclass its direct children. Output shapes come from running a zero sample of
batch 1 through the model in eval mode without gradients, once the model is built and its input
shape is known (an Input, input_shape=, build(shape), or a first call); otherwise they read "?".
Param # counts parameters and floating buffers (BatchNorm's running statistics); trainable ones
are the parameters that require grad, the rest are non-trainable, as Keras counts them.
"""
from __future__ import annotations

from typing import Callable

from .. import _core
from . import functional_api as fapi
from .module import Module, _is_python_forward


def _counts(module: Module) -> tuple[int, int, int]:
    """(trainable, non-trainable, bytes) over the module's parameters and floating buffers."""
    trainable = frozen = nbytes = 0
    for t in module.parameters():
        if t.requires_grad:
            trainable += t.size
        else:
            frozen += t.size
        nbytes += t.size * t.itemsize
    for t in module.buffers():
        if t.dtype.is_floating_point:
            frozen += t.size
            nbytes += t.size * t.itemsize
    return trainable, frozen, nbytes


def _size(nbytes: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if nbytes >= scale:
            return f"{nbytes / scale:.2f} {unit}"
    return f"{nbytes:.2f} Byte"


def _shape(shape) -> str:
    return "?" if shape is None else str((None, *shape[1:]))


def _names(layers: list[Module]) -> list[str]:
    counts: dict[str, int] = {}
    out = []
    for layer in layers:
        base = fapi._snake(type(layer).__name__)
        k = counts.get(base, 0)
        counts[base] = k + 1
        out.append(base if k == 0 else f"{base}_{k}")
    return out


class _Trace:
    """Records the output shape of every module called through Python while active."""

    def __init__(self) -> None:
        self.shapes: dict[int, tuple] = {}

    def __enter__(self):
        fapi._shape_recorder.append(self.shapes)
        return self

    def __exit__(self, *exc) -> None:
        fapi._shape_recorder.remove(self.shapes)


def _sample(shape, dtype="float32"):
    return _core.zeros((1, *[int(d) for d in shape[1:]]), dtype=dtype)


def _traceable(model: Module) -> bool:
    """Every native layer has its weights (a Python subclass's own module has none to build)."""
    return all(m.built for m in model.modules() if not _is_python_forward(m))


def _sequential_rows(model) -> list[tuple]:
    layers = list(model)
    shapes: list = [None] * len(layers)
    input_shape = model.__dict__.get("_input_shape")
    if input_shape is not None and _traceable(model):
        def trace():
            y = _sample(input_shape)
            for i, layer in enumerate(layers):
                y = layer(y)
                shapes[i] = tuple(y.shape)
        _eval_run(model, trace)
    return [(f"{name} ({type(l).__name__})", _shape(s), _counts(l), None) for name, l, s in
            zip(_names(layers), layers, shapes)]


def _graph_rows(model) -> list[tuple]:
    g = model._graph
    nodes = g["nodes"]
    shapes: list = [None] * len(nodes)
    if _traceable(model):
        def trace():
            values: list = [None] * len(nodes)
            for k, i in enumerate(g["inputs"]):
                values[i] = _sample((None, *g["input_shapes"][k]), g["input_dtypes"][k])
            for i, (layer_index, inputs) in enumerate(nodes):
                if layer_index >= 0:
                    layer = g["layers"][layer_index][1]
                    args = [values[j] for j in inputs]
                    values[i] = layer._merge(args) if isinstance(layer, _core.nn._Merge) else layer(args[0])
                shapes[i] = tuple(values[i].shape)
        _eval_run(model, trace)

    def node_name(i: int) -> str:
        layer_index = nodes[i][0]
        return g["input_names"][g["inputs"].index(i)] if layer_index < 0 else g["layers"][layer_index][0]

    rows = []
    for i, (layer_index, inputs) in enumerate(nodes):
        if layer_index < 0:
            rows.append((f"{node_name(i)} (InputLayer)", _shape(shapes[i] or (None, *g["input_shapes"][g["inputs"].index(i)])),
                         (0, 0, 0), []))
        else:
            name, layer = g["layers"][layer_index]
            rows.append((f"{name} ({type(layer).__name__})", _shape(shapes[i]), _counts(layer),
                         [node_name(j) for j in inputs]))
    return rows


def _subclass_rows(model) -> list[tuple]:
    children = list(model.named_children())
    shapes: dict[int, tuple] = {}
    input_shape = model.__dict__.get("_input_shape")
    if input_shape is not None and _traceable(model):
        with _Trace() as t:
            _eval_run(model, lambda: model(_sample(input_shape)))
        shapes = t.shapes
    return [(f"{name} ({type(c).__name__})", _shape(shapes.get(id(c))), _counts(c), None) for name, c in children]


def _eval_run(model: Module, fn) -> None:
    """fn() in eval mode without gradients; a model that cannot take the zero sample keeps "?" shapes."""
    from ..autograd import no_grad

    training = model.training
    model.eval()
    try:
        with no_grad():
            fn()
    except (ValueError, TypeError, IndexError, RuntimeError):
        pass
    finally:
        model.train(training)


def summary_text(model: Module, line_length: int | None = None) -> str:
    functional = isinstance(model, fapi.Model)
    if functional:
        rows, title = _graph_rows(model), model.name
    elif isinstance(model, _core.nn.Sequential) and not _is_python_forward(model):
        rows, title = _sequential_rows(model), "sequential"
    else:
        rows, title = _subclass_rows(model), fapi._snake(type(model).__name__)
    line_length = line_length or (98 if functional else 65)
    fractions = [0.33, 0.55, 0.67, 1.0] if functional else [0.45, 0.85, 1.0]
    stops = [int(line_length * f) for f in fractions]
    headers = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if functional else [])

    def line(fields: list[str]) -> str:
        text = ""
        for field, stop in zip(fields, stops):
            text = (text + " " + field)[:stop - 1] if field else text
            text = text.ljust(stop)
        return text.rstrip()

    out = [f'Model: "{title}"', "_" * line_length, line(headers), "=" * line_length]
    for i, (name, shape, (trainable, frozen, _), connected) in enumerate(rows):
        links = connected or [""]
        out.append(line([name, shape, str(trainable + frozen)] + ([links[0]] if functional else [])))
        for extra in links[1:]:
            out.append(line(["", "", "", extra]))
        out.append("" if i + 1 < len(rows) else "=" * line_length)
    if not rows:
        out.append("=" * line_length)
    trainable, frozen, nbytes = _counts(model)
    trainable_bytes = sum(t.size * t.itemsize for t in model.parameters() if t.requires_grad)
    out += [f"Total params: {trainable + frozen:,} ({_size(nbytes)})",
            f"Trainable params: {trainable:,} ({_size(trainable_bytes)})",
            f"Non-trainable params: {frozen:,} ({_size(nbytes - trainable_bytes)})",
            "_" * line_length]
    return "\n".join(out)


def summary(self: Module, line_length: int | None = None, print_fn: Callable[[str], object] | None = None,
            return_string: bool = False) -> str | None:
    """Prints Keras's summary table (print_fn: called with each line instead of print), or with
    return_string=True returns it without printing."""
    text = summary_text(self, line_length)
    if return_string:
        return text
    for text_line in text.split("\n"):
        (print_fn or print)(text_line)
    return None


Module.summary = summary

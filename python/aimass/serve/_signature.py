"""What a served model takes and gives: the names, v2 datatypes and shapes of its tensors.

Read from the model file when the model's config.json declares none (Triton's auto-complete):

- a functional model (am.nn.Model(inputs, outputs)) names its inputs and outputs and records their
  per-sample shapes and dtypes in its architecture;
- any other model records the shape and dtype of the input it was first called on (saved as the
  file's input signature); its input is named "input";
- output shapes are found by running the model once on one row of zeros; a lone output is
  named "output", several "output_0", "output_1", ...;
- a k-NN version (index.knn, optionally fed by an embedding model.safetensors) takes "queries"
  (FP32 [-1, d]) or the embedding model's input, and gives "distances" (FP32 [-1, k]) and
  "ids" (INT64 [-1, k]).

A config.json's input / output entries rename these and are checked against them (count,
datatype, and every dimension the model fixes). Shapes carry -1 for the batch dimension first.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._config import ModelConfig, TensorConfig
from ._errors import ServeError
from ._protocol import v2_datatype


@dataclass(frozen=True)
class TensorSpec:
    name: str
    datatype: str            # v2 name: "FP32"
    shape: tuple[int, ...]   # (-1, 64): -1 for the batch dimension and for any free dimension

    def metadata(self) -> dict:
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}


@dataclass(frozen=True)
class Signature:
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]


def _v2(dtype) -> str:
    return v2_datatype(np.dtype(str(dtype)) if str(dtype) != "bfloat16" else _bfloat16())


def _bfloat16():
    import ml_dtypes

    return np.dtype(ml_dtypes.bfloat16)


def _model_inputs(model, where: str) -> list[tuple[str, tuple[int, ...], str]]:
    """(name, per-sample shape, aimass dtype name) of each input."""
    graph = model.__dict__.get("_graph")
    if graph is not None:
        return [(str(n), tuple(int(d) for d in s), str(t))
                for n, s, t in zip(graph["input_names"], graph["input_shapes"], graph["input_dtypes"])]
    shape = model.__dict__.get("_input_shape")
    if shape is not None and all(d is not None for d in shape[1:]):
        return [("input", tuple(int(d) for d in shape[1:]), str(model.__dict__.get("_input_dtype", "float32")))]
    raise ServeError(400, f"{where}: the model file does not record its input's shape (saved before it was "
                          "ever called); call the model once before saving, or declare its input in config.json "
                          '("input": [{"name": "input", "data_type": "TYPE_FP32", "dims": [64]}])')


def _probe_outputs(model, inputs, where: str) -> list[tuple[int, ...]]:
    """Per-sample output shapes, from one run on a row of zeros."""
    from .. import no_grad, zeros

    xs = [zeros((1, *shape), dtype=dtype) for _, shape, dtype in inputs]
    try:
        with no_grad():
            out = model(xs) if "_graph" in model.__dict__ else model(xs[0])
    except (ValueError, TypeError, RuntimeError, IndexError) as e:
        raise ServeError(400, f"{where}: the model does not run on one row of its recorded input shape: {e}") from None
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    return [(tuple(int(d) for d in o.shape[1:]), str(o.dtype)) for o in outs]


def model_signature(model, where: str) -> Signature:
    """The signature of an am.nn model (in eval mode; the caller puts it there)."""
    inputs = _model_inputs(model, where)
    outputs = _probe_outputs(model, inputs, where)
    graph = model.__dict__.get("_graph")
    if graph is not None and len(model.output_names) == len(outputs):
        names = [str(n) for n in model.output_names]
    else:
        names = ["output"] if len(outputs) == 1 else [f"output_{i}" for i in range(len(outputs))]
    return Signature(tuple(TensorSpec(n, _v2(t), (-1, *s)) for n, s, t in inputs),
                     tuple(TensorSpec(n, _v2(t), (-1, *s)) for n, (s, t) in zip(names, outputs)))


def knn_signature(index, embedder, k: int, where: str) -> Signature:
    """A k-NN version: queries (or the embedding model's input) in, distances and ids out."""
    if embedder is not None:
        inputs = model_signature(embedder, where).inputs
    else:
        inputs = (TensorSpec("queries", "FP32", (-1, int(index.d))),)
    return Signature(inputs, (TensorSpec("distances", "FP32", (-1, k)), TensorSpec("ids", "INT64", (-1, k))))


def _apply(found: tuple[TensorSpec, ...], declared: list[TensorConfig], kind: str, where: str) -> tuple[TensorSpec, ...]:
    if not declared:
        return found
    if len(declared) != len(found):
        raise ServeError(400, f"{where}: config.json declares {len(declared)} {kind}(s) but the model has "
                              f"{len(found)} ({', '.join(t.name for t in found)})")
    out = []
    for spec, decl in zip(found, declared):
        datatype, shape = spec.datatype, spec.shape
        if decl.datatype is not None and decl.datatype != spec.datatype:
            raise ServeError(400, f"{where}: config.json gives {kind} {decl.name!r} datatype {decl.datatype}, "
                                  f"but the model's is {spec.datatype}")
        if decl.dims is not None:
            dims = tuple(decl.dims)
            fixed = [(a, b) for a, b in zip(dims[1:], spec.shape[1:]) if a != -1 and b != -1]
            if len(dims) != len(spec.shape) or any(a != b for a, b in fixed):
                raise ServeError(400, f"{where}: config.json gives {kind} {decl.name!r} dims {list(dims)}, but the "
                                      f"model's shape is {list(spec.shape)}")
            shape = (-1, *(b if a == -1 else a for a, b in zip(dims[1:], spec.shape[1:])))
        out.append(TensorSpec(decl.name, datatype, shape))
    return tuple(out)


def resolve(found: Signature, config: ModelConfig, where: str) -> Signature:
    """The model's signature renamed and narrowed by its config.json."""
    return Signature(_apply(found.inputs, config.inputs, "input", where),
                     _apply(found.outputs, config.outputs, "output", where))


def check_inputs(signature: Signature, inputs, max_rows: int, model: str) -> int:
    """Checks a request's inputs against the signature (names, datatypes and shapes as Triton:
    the datatype must match exactly) and returns the batch's row count; 400 naming the input."""
    by_name = {i.name: i for i in inputs}
    if len(by_name) != len(inputs):
        raise ServeError(400, f"model {model!r}: an input is given twice")
    unknown = [n for n in by_name if n not in {s.name for s in signature.inputs}]
    if unknown:
        raise ServeError(400, f"model {model!r} has no input {unknown[0]!r} (it takes "
                              f"{', '.join(s.name for s in signature.inputs)})")
    rows = None
    for spec in signature.inputs:
        x = by_name.get(spec.name)
        if x is None:
            raise ServeError(400, f"model {model!r}: input {spec.name!r} is missing")
        if x.datatype != spec.datatype:
            raise ServeError(400, f"model {model!r}: input {spec.name!r} has datatype {x.datatype}, expected "
                                  f"{spec.datatype}")
        shape = tuple(x.shape)
        if len(shape) != len(spec.shape) or any(e != -1 and e != d for e, d in zip(spec.shape[1:], shape[1:])):
            raise ServeError(400, f"model {model!r}: input {spec.name!r} has shape {list(shape)}, expected "
                                  f"{list(spec.shape)}")
        if rows is not None and shape[0] != rows:
            raise ServeError(400, f"model {model!r}: input {spec.name!r} has {shape[0]} rows, other inputs {rows}")
        rows = shape[0]
    if rows == 0:
        raise ServeError(400, f"model {model!r}: the request has no rows (batch dimension 0)")
    if max_rows > 0 and rows > max_rows:
        raise ServeError(400, f"model {model!r}: the request has {rows} rows, more than its max_batch_size "
                              f"{max_rows}")
    return rows

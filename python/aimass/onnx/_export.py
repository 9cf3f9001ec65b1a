"""am.onnx.export: the graph walk (Sequential in order, functional Models node by node, nested
models inlined), the model's inputs and outputs, and the atomic write. Each layer is turned into
ONNX nodes by its converter in _layers.py; the shapes a converter needs are taken by running the
layer on a zero sample (eval mode, this thread only, no gradients), as functional_api.py sizes a
graph."""
from __future__ import annotations

import importlib
import os
import tempfile
from typing import Sequence

import numpy as np

from .. import _core
from ..nn import functional_api
from ..nn.module import _is_python_forward
from ._builder import GraphBuilder
from ._layers import SUPPORTED, converter_for

_SAMPLE_BATCH = 2


def _import(name: str):
    try:
        return importlib.import_module(name)
    except ImportError as e:
        raise ImportError(f"am.onnx needs the {name!r} package: pip install onnx onnxruntime") from e


def _unsupported(layer, path: str, why: str = "") -> NotImplementedError:
    return NotImplementedError(f"am.onnx.export: {path} ({type(layer).__name__}) has no ONNX export{why}; the "
                               f"supported layers are {', '.join(SUPPORTED)}")


def _run(layer, samples: list):
    if isinstance(layer, _core.nn._Merge):
        return layer._merge(samples)
    return layer._call(samples[0])


def _walk(b: GraphBuilder, module, xs: list[str], samples: list, path: str) -> tuple[list[str], list]:
    """Adds module applied to xs (ONNX names; samples: their values on the zero sample); returns
    the outputs' names and sample values."""
    if _is_python_forward(module):
        raise _unsupported(module, path, " (a Module with a Python forward: only native layers can be exported)")
    if isinstance(module, functional_api.Model):
        g = module._graph
        if len(xs) != len(g["inputs"]):
            raise ValueError(f"am.onnx.export: {path} takes {len(g['inputs'])} inputs, given {len(xs)}")
        values: dict[int, tuple[str, object]] = dict(zip(g["inputs"], zip(xs, samples)))
        for i, (index, inputs) in enumerate(g["nodes"]):
            if index < 0:
                continue
            layer_name, layer = g["layers"][index]
            ins = [values[j] for j in inputs]
            names, outs = _walk(b, layer, [n for n, _ in ins], [s for _, s in ins], f"{path}.layers[{index}]")
            values[i] = (names[0], outs[0])
        return [values[o][0] for o in g["outputs"]], [values[o][1] for o in g["outputs"]]
    if isinstance(module, _core.nn.Sequential):
        for i, layer in enumerate(module):
            xs, samples = _walk(b, layer, xs, samples, f"{path}.layers[{i}]")
        return xs, samples
    convert = converter_for(module)
    if convert is None:
        raise _unsupported(module, path)
    out = _run(module, samples)
    name = convert(b, module, xs, [tuple(s.shape) for s in samples], tuple(out.shape), path)
    return [name], [out]


# ---------------------------------------------------------------------------------------------
# the model's inputs

def _input_specs(model, input_shape) -> list[dict]:
    """[{"name", "shape" (per sample), "dtype"}] from the model, else from input_shape=."""
    given = None
    if input_shape is not None:
        multi = len(input_shape) > 0 and all(isinstance(s, (list, tuple)) for s in input_shape)
        given = [tuple(int(d) for d in s) for s in (input_shape if multi else [input_shape])]
    if isinstance(model, functional_api.Model):
        g = model._graph
        specs = [{"name": n, "shape": tuple(s), "dtype": d}
                 for n, s, d in zip(g["input_names"], g["input_shapes"], g["input_dtypes"])]
    else:
        recorded = model.__dict__.get("_input_shape")
        dtype = model.__dict__.get("_input_dtype")
        if recorded is None and model._build_input is not None:
            recorded, dtype = (None, *model._build_input[0]), str(model._build_input[1])
        if recorded is None and given is None:
            raise ValueError("am.onnx.export: the model's input shape is unknown (it was never called or built): pass "
                             "input_shape=, one sample's shape without the batch, e.g. input_shape=(1, 8, 8)")
        shape = tuple(recorded[1:]) if recorded is not None else given[0]
        if dtype is None:
            dtype = "int64" if _first_layer_is_embedding(model) else "float32"
        specs = [{"name": "input", "shape": shape, "dtype": dtype}]
    if given is not None and [s["shape"] for s in specs] != given:
        raise ValueError(f"am.onnx.export: input_shape={input_shape} does not match the model's recorded input shape "
                         f"{[s['shape'] for s in specs] if len(specs) > 1 else specs[0]['shape']}")
    high = min((m.get_config()["num_embeddings"] for m in model.modules() if isinstance(m, _core.nn.Embedding)),
               default=None)
    for s in specs:
        s["dtype"] = str(s["dtype"]).replace("aimass.", "")
        s["high"] = high
    return specs


def _first_layer_is_embedding(model) -> bool:
    while isinstance(model, _core.nn.Sequential) and len(model):
        model = model[0]
    return isinstance(model, _core.nn.Embedding)


def _names(given: Sequence[str] | None, default: list[str], what: str) -> list[str]:
    if given is None:
        names, seen = [], set()
        for n in default:
            k, name = 0, n
            while name in seen:
                k += 1
                name = f"{n}_{k}"
            seen.add(name)
            names.append(name)
        return names
    given = [given] if isinstance(given, str) else list(given)
    if len(given) != len(default) or len(set(given)) != len(given):
        raise ValueError(f"am.onnx.export: {what} must give {len(default)} distinct names, got {given}")
    return given


# ---------------------------------------------------------------------------------------------

def export(model, path: str | os.PathLike, input_shape=None, opset: int = 17, check: bool = True,
           dynamic_batch: bool = True, input_names: Sequence[str] | None = None,
           output_names: Sequence[str] | None = None):
    """Writes ``model`` (an aimass float32 model: Sequential, functional Model or a single layer,
    or one quantised by am.quant: QuantizedDense, QuantizedConv2D, WeightOnlyDense; see
    aimass.onnx for how each is written) as an ONNX file at ``path`` and returns the
    onnx.ModelProto. opset: 13 to 21; weight-only int4 / int8 weights stay packed only at 21.

    input_shape: one sample's shape without the batch, e.g. (1, 8, 8) (a list of them for several
    inputs); needed only when the model has not recorded one (a functional Model always has; a
    Sequential records it when first called or built). dynamic_batch: the batch axis is the
    symbolic "batch" (else 1). input_names / output_names default to the functional model's
    input and output-layer names, else "input" / "output". check: onnx.checker, then ONNX Runtime
    on random inputs compared with model.predict (rtol = atol = 1e-4; with a dynamic
    QuantizedDense atol is 5% of the largest output, ONNX quantising per tensor); a mismatch raises
    RuntimeError naming the output and the largest error, and nothing is written.

    Exported in eval semantics whatever the model's mode: Dropout is the identity and BatchNorm
    uses its running statistics. The model is not changed (its weights and train / eval mode
    stay as they are). An unsupported layer raises NotImplementedError naming its path in the
    model ("model.layers[3] (MyLayer)")."""
    onnx = _import("onnx")
    if check:
        _import("onnxruntime")
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"am.onnx.export: the folder {folder!r} (of {path!r}) does not exist")
    if not 13 <= opset <= 21:
        raise ValueError(f"am.onnx.export: opset must be between 13 and 21, got {opset}")
    for name, t in model.named_parameters():
        if str(t.dtype) not in ("float32", "aimass.float32"):
            raise NotImplementedError(f"am.onnx.export: exports float32 models; parameter {name!r} is {t.dtype}")
    for name, t in model.named_buffers():  # am.quant's layers keep their weights in buffers
        dtype = str(t.dtype).replace("aimass.", "")
        if dtype in ("float16", "bfloat16", "float64") and not name.endswith("weight_scales"):
            raise NotImplementedError(f"am.onnx.export: exports float32 models; buffer {name!r} is {dtype}")

    specs = _input_specs(model, input_shape)
    in_names = _names(input_names, [s["name"] for s in specs], "input_names")
    b = GraphBuilder(onnx, opset)
    for n in in_names:
        b.reserve(n)
    device = next((t.device for t in model.parameters()), None)  # the samples run where the model is
    samples = [_core.zeros((_SAMPLE_BATCH, *s["shape"]), dtype=s["dtype"], device=device) for s in specs]
    from ..autograd import no_grad

    with no_grad(), _core.nn._mode(False):  # eval mode for this thread only: the model's own mode is kept
        outs, out_samples = _walk(b, model, list(in_names), samples, "model")
    default_out = model.output_names if isinstance(model, functional_api.Model) else \
        ["output" if len(outs) == 1 else f"output_{i}" for i in range(len(outs))]
    out_names = _names(output_names, default_out, "output_names")
    for n in out_names:
        if n in in_names:
            raise ValueError(f"am.onnx.export: the output name {n!r} is also an input name")
        b.reserve(n)
    for internal, n in zip(outs, out_names):
        b.nodes.append(onnx.helper.make_node("Identity", [internal], [n], name=b.name(f"{n}.Identity")))

    batch = "batch" if dynamic_batch else 1

    def info(name: str, dtype, shape) -> object:
        elem = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(str(dtype).replace("aimass.", "")))
        return onnx.helper.make_tensor_value_info(name, elem, [batch, *shape])

    graph = onnx.helper.make_graph(b.nodes, getattr(model, "name", None) or "aimass_model",
                                   [info(n, s["dtype"], s["shape"]) for n, s in zip(in_names, specs)],
                                   [info(n, o.dtype, o.shape[1:]) for n, o in zip(out_names, out_samples)],
                                   initializer=b.initializers)
    from .. import __version__

    proto = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", opset)],
                                   producer_name="aimass", producer_version=__version__)
    proto.ir_version = min(proto.ir_version, 10)  # what ONNX Runtime releases of 2024 on read
    if check:
        from ._check import check as check_against_model

        check_against_model(proto, model, specs, in_names, out_names, batch=3 if dynamic_batch else 1)
    _atomic_write(proto.SerializeToString(), path)
    return proto


def _atomic_write(data: bytes, path: str) -> None:
    """All of the file or (on any failure) nothing, as aimass/_files.py atomic_save writes safetensors."""
    from .._files import _umask

    fd, tmp = tempfile.mkstemp(prefix=".aimass-", suffix=".onnx.tmp", dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), 0o666 & ~_umask())
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise

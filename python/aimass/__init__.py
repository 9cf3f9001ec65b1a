"""aimass: train, tune, compress, search and serve ML models from one package.

A C++/CUDA core (``aimass._core``) with a thin Python API::

    import aimass as am
    x = am.randn((128, 64))
    w = am.tensor(np.ones((64, 10), np.float32))
    y = (x @ w).relu().sum(axis=1)
"""
from __future__ import annotations

from . import _core
from ._core import (  # noqa: F401  (re-exported API)
    Device,
    DType,
    Tensor,
    abs,
    add,
    all,
    any,
    arange,
    argmax,
    argmin,
    asarray,
    broadcast_shapes,
    broadcast_to,
    cat,
    ceil,
    clamp,
    clip,
    concatenate,
    contiguous,
    cos,
    cross_entropy,
    divide,
    empty,
    equal,
    exp,
    expand_dims,
    flatten,
    floor,
    from_dlpack,
    from_numpy,
    full,
    get_cpu_isa,
    get_num_threads,
    greater,
    greater_equal,
    less,
    less_equal,
    linspace,
    log,
    log_softmax,
    logical_and,
    logical_not,
    logical_or,
    manual_seed,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    multiply,
    neg,
    negative,
    normal,
    not_equal,
    ones,
    permute,
    pow,
    power,
    prod,
    promote_types,
    rand,
    randint,
    randn,
    reciprocal,
    relu,
    remainder,
    reshape,
    round,
    rsqrt,
    set_cpu_isa,
    set_num_threads,
    sigmoid,
    sign,
    sin,
    softmax,
    sqrt,
    square,
    squeeze,
    stack,
    subtract,
    sum,
    swapaxes,
    tanh,
    tensor,
    transpose,
    uniform,
    unsqueeze,
    var,
    where,
    zeros,
)
from . import _tensor  # noqa: F401  (adds the Python-side Tensor methods)
from . import autograd, cuda, data, hpo, knn, metrics, nn, optim, quant
from .autograd import enable_grad, is_grad_enabled, no_grad
from .amp import autocast, is_autocast_enabled
from ._creation import empty_like, full_like, ones_like, rand_like, randint_like, randn_like, zeros_like
from ._info import info
from .nn.serialization import load

__version__ = _core.version()
_core.get_cpu_isa()  # resolves AIMASS_CPU_ISA now: a bad value fails the import, not the first op

bool_ = DType.bool
uint8 = DType.uint8
int8 = DType.int8
int32 = DType.int32
int64 = DType.int64
float16 = DType.float16
half = DType.float16
bfloat16 = DType.bfloat16
float32 = DType.float32
float64 = DType.float64
double = DType.float64


def __getattr__(name: str):
    # am.registry, am.serve and am.onnx are imported on first use: they bring SQLAlchemy, uvicorn,
    # grpc and onnx, which `import aimass` should not pay for.
    if name in ("registry", "serve", "onnx"):
        import importlib
        return importlib.import_module("." + name, __name__)
    raise AttributeError(f"module 'aimass' has no attribute {name!r}")


def device(spec: str) -> Device:
    """``am.device("cuda:1")``: a Device from its name."""
    return Device(spec)

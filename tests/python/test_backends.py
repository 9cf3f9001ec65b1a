"""The backend-consistency harness: every op runs on every available device and is compared
with its CPU result.

Each entry of OPS names an op, the NumPy inputs it takes (made from a seeded generator) and a
lambda over aimass tensors. The reference is the op on contiguous CPU tensors. On "cuda" the
inputs are moved to the GPU and the result comes back with .cpu(); on "cpu" the inputs are
passed as non-contiguous views, so the strided kernels are checked against the contiguous
(SIMD) ones. CUDA cases are marked `cuda` and skip, saying why, where there is no GPU.
"""
from __future__ import annotations

import zlib

import numpy as np
import pytest

import aimass as am
import aimass.nn.functional as F
from conftest import NP_BF16, RED_TOL, as_f64, make_tensor, to_np


def _f(*shape, lo=-3.0, hi=3.0, dt=np.float32):
    return lambda rng: rng.uniform(lo, hi, shape).astype(dt)


def _i(*shape, lo=-20, hi=20, dt=np.int32):
    return lambda rng: rng.integers(lo, hi, shape).astype(dt)


def _b(*shape):
    return lambda rng: rng.random(shape) < 0.5


def _bf16(*shape):
    return lambda rng: rng.uniform(-3, 3, shape).astype(NP_BF16)


POS = dict(lo=0.1, hi=5.0)
S = (37, 29)  # odd sizes: vector bodies and scalar tails

# (name, [input makers], op over tensors)
OPS = [
    # unary
    *[(f"unary-{n}", [_f(*S, **(POS if n in ("log", "sqrt", "rsqrt", "reciprocal") else {}))],
       (lambda n: lambda x: getattr(am, n)(x))(n))
      for n in ["neg", "abs", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "sign", "square", "reciprocal",
                "rsqrt", "sin", "cos", "floor", "ceil", "round"]],
    ("unary-exp-f64", [_f(*S, dt=np.float64)], am.exp),
    ("unary-tanh-f16", [_f(*S, dt=np.float16)], am.tanh),
    ("unary-sigmoid-bf16", [_bf16(*S)], am.sigmoid),
    ("unary-abs-int", [_i(*S)], am.abs),
    ("unary-exp-int", [_i(*S, lo=-5, hi=5)], am.exp),
    ("logical_not", [_b(*S)], am.logical_not),
    # binary
    ("add", [_f(*S), _f(*S)], lambda a, b: a + b),
    ("sub-broadcast", [_f(*S), _f(S[1])], lambda a, b: a - b),
    ("mul-outer", [_f(S[0], 1), _f(1, S[1])], lambda a, b: a * b),
    ("div", [_f(*S), _f(*S, **POS)], lambda a, b: a / b),
    ("div-int", [_i(*S), _i(*S, lo=1, hi=9)], lambda a, b: a / b),
    ("pow", [_f(*S, **POS), _f(*S, lo=-2, hi=2)], lambda a, b: a ** b),
    ("pow-int", [_i(*S, lo=-4, hi=4), _i(*S, lo=0, hi=5)], lambda a, b: a ** b),
    ("remainder", [_f(*S), _f(*S, **POS)], lambda a, b: a % b),
    ("remainder-int", [_i(*S), _i(*S, lo=1, hi=7)], lambda a, b: a % b),
    ("maximum", [_f(*S), _f(*S)], am.maximum),
    ("minimum-int8", [_i(*S, dt=np.int8), _i(*S, dt=np.int8)], am.minimum),
    ("add-uint8-wrap", [_i(*S, lo=0, hi=255, dt=np.uint8), _i(*S, lo=0, hi=255, dt=np.uint8)], lambda a, b: a + b),
    ("add-mixed-dtypes", [_i(*S, dt=np.int64), _f(*S, dt=np.float16)], lambda a, b: a + b),
    ("mul-f16", [_f(*S, dt=np.float16), _f(*S, dt=np.float16)], lambda a, b: a * b),
    ("add-bf16", [_bf16(*S), _bf16(*S)], lambda a, b: a + b),
    ("mul-f64", [_f(*S, dt=np.float64), _f(*S, dt=np.float64)], lambda a, b: a * b),
    ("scalar-ops", [_f(*S)], lambda a: (2.5 - a) * 3 + a / 4 - 1),
    ("less", [_f(*S), _f(*S)], lambda a, b: a < b),
    ("equal-int", [_i(*S, lo=0, hi=3), _i(*S, lo=0, hi=3)], lambda a, b: a == b),
    ("greater_equal-broadcast", [_f(*S), _f(1)], lambda a, b: a >= b),
    ("and-or", [_b(*S), _b(*S)], lambda a, b: (a & b) | ~a),
    ("where", [_b(*S), _f(*S), _f(S[1])], am.where),
    ("where-scalar", [_b(*S), _f(*S)], lambda c, x: am.where(c, x, 0.0)),
    ("clamp", [_f(*S)], lambda x: am.clamp(x, -1.0, 0.5)),
    ("clamp-int", [_i(*S)], lambda x: am.clamp(x, -5, 5)),
    # reductions
    *[(f"reduce-{n}-axis{ax}", [_f(*S, **(dict(lo=0.9, hi=1.1) if n == "prod" else {}))],
       (lambda n, ax: lambda x: getattr(am, n)(x, axis=ax))(n, ax))
      for n in ["sum", "mean", "max", "min", "prod", "argmax", "argmin", "var", "any", "all"]
      for ax in (None, 0, 1)],
    ("reduce-sum-keepdims-3d", [_f(5, 6, 7)], lambda x: x.sum(axis=(0, 2), keepdims=True)),
    ("reduce-var-ddof1", [_f(*S)], lambda x: am.var(x, axis=1, ddof=1)),
    ("reduce-sum-int", [_i(*S)], lambda x: x.sum(axis=0)),
    ("reduce-sum-bool", [_b(*S)], lambda x: x.sum()),
    ("reduce-mean-f16", [_f(*S, dt=np.float16)], lambda x: x.mean(axis=1)),
    ("reduce-max-bf16", [_bf16(*S)], lambda x: x.max(axis=0)),
    ("reduce-sum-large", [_f(1 << 16, 3)], lambda x: x.sum(axis=0)),
    # matmul
    ("matmul", [_f(33, 47), _f(47, 21)], am.matmul),
    ("matmul-batched-broadcast", [_f(3, 1, 9, 8), _f(4, 8, 5)], lambda a, b: a @ b),
    ("matmul-vec", [_f(17), _f(17, 6)], lambda a, b: a @ b),
    ("matmul-f64", [_f(12, 10, dt=np.float64), _f(10, 9, dt=np.float64)], lambda a, b: a @ b),
    ("matmul-f16", [_f(12, 16, lo=-1, hi=1, dt=np.float16), _f(16, 9, lo=-1, hi=1, dt=np.float16)],
     lambda a, b: a @ b),
    ("matmul-int", [_i(6, 7, lo=-5, hi=5), _i(7, 4, lo=-5, hi=5)], lambda a, b: a @ b),
    ("matmul-transposed", [_f(20, 30), _f(25, 30)], lambda a, b: a @ b.T),
    # layout, casts, indexing
    ("reshape", [_f(*S)], lambda x: x.reshape(-1, S[0])),
    ("transpose-contiguous", [_f(4, 5, 6)], lambda x: x.permute(2, 0, 1).contiguous()),
    ("concatenate", [_f(3, 5), _f(4, 5)], lambda a, b: am.concatenate([a, b])),
    ("stack", [_f(3, 5), _f(3, 5)], lambda a, b: am.stack([a, b], axis=1)),
    ("broadcast_to-clone", [_f(1, 5)], lambda x: am.broadcast_to(x, (4, 5)).clone()),
    ("cast-f32-int32", [_f(*S, lo=-100, hi=100)], lambda x: x.to(am.int32)),
    ("cast-f32-f16", [_f(*S)], lambda x: x.to(am.float16)),
    ("cast-f32-bf16", [_f(*S)], lambda x: x.to(am.bfloat16)),
    ("cast-int-bool", [_i(*S, lo=-2, hi=2)], lambda x: x.to(am.bool_)),
    ("cast-f16-f64", [_f(*S, dt=np.float16)], lambda x: x.to(am.float64)),
    ("index-basic", [_f(6, 7, 8)], lambda x: x[1:5:2, ::-1, 3]),
    ("index-ints", [_f(6, 7, 8), _i(5, lo=0, hi=6, dt=np.int64)], lambda x, i: x[i, :, 2]),
    ("index-mask", [_f(6, 7), _b(6, 7)], lambda x, m: x[m]),
    ("setitem", [_f(6, 7), _f(7)], lambda x, v: _setitem(x, v)),
    ("setitem-ints", [_f(6, 7)], lambda x: _setitem_ints(x)),
    # convolution and pooling
    ("conv2d", [_f(2, 4, 9, 8), _f(6, 2, 3, 3), _f(6)],
     lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=(0, 1, 1, 0), dilation=(1, 2), groups=2)),
    ("conv2d-same-f64", [_f(2, 3, 7, 7, dt=np.float64), _f(4, 3, 4, 4, dt=np.float64)],
     lambda x, w: F.conv2d(x, w, padding="same")),
    ("conv2d-1x1", [_f(3, 5, 6, 4), _f(2, 5, 1, 1)], F.conv2d),
    ("conv1d", [_f(2, 3, 17), _f(4, 3, 5)], lambda x, w: F.conv1d(x, w, stride=2, padding=2)),
    ("max_pool2d", [_f(2, 3, 9, 8)], lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True)),
    ("avg_pool2d", [_f(2, 3, 9, 8)], lambda x: F.avg_pool2d(x, (3, 2), 2, 1, ceil_mode=True)),
    ("avg_pool2d-nopad-f64", [_f(2, 3, 7, 7, dt=np.float64)],
     lambda x: F.avg_pool2d(x, 2, 1, 1, count_include_pad=False)),
    ("max_pool2d-grad", [_f(2, 2, 6, 6)], lambda x: _grad(lambda t: F.max_pool2d(t, 2, 1), x)),
    ("avg_pool2d-grad", [_f(2, 2, 6, 6)], lambda x: _grad(lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True), x)),
    ("conv2d-grad-x", [_f(2, 4, 7, 6), _f(4, 2, 3, 3)],
     lambda x, w: _grad(lambda t: F.conv2d(t, w, padding=(1, 0), groups=2), x)),
    ("conv2d-grad-w", [_f(2, 4, 7, 6), _f(4, 2, 3, 3)],
     lambda x, w: _grad(lambda t: F.conv2d(x, t, stride=2, padding="same", groups=2), w)),
    # normalisation, dropout and activations (am.nn.functional)
    ("layer_norm", [_f(*S), _f(S[1]), _f(S[1])], lambda x, w, b: _F().layer_norm(x, S[1], w, b)),
    ("layer_norm-2d-f64", [_f(3, 5, 70, dt=np.float64)], lambda x: _F().layer_norm(x, (5, 70))),
    ("layer_norm-f16", [_f(*S, dt=np.float16)], lambda x: _F().layer_norm(x, S[1])),
    ("layer_norm-backward", [_f(*S), _f(S[1]), _f(S[1]), _f(*S)], lambda x, w, b, g: _grads(
        lambda x, w, b: _F().layer_norm(x, S[1], w, b), g, x, w, b)),
    ("batch_norm-train", [_f(6, 5, 9), _f(5), _f(5)], lambda x, w, b: _F().batch_norm(x, None, None, w, b, True)),
    ("batch_norm-2d", [_f(40, 7)], lambda x: _F().batch_norm(x, None, None, training=True)),
    ("batch_norm-eval", [_f(4, 3, 5), _f(3), _f(3, **POS)], lambda x, m, v: _F().batch_norm(x, m, v)),
    ("batch_norm-backward", [_f(6, 5, 9), _f(5), _f(5), _f(6, 5, 9)], lambda x, w, b, g: _grads(
        lambda x, w, b: _F().batch_norm(x, None, None, w, b, True), g, x, w, b)),
    ("dropout-seeded", [_f(*S)], lambda x: _seeded(lambda: _F().dropout(x, 0.3))),
    ("dropout-f16", [_f(*S, dt=np.float16)], lambda x: _seeded(lambda: _F().dropout(x, 0.6))),
    *[(f"activation-{n}", [_f(*S, lo=-6, hi=6)], (lambda n: lambda x: _activation(n, x))(n))
      for n in ["gelu", "gelu_tanh", "silu", "leaky_relu"]],
    ("activation-gelu-f64", [_f(*S, lo=-6, hi=6, dt=np.float64)], lambda x: _F().gelu(x)),
    *[(f"activation-{n}-backward", [_f(*S, lo=-6, hi=6), _f(*S)],
       (lambda n: lambda x, g: _grads(lambda x: _activation(n, x), g, x))(n))
      for n in ["gelu", "gelu_tanh", "silu", "leaky_relu"]],
    # linear and the losses (aimass.nn.functional)
    ("linear", [_f(33, 47), _f(21, 47), _f(21)], lambda x, w, b: F.linear(x, w, b)),
    ("linear-relu", [_f(33, 47), _f(21, 47), _f(21)], lambda x, w, b: F.linear(x, w, b, "relu")),
    ("linear-relu-f64", [_f(9, 16, dt=np.float64), _f(5, 16, dt=np.float64), _f(5, dt=np.float64)],
     lambda x, w, b: F.linear(x, w, b, "relu")),
    ("linear-3d-no-bias", [_f(2, 5, 8), _f(6, 8)], lambda x, w: F.linear(x, w)),
    ("linear-f16", [_f(12, 16, lo=-1, hi=1, dt=np.float16), _f(9, 16, lo=-1, hi=1, dt=np.float16)],
     lambda x, w: F.linear(x, w, activation="relu")),
    ("mse_loss", [_f(*S), _f(*S)], lambda x, t: F.mse_loss(x, t)),
    ("mse_loss-large", [_f(1 << 16, 3), _f(1 << 16, 3)], lambda x, t: F.mse_loss(x, t, reduction="sum")),
    ("l1_loss-none", [_f(*S), _f(*S)], lambda x, t: F.l1_loss(x, t, reduction="none")),
    ("huber_loss-sum", [_f(*S), _f(*S)], lambda x, t: F.huber_loss(x, t, delta=0.8, reduction="sum")),
    ("bce_with_logits", [_f(*S, lo=-20, hi=20), _f(*S, lo=0, hi=1)],
     lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction="none")),
    ("bce_with_logits-weights", [_f(*S), _f(*S, lo=0, hi=1), _f(S[0], 1, **POS), _f(S[1], **POS)],
     lambda x, t, w, pw: F.binary_cross_entropy_with_logits(x, t, weight=w, pos_weight=pw)),
    ("kl_div-batchmean", [_f(*S), _f(*S, lo=0, hi=1)], lambda x, t: F.kl_div(x, t, reduction="batchmean")),
    ("kl_div-log_target-f64", [_f(*S, dt=np.float64), _f(*S, dt=np.float64)],
     lambda x, t: F.kl_div(x, t, reduction="none", log_target=True)),
    ("distillation_loss", [_f(*S), _f(*S)], lambda s, t: F.distillation_loss(s, t, temperature=2.0)),
    ("distillation_loss-none-f64", [_f(4, 6, 9, dt=np.float64), _f(4, 6, 9, dt=np.float64)],
     lambda s, t: F.distillation_loss(s, t, temperature=0.5, reduction="none")),
    # data pipeline augmentation (aimass._core.data)
    ("data-crop_flip", [_f(5, 3, 9, 11)], lambda x: _core_data().crop_flip(x, _CROP_PARAMS, 3)),
    ("data-crop_flip-uint8", [_i(5, 3, 9, 11, lo=0, hi=255, dt=np.uint8)],
     lambda x: _core_data().crop_flip(x, _CROP_PARAMS, 3)),
    ("data-crop_flip-f16", [_f(5, 2, 4, 6, dt=np.float16)], lambda x: _core_data().crop_flip(x, _CROP_PARAMS, 3)),
    ("data-mixup", [_f(6, 37)], lambda x: _core_data().mixup(x, _MIX_PARTNER, _MIX_LAM)),
    ("data-mixup-f64", [_f(6, 3, 4, dt=np.float64)], lambda x: _core_data().mixup(x, _MIX_PARTNER, _MIX_LAM)),
    ("data-mixup-bf16", [_bf16(6, 7)], lambda x: _core_data().mixup(x, _MIX_PARTNER, _MIX_LAM)),
    # optimizers (fused steps, multi-tensor on CUDA): parameters after three steps; clipping
    *[(f"optim-{n}", [_f(*S), _f(*S)], (lambda n, kw: lambda p, g: _optim_steps(n, kw, p, g))(n, kw))
      for n, kw in [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
                    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.01)), ("AdamW", dict(lr=0.01)),
                    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)), ("Adagrad", dict(lr=0.1, lr_decay=0.1)),
                    ("Lion", dict(lr=0.01, weight_decay=0.1))]],
    ("optim-Adam-f64", [_f(*S, dt=np.float64), _f(*S, dt=np.float64)], lambda p, g: _optim_steps("Adam", {}, p, g)),
    ("optim-SGD-bf16-master", [_bf16(*S), _bf16(*S)], lambda p, g: _optim_steps("SGD", dict(lr=0.1, momentum=0.9), p, g)),
    ("optim-clip_grad_norm", [_f(*S), _f(S[1])], lambda g, h: _clip_grad_norm(g, h)),
    # creation
    ("full", [_f(*S)], lambda x: am.full_like(x, 2.5)),
    ("rand-seeded", [_f(*S)], lambda x: _seeded(lambda: am.rand_like(x))),
    ("randn-seeded-f64", [_f(*S, dt=np.float64)], lambda x: _seeded(lambda: am.randn_like(x))),
    # softmax, log_softmax and cross-entropy, forward and backward
    ("softmax", [_f(*S)], lambda x: am.softmax(x, -1)),
    ("softmax-axis0-f64", [_f(*S, dt=np.float64)], lambda x: am.softmax(x, 0)),
    ("log_softmax", [_f(*S, lo=-30, hi=30)], lambda x: am.log_softmax(x, -1)),
    ("softmax-backward", [_f(*S), _f(*S)], lambda x, g: _grads(lambda x: x.softmax(-1), g, x)),
    ("log_softmax-backward-f64", [_f(*S, dt=np.float64), _f(*S, dt=np.float64)],
     lambda x, g: _grads(lambda x: x.log_softmax(-1), g, x)),
    ("cross_entropy", [_f(*S), _i(S[0], lo=0, hi=S[1], dt=np.int64)], lambda x, t: F.cross_entropy(x, t)),
    ("cross_entropy-smooth-weight-backward", [_f(*S), _i(S[0], lo=0, hi=S[1], dt=np.int64), _f(S[1], **POS)],
     lambda x, t, w: _grads(lambda x: F.cross_entropy(x, t, weight=w, label_smoothing=0.1), am.tensor(1.0), x)),
    # gradients of the losses and of linear
    ("mse_loss-backward", [_f(*S), _f(*S)], lambda x, t: _grads(lambda x, t: F.mse_loss(x, t), am.tensor(1.0), x, t)),
    ("distillation_loss-backward", [_f(*S), _f(*S)],
     lambda s, t: _grads(lambda s, t: F.distillation_loss(s, t, temperature=2.0), am.tensor(1.0), s, t)),
    ("linear-relu-backward", [_f(33, 47), _f(21, 47), _f(21), _f(33, 21)],
     lambda x, w, b, g: _grads(lambda x, w, b: F.linear(x, w, b, "relu"), g, x, w, b)),
    # layers: attention and embedding, forward and the gradients of their parameters
    ("attention", [_f(2, 5, 8), _f(2, 7, 8)], lambda q, kv: _layer_grads(
        lambda: am.nn.MultiHeadAttention(8, 2), lambda m: m(q, kv, kv), q)),
    ("attention-causal-self", [_f(2, 6, 8)], lambda x: _layer_grads(
        lambda: am.nn.MultiHeadAttention(8, 4), lambda m: m(x, causal=True), x)),
    ("embedding", [_i(4, 6, lo=0, hi=10, dt=np.int64)], lambda i: _layer_grads(
        lambda: am.nn.Embedding(10, 5), lambda m: m(i), i)),
]

# Which cases exercise each registered kernel (aimass._core.kernel_names(), declared in
# csrc/ops/kernels/*.h): an OPS case name or a test function of this file. A new kernel fails
# test_every_kernel_has_a_backend_case until it is listed here with a case.
KERNEL_CASES = {
    "unary": ["unary-exp"], "binary": ["add"], "where": ["where"], "clamp": ["clamp"],
    "copy": ["cast-f32-f16"], "fill": ["full"], "reduce": ["reduce-sum-axis0"], "matmul": ["matmul"],
    "gather": ["index-ints"], "scatter": ["setitem-ints"], "random": ["rand-seeded"], "dropout": ["dropout-seeded"],
    "softmax": ["softmax", "log_softmax"], "softmax_backward": ["softmax-backward", "log_softmax-backward-f64"],
    "cross_entropy": ["cross_entropy"], "cross_entropy_backward": ["cross_entropy-smooth-weight-backward"],
    "conv2d": ["conv2d"], "conv2d_backward": ["conv2d-grad-x", "conv2d-grad-w"],
    "max_pool2d": ["max_pool2d"], "max_pool2d_backward": ["max_pool2d-grad"],
    "avg_pool2d": ["avg_pool2d"], "avg_pool2d_backward": ["avg_pool2d-grad"],
    "layer_norm": ["layer_norm"], "layer_norm_backward": ["layer_norm-backward"],
    "batch_norm_stats": ["batch_norm-train"], "batch_norm_apply": ["batch_norm-eval"],
    "batch_norm_backward": ["batch_norm-backward"],
    "activation": ["activation-gelu"], "activation_backward": ["activation-gelu-backward"],
    "pointwise_loss": ["mse_loss"], "pointwise_loss_backward": ["mse_loss-backward"],
    "distillation": ["distillation_loss"], "distillation_backward": ["distillation_loss-backward"],
    "linear": ["linear"], "linear_backward": ["linear-relu-backward"],
    "crop_flip": ["data-crop_flip"], "mixup": ["data-mixup"],
    "optim_step": ["optim-Adam"], "grad_scale": ["optim-clip_grad_norm"],
    "knn_flat_search": ["test_backend_kmeans"], "knn_ivf_search": ["test_backend_ivf_index"],
    "quantize_u8": ["test_backend_quantized_layers"], "int8_gemm": ["test_backend_quantized_layers"],
    "int8_im2col": ["test_backend_quantized_layers"], "weight_only_gemm": ["test_backend_quantized_layers"],
    "int8_embedding": ["test_backend_quantized_layers"],
}


def test_every_kernel_has_a_backend_case():
    """Runs everywhere, GPU or not: the registry and this file's cases must agree."""
    from aimass import _core

    registered = _core.kernel_names()
    missing = [k for k in registered if k not in KERNEL_CASES]
    assert not missing, f"registered kernels with no backend case (add one to OPS and KERNEL_CASES): {missing}"
    stale = sorted(set(KERNEL_CASES) - set(registered))
    assert not stale, f"KERNEL_CASES names kernels that are not registered: {stale}"
    cases = {o[0] for o in OPS} | {n for n in globals() if n.startswith("test_")}
    unknown = sorted({c for cs in KERNEL_CASES.values() for c in cs} - cases)
    assert not unknown, f"KERNEL_CASES names cases that do not exist: {unknown}"


def _grad(fn, x):
    """The gradient of sum(fn(x) * ramp) with respect to x (a fresh leaf of x's values)."""
    leaf = x.detach().clone()
    leaf.requires_grad = True
    out = fn(leaf)
    ramp = am.arange(out.numel(), dtype=out.dtype, device=str(out.device)).reshape(out.shape) * 0.01
    (out * ramp).sum().backward()
    return leaf.grad


def _F():
    import aimass.nn.functional as F

    return F


def _activation(name, x):
    F = _F()
    if name == "gelu_tanh":
        return F.gelu(x, approximate="tanh")
    return getattr(F, name)(x)


def _grads(fn, g, *inputs):
    """The gradients of sum(fn(*inputs) * g), stacked flat into one tensor."""
    leaves = [t.detach().requires_grad_() for t in inputs]  # keeps each input's layout
    (fn(*leaves) * g).sum().backward()
    return am.concatenate([leaf.grad.reshape(-1) for leaf in leaves])


def _layer_grads(make, call, x):
    """A layer made from seed 7 and moved to x's device: its output, then the gradients of its
    parameters (of sum(out * ramp)), stacked flat into one tensor."""
    am.manual_seed(7)
    layer = make()
    layer.to(str(x.device))
    out = call(layer)
    ramp = am.arange(out.numel(), dtype=out.dtype, device=str(out.device)).reshape(out.shape) * 0.01
    (out * ramp).sum().backward()
    return am.concatenate([out.reshape(-1)] + [p.grad.reshape(-1) for p in layer.parameters()])


def _seeded(fn):
    am.manual_seed(1234)
    return fn()


def _core_data():
    from aimass._core import data

    return data


_CROP_PARAMS = np.array([[0, 0, 0], [1, 6, 2], [1, 3, 3], [0, 5, 1], [1, 0, 6]], np.int64)
_MIX_PARTNER = np.array([3, 0, 5, 1, 2, 4], np.int64)
_MIX_LAM = np.array([0.0, 0.25, 0.5, 0.9, 1.0, 0.33])


def _optim_steps(name, kw, p0, g):
    params = [p0.clone().requires_grad_(), (p0 * 0.5).clone().requires_grad_()]
    opt = getattr(am.optim, name)(params, **kw)
    for k in range(3):
        for p in params:
            p.grad = g * (k + 1.0)
        opt.step()
    return am.concatenate([p.detach() for p in params])


def _clip_grad_norm(g, h):
    params = [(g * 0.0).clone().requires_grad_(), (h * 0.0).clone().requires_grad_()]
    params[0].grad, params[1].grad = g.clone(), h.clone()
    norm = am.optim.clip_grad_norm_(params, 1.0)
    return am.concatenate([params[0].grad.reshape(-1), params[1].grad, am.tensor([norm], device=str(g.device))])


def _setitem(x, v):
    y = x.clone()
    y[1:4] = v
    y[:, 0] = -1.0
    return y


def _setitem_ints(x):
    y = x.clone()
    y[am.tensor([0, 2, 5], device=str(y.device))] = 7.0
    y[y > 1] = 0.0
    return y


def _inputs(makers, seed):
    rng = np.random.default_rng(seed)
    out = []
    for m in makers:
        a = m(rng)
        if NP_BF16 is None and a.dtype == object:
            pytest.skip("ml_dtypes is not installed")
        out.append(a)
    return out


def _tolerance(t):
    if t.dtype in RED_TOL:
        return RED_TOL[t.dtype]
    return 0, 0


@pytest.mark.parametrize("name, makers, op", OPS, ids=[o[0] for o in OPS])
def test_backend_matches_cpu(device, name, makers, op):
    if any(m.__qualname__.startswith("_bf16") for m in makers) and NP_BF16 is None:
        pytest.skip("ml_dtypes is not installed")
    arrays = _inputs(makers, seed=zlib.crc32(name.encode()))
    ref = op(*[am.tensor(a) for a in arrays])
    if device == "cpu":
        layouts = ["transposed", "strided", "offset", "from_numpy_strided"]
        args = [make_tensor(a, layouts[i % len(layouts)]) for i, a in enumerate(arrays)]
    else:
        args = [am.tensor(a, device=device) for a in arrays]
    got = op(*args)
    assert isinstance(got, am.Tensor)
    assert got.device.type == device.split(":")[0]
    assert got.dtype == ref.dtype and got.shape == ref.shape
    rtol, atol = _tolerance(ref)
    g, r = to_np(got), to_np(ref)
    if ref.dtype.is_floating_point:
        np.testing.assert_allclose(as_f64(g), as_f64(r), rtol=rtol, atol=atol, equal_nan=True)
    else:
        np.testing.assert_array_equal(g, r)


@pytest.mark.parametrize("shape", [(), (0,), (0, 3), (1,)], ids=str)
def test_backend_empty_and_0d(device, shape):
    a = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape) + 0.5
    x = am.tensor(a, device=device)
    for fn in (lambda t: t + 1, am.exp, lambda t: t.sum(), lambda t: t.to(am.float16), lambda t: t * t,
               lambda t: am.where(t > 1, t, -t), lambda t: t.reshape(-1), lambda t: t.clone()):
        ref = fn(am.tensor(a))
        got = fn(x)
        assert got.device.type == device.split(":")[0]
        assert got.shape == ref.shape and got.dtype == ref.dtype
        np.testing.assert_allclose(as_f64(to_np(got)), as_f64(to_np(ref)), rtol=1e-6)


def test_backend_to_and_back(device, rng):
    a = rng.standard_normal((7, 9)).astype(np.float32)
    t = am.tensor(a).T.to(device)
    assert str(t.device).startswith(device)
    back = t.to("cpu")
    np.testing.assert_array_equal(to_np(back), a.T)
    assert t.to(device).to(am.float64).cpu().dtype == am.float64
    assert t.tolist() == a.T.tolist()
    assert t[2, 3].item() == a[3, 2]


def test_backend_data_loader(device):
    """A loader over arrays on `device` gives the CPU loader's batches, augmented, on `device`."""
    from aimass.data import DataLoader

    rng = np.random.default_rng(0)
    x = rng.standard_normal((23, 2, 5, 6)).astype(np.float32)
    y = rng.integers(0, 4, 23)
    opts = dict(batch_size=5, shuffle=True, random_flip=True, random_crop=1, mixup_alpha=0.5, num_classes=4)
    am.manual_seed(3)
    ref = [(to_np(a), to_np(b)) for a, b in DataLoader((x, y), **opts)]
    am.manual_seed(3)
    got = list(DataLoader((am.tensor(x, device=device), am.tensor(y, device=device)), **opts))
    assert len(got) == len(ref)
    for (gx, gy), (rx, ry) in zip(got, ref):
        assert gx.device.type == device.split(":")[0] and gy.device.type == device.split(":")[0]
        np.testing.assert_allclose(to_np(gx), rx, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(to_np(gy), ry, rtol=1e-6, atol=1e-6)


# ---- k-means and IVFFlatIndex (aimass.knn): the same clustering and searches on every device


def test_backend_kmeans(device):
    rng = np.random.default_rng(5)
    centres = rng.standard_normal((8, 12)) * 5
    x = (centres[rng.integers(0, 8, 600)] + rng.standard_normal((600, 12))).astype(np.float32)
    for metric in ("l2", "cosine"):
        ref = am.knn.kmeans(x, 8, niter=10, seed=1, metric=metric)
        got = am.knn.kmeans(x, 8, niter=10, seed=1, metric=metric, device=device)
        np.testing.assert_array_equal(got.assignment, ref.assignment)
        np.testing.assert_allclose(got.centroids, ref.centroids, rtol=1e-5, atol=1e-5)
        assert got.n_iter == ref.n_iter and got.inertia == pytest.approx(ref.inertia, rel=1e-5)


@pytest.mark.parametrize("metric", ["l2", "ip", "cosine"])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_backend_ivf_index(device, tmp_path, metric, dtype):
    rng = np.random.default_rng(6)
    centres = rng.standard_normal((10, 24)) * 3
    x = (centres[rng.integers(0, 10, 3000)] + rng.standard_normal((3000, 24))).astype(np.float32)
    q = (centres[rng.integers(0, 10, 300)] + rng.standard_normal((300, 24))).astype(np.float32)
    ids = rng.permutation(10**6)[:3000]
    ref = am.knn.IVFFlatIndex(24, 16, metric=metric, dtype=dtype)
    ref.train(x)
    ref.add(x, ids)
    ref.nprobe = 4
    ref.save(tmp_path / "ivf.knn")
    got = am.knn.load(tmp_path / "ivf.knn", device=device)
    assert got.device.type == device.split(":")[0] and got.nprobe == 4
    allowed = ids[::3]
    for nq, k, filt in [(1, 10, None), (300, 10, None), (300, 50, allowed), (5, 7, allowed)]:
        rd, ri = ref.search(q[:nq], k, filter=filt)
        gd, gi = got.search(q[:nq], k, filter=filt)
        np.testing.assert_allclose(gd, rd, rtol=1e-4, atol=1e-3)
        assert (gi == ri).mean() > 0.99  # float rounding may swap exact near-ties
    gone = ids[:500]
    assert got.remove(gone) == ref.remove(gone) == 500
    np.testing.assert_array_equal(got.list_sizes, ref.list_sizes)
    _, gi = got.search(q, 20)
    assert not np.isin(gi, gone).any()
    radius = 30.0 if metric == "l2" else 0.5
    for a, b in zip(got.range_search(q[:20], radius), ref.range_search(q[:20], radius)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3)
    got.to("cpu")
    np.testing.assert_array_equal(got.reconstruct(ids[700]), ref.reconstruct(ids[700]))


# ---- int8 / int4 inference (ops/kernels/quant.h): the quantised layers moved to every device;
# tests/python/test_quant_cuda.py covers the CUDA kernels in depth.


def test_backend_quantized_layers(device):
    rng = np.random.default_rng(8)
    am.manual_seed(0)
    model = am.nn.Sequential([am.nn.Conv2D(8, 3, padding="same", activation="relu"), am.nn.Flatten(),
                              am.nn.Dense(32, activation="relu"), am.nn.Dense(10)])
    model.build((None, 2, 6, 6))
    x = rng.standard_normal((5, 2, 6, 6)).astype(np.float32)
    static = am.quant.quantize(model, x, min_layer_size=0, min_sqnr_db=0)
    assert "QuantizedConv2D" in {type(m).__name__ for _, m in static.named_modules()}
    for q in (static, am.quant.quantize_dynamic(model, min_layer_size=0),
              am.quant.quantize_weight_only(model, bits=4, group_size=32)):
        ref = q.predict(x)
        q.to(device)
        got = q.predict(am.tensor(x, device=device))
        # dynamic: the float Conv2D's last bit (cuDNN) may move a u8 code of the next layer's input
        np.testing.assert_allclose(got, ref, rtol=0, atol=2e-2 * np.abs(ref).max())
    emb = am.nn.QuantizedEmbedding(20, 6)
    emb.load_state_dict({"weight": am.tensor(rng.integers(-127, 128, (20, 6)).astype(np.int8)),
                         "weight_scale": am.tensor(rng.uniform(0.01, 0.1, 20).astype(np.float32))})
    ids = rng.integers(0, 20, (3, 4))
    ref = emb(am.tensor(ids)).numpy()
    emb.to(device)
    np.testing.assert_array_equal(emb(am.tensor(ids, device=device)).cpu().numpy(), ref)

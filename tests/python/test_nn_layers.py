"""The native layers of am.nn: forward against NumPy references written here, backward against
central finite differences in float64 (inputs and every parameter), lazy sizing, train / eval,
and bad configurations raising ValueError naming the layer and the shapes."""
from __future__ import annotations

import math

import numpy as np
import pytest

import aimass as am
import aimass.nn as nn

RNG = np.random.default_rng(1234)


def a(x) -> np.ndarray:
    return np.asarray(x.numpy() if isinstance(x, am.Tensor) else x, np.float64)


def params(layer) -> dict[str, np.ndarray]:
    return {k: a(v) for k, v in layer.state_dict().items()}


# ---------------------------------------------------------------------------------------------
# references

def ref_conv2d(x, w, b, stride=(1, 1), pad=(0, 0, 0, 0), dilation=(1, 1), groups=1):
    """x (N, C, H, W), w (O, C/g, KH, KW); pad = (top, bottom, left, right)."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[1]), (pad[2], pad[3])))
    oh = (xp.shape[2] - (kh - 1) * dilation[0] - 1) // stride[0] + 1
    ow = (xp.shape[3] - (kw - 1) * dilation[1] - 1) // stride[1] + 1
    out = np.zeros((n, o, oh, ow))
    og = o // groups
    for g in range(groups):
        xs = xp[:, g * cg:(g + 1) * cg]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i * dilation[0]: i * dilation[0] + stride[0] * (oh - 1) + 1: stride[0],
                           j * dilation[1]: j * dilation[1] + stride[1] * (ow - 1) + 1: stride[1]]
                out[:, g * og:(g + 1) * og] += np.einsum("nchw,oc->nohw", patch, w[g * og:(g + 1) * og, :, i, j])
    if b is not None:
        out += b[None, :, None, None]
    return out


def ref_pool(x, k, s, pad, kind, count_include_pad=True):
    n, c, h, w = x.shape
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])), constant_values=fill)
    ones = np.pad(np.ones((h, w)), ((pad[0], pad[0]), (pad[1], pad[1])))
    oh = (h + 2 * pad[0] - k[0]) // s[0] + 1
    ow = (w + 2 * pad[1] - k[1]) // s[1] + 1
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            win = xp[:, :, i * s[0]:i * s[0] + k[0], j * s[1]:j * s[1] + k[1]]
            if kind == "max":
                out[:, :, i, j] = win.max(axis=(2, 3))
            else:
                cnt = k[0] * k[1] if count_include_pad else ones[i * s[0]:i * s[0] + k[0], j * s[1]:j * s[1] + k[1]].sum()
                out[:, :, i, j] = win.sum(axis=(2, 3)) / cnt
    return out


def ref_layer_norm(x, w, b, eps=1e-5, dims=1):
    axes = tuple(range(x.ndim - dims, x.ndim))
    mu = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    y = (x - mu) / np.sqrt(var + eps)
    return y * w + b if w is not None else y


def ref_gelu(x):
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def ref_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def ref_mha(q, k, v, p, heads, causal=False, bool_mask=None):
    """q (B, T, E), k v (B, S, E); p: the layer's state_dict as NumPy."""
    def proj(x, name):
        return x @ p[f"{name}.weight"].T + p.get(f"{name}.bias", 0)

    b, t, e = q.shape
    s = k.shape[1]
    dh = e // heads
    Q = proj(q, "q_proj").reshape(b, t, heads, dh).transpose(0, 2, 1, 3)
    K = proj(k, "k_proj").reshape(b, s, heads, dh).transpose(0, 2, 1, 3)
    V = proj(v, "v_proj").reshape(b, s, heads, dh).transpose(0, 2, 1, 3)
    scores = Q @ K.transpose(0, 1, 3, 2) / math.sqrt(dh)
    if causal:
        scores = np.where(np.arange(s)[None, :] > np.arange(s - t, s)[:, None], -np.inf, scores)
    if bool_mask is not None:
        scores = np.where(bool_mask, -np.inf, scores)
    out = (ref_softmax(scores) @ V).transpose(0, 2, 1, 3).reshape(b, t, e)
    return proj(out, "out_proj")


# ---------------------------------------------------------------------------------------------
# finite differences

def gradcheck(layer, x: np.ndarray, *, call=None, eps=1e-6, rtol=1e-5, atol=1e-7, seed=None):
    """Checks d(sum(out * r))/d(input and every parameter) against central differences, float64."""
    call = call or (lambda m, t: m(t))
    if seed is not None:
        am.manual_seed(seed)
    out = call(layer, am.tensor(x))
    r = RNG.standard_normal(out.shape)

    def loss_value() -> float:
        if seed is not None:
            am.manual_seed(seed)
        with am.no_grad():
            return float((a(call(layer, am.tensor(xv))) * r).sum())

    xv = x.copy()
    xt = am.tensor(xv, requires_grad=True)
    if seed is not None:
        am.manual_seed(seed)
    layer.zero_grad()
    (call(layer, xt) * am.tensor(r)).sum().backward()
    targets = [("input", xv, xt.grad)]
    for name, p in layer.named_parameters():
        targets.append((name, p.numpy(), p.grad))
    for name, arr, grad in targets:
        num = np.zeros(arr.shape)
        flat = arr.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            up = loss_value()
            flat[i] = old - eps
            down = loss_value()
            flat[i] = old
            num.reshape(-1)[i] = (up - down) / (2 * eps)
        assert grad is not None, f"no gradient for {name}"
        np.testing.assert_allclose(a(grad), num, rtol=rtol, atol=atol, err_msg=f"gradient of {name}")


def f64(shape):
    return RNG.standard_normal(shape)


# ---------------------------------------------------------------------------------------------
# Dense

def test_dense_lazy_build_and_forward():
    layer = nn.Dense(5, activation="relu")
    assert not layer.built and list(layer.parameters()) == []
    x = RNG.standard_normal((4, 3)).astype(np.float32)
    y = layer(x)
    assert layer.built and layer.weight.shape == (5, 3) and layer.bias.shape == (5,)
    p = params(layer)
    np.testing.assert_allclose(a(y), np.maximum(x @ p["weight"].T + p["bias"], 0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("activation", [None, "relu", "gelu", "gelu_tanh", "silu", "sigmoid", "tanh", "leaky_relu",
                                        "softmax"])
def test_dense_activations_match_numpy(activation):
    layer = nn.Dense(6, activation=activation, in_features=4)
    x = f64((3, 2, 4)).astype(np.float32)
    p = params(layer)
    z = x @ p["weight"].T + p["bias"]
    ref = {None: z, "relu": np.maximum(z, 0), "gelu": ref_gelu(z),
           "gelu_tanh": 0.5 * z * (1 + np.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z ** 3))),
           "silu": z / (1 + np.exp(-z)), "sigmoid": 1 / (1 + np.exp(-z)), "tanh": np.tanh(z),
           "leaky_relu": np.where(z > 0, z, 0.01 * z), "softmax": ref_softmax(z)}[activation]
    np.testing.assert_allclose(a(layer(x)), ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("activation", [None, "relu", "gelu"])
def test_dense_gradients(activation):
    layer = nn.Dense(3, activation=activation)
    gradcheck(layer, f64((4, 5)))  # built from float64 input: float64 weights
    assert layer.weight.dtype == am.float64


def test_dense_without_bias_and_initializers():
    am.manual_seed(7)
    layer = nn.Dense(300, use_bias=False, in_features=200, kernel_initializer="he_normal")
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    w = a(layer.weight)
    assert abs(w.std() - math.sqrt(2 / 200)) < 0.01 * math.sqrt(2 / 200) * 10
    am.manual_seed(7)
    again = nn.Dense(300, use_bias=False, in_features=200, kernel_initializer="he_normal")
    np.testing.assert_array_equal(a(again.weight), w)
    limit = math.sqrt(6 / (200 + 300))
    g = a(nn.Dense(300, in_features=200).weight)
    assert g.min() >= -limit and g.max() <= limit and g.max() > 0.9 * limit


def test_dense_errors():
    layer = nn.Dense(4, in_features=3)
    with pytest.raises(ValueError, match=r"Dense\(units=4\).*\(\.\.\., 3\).*\(2, 5\)"):
        layer(np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match="units"):
        nn.Dense(0)
    with pytest.raises(ValueError, match="activation"):
        nn.Dense(3, activation="nope")
    with pytest.raises(ValueError, match="initializer"):
        nn.Dense(3, kernel_initializer="nope")


# ---------------------------------------------------------------------------------------------
# Conv2D / Conv1D

@pytest.mark.parametrize("kw", [
    dict(kernel_size=3),
    dict(kernel_size=3, padding="same"),
    dict(kernel_size=(2, 3), strides=2, padding="same"),
    dict(kernel_size=3, padding=1, dilation=2),
    dict(kernel_size=1),
    dict(kernel_size=3, groups=2, padding=(1, 0)),
])
def test_conv2d_forward(kw):
    layer = nn.Conv2D(4, **kw)
    x = f64((2, 4, 7, 6)).astype(np.float32)
    y = layer(x)
    p = params(layer)
    k = kw["kernel_size"]
    k = (k, k) if isinstance(k, int) else k
    s = kw.get("strides", 1)
    s = (s, s) if isinstance(s, int) else s
    d = kw.get("dilation", 1)
    padding = kw.get("padding", "valid")
    if padding == "same":
        pad = []
        for size, kk, ss in zip((7, 6), k, s):
            out = -(-size // ss)
            total = max((out - 1) * ss + (kk - 1) * d + 1 - size, 0)
            pad += [total // 2, total - total // 2]
    elif padding == "valid":
        pad = [0, 0, 0, 0]
    else:
        pp = (padding, padding) if isinstance(padding, int) else padding
        pad = [pp[0], pp[0], pp[1], pp[1]]
    ref = ref_conv2d(a(x), p["weight"], p["bias"], s, pad, (d, d), kw.get("groups", 1))
    assert y.shape == ref.shape
    np.testing.assert_allclose(a(y), ref, rtol=1e-4, atol=1e-4)
    if padding == "same" and s == (1, 1):
        assert y.shape[2:] == (7, 6)


@pytest.mark.parametrize("kw", [dict(kernel_size=3, padding="same"), dict(kernel_size=2, strides=2, groups=2)])
def test_conv2d_gradients(kw):
    gradcheck(nn.Conv2D(2, **kw), f64((2, 2, 5, 4)))


def test_conv1d_forward_and_gradients():
    layer = nn.Conv1D(3, 3, padding="same", activation="relu")
    x = f64((2, 2, 9))
    y = layer(x)
    p = params(layer)
    ref = ref_conv2d(x[:, :, None], p["weight"][:, :, None], p["bias"], pad=(0, 0, 1, 1))[:, :, 0]
    np.testing.assert_allclose(a(y), np.maximum(ref, 0), rtol=1e-10, atol=1e-10)
    assert layer.weight.shape == (3, 2, 3)
    gradcheck(nn.Conv1D(2, 2, strides=2), f64((2, 3, 7)))


def test_conv_errors():
    with pytest.raises(ValueError, match=r"Conv2D.*4-D.*\(2, 3, 5\)"):
        nn.Conv2D(4, 3)(np.zeros((2, 3, 5), np.float32))
    layer = nn.Conv2D(4, 3, in_channels=3)
    with pytest.raises(ValueError, match=r"Conv2D.*3 channels.*\(1, 2, 8, 8\)"):
        layer(np.zeros((1, 2, 8, 8), np.float32))
    with pytest.raises(ValueError, match=r"kernel.*larger.*\(1, 3, 2, 8\)"):
        layer(np.zeros((1, 3, 2, 8), np.float32))
    with pytest.raises(ValueError, match="groups"):
        nn.Conv2D(3, 3, groups=2)
    with pytest.raises(ValueError, match="groups"):
        nn.Conv2D(4, 3, groups=2)(np.zeros((1, 3, 8, 8), np.float32))
    with pytest.raises(ValueError, match="padding"):
        nn.Conv2D(4, 3, padding="full")
    with pytest.raises(ValueError, match="strides"):
        nn.Conv2D(4, 3, strides=0)
    with pytest.raises(ValueError, match=r"Conv1D.*3-D"):
        nn.Conv1D(4, 3)(np.zeros((1, 3, 8, 8), np.float32))


# ---------------------------------------------------------------------------------------------
# pooling

@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("cfg", [dict(pool_size=2), dict(pool_size=3, strides=2, padding=1), dict(pool_size=(2, 3), strides=1)])
def test_pool2d_forward(kind, cfg):
    layer = (nn.MaxPool2D if kind == "max" else nn.AvgPool2D)(**cfg)
    x = f64((2, 3, 7, 8))
    k = cfg["pool_size"]
    k = (k, k) if isinstance(k, int) else k
    s = cfg.get("strides") or k
    s = (s, s) if isinstance(s, int) else s
    p = cfg.get("padding", 0)
    np.testing.assert_allclose(a(layer(x)), ref_pool(x, k, s, (p, p), kind), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("layer", [nn.MaxPool2D(2), nn.AvgPool2D(3, strides=2, padding=1), nn.GlobalAveragePooling2D()])
def test_pool_gradients(layer):
    gradcheck(layer, f64((2, 2, 5, 6)))


def test_global_average_pooling():
    x = f64((2, 3, 4, 5))
    np.testing.assert_allclose(a(nn.GlobalAveragePooling2D()(x)), x.mean(axis=(2, 3)), rtol=1e-12)
    assert nn.GlobalAveragePooling2D(keepdims=True)(x).shape == (2, 3, 1, 1)


def test_pool_errors():
    with pytest.raises(ValueError, match=r"MaxPool2D.*larger.*\(1, 1, 1, 4\)"):
        nn.MaxPool2D(2)(np.zeros((1, 1, 1, 4)))
    with pytest.raises(ValueError, match=r"AvgPool2D.*4-D"):
        nn.AvgPool2D(2)(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="padding"):
        nn.MaxPool2D(2, padding=2)


# ---------------------------------------------------------------------------------------------
# normalisation

@pytest.mark.parametrize("shape,cls", [((8, 3), nn.BatchNorm1D), ((4, 3, 5), nn.BatchNorm1D), ((4, 3, 2, 3), nn.BatchNorm2D)])
def test_batchnorm_train_and_eval(shape, cls):
    layer = cls(momentum=0.2)
    x = f64(shape) * 3 + 1
    y = layer(x)
    axes = (0,) + tuple(range(2, len(shape)))
    bshape = [1, shape[1]] + [1] * (len(shape) - 2)
    mu, var = x.mean(axis=axes), x.var(axis=axes)
    np.testing.assert_allclose(a(y), (x - mu.reshape(bshape)) / np.sqrt(var.reshape(bshape) + 1e-5), rtol=1e-8, atol=1e-8)
    n = x.size // shape[1]
    np.testing.assert_allclose(a(layer.running_mean), 0.2 * mu, rtol=1e-10)
    np.testing.assert_allclose(a(layer.running_var), 0.8 + 0.2 * var * n / (n - 1), rtol=1e-10)
    layer.eval()
    rm, rv = a(layer.running_mean), a(layer.running_var)
    np.testing.assert_allclose(a(layer(x)), (x - rm.reshape(bshape)) / np.sqrt(rv.reshape(bshape) + 1e-5), rtol=1e-8)
    np.testing.assert_array_equal(a(layer.running_mean), rm)  # eval leaves the statistics alone


def test_batchnorm_gradients():
    layer = nn.BatchNorm2D()
    layer(f64((3, 2, 2, 2)))  # build
    with am.no_grad():
        layer.weight.copy_(am.tensor(f64(2)))
        layer.bias.copy_(am.tensor(f64(2)))
    gradcheck(layer, f64((3, 2, 2, 2)), rtol=1e-4, atol=1e-6)


def test_batchnorm_errors():
    with pytest.raises(ValueError, match=r"BatchNorm2D.*4-D"):
        nn.BatchNorm2D()(np.zeros((2, 3)))
    layer = nn.BatchNorm1D(4)
    with pytest.raises(ValueError, match=r"BatchNorm1D\(num_features=4\).*\(2, 3\)"):
        layer(np.zeros((2, 3), np.float32))


@pytest.mark.parametrize("normalized_shape,shape", [(None, (4, 6)), (6, (2, 3, 6)), ((3, 6), (2, 3, 6))])
def test_layernorm_forward_and_gradients(normalized_shape, shape):
    layer = nn.LayerNorm(normalized_shape)
    x = f64(shape) * 2 + 0.5
    y = layer(x) if normalized_shape is None else (layer.to(am.float64), layer(x))[1]
    dims = 1 if not isinstance(normalized_shape, tuple) else 2
    np.testing.assert_allclose(a(y), ref_layer_norm(x, None, None, dims=dims), rtol=1e-8, atol=1e-8)
    gradcheck(layer, x, rtol=1e-4, atol=1e-6)


def test_layernorm_errors():
    with pytest.raises(ValueError, match=r"LayerNorm.*\(5,\).*\(2, 4\)"):
        nn.LayerNorm(5)(np.zeros((2, 4), np.float32))


# ---------------------------------------------------------------------------------------------
# dropout, shapes, embedding, activations

def test_dropout_train_and_eval():
    layer = nn.Dropout(0.25)
    x = np.ones((400, 250), np.float32)
    y = a(layer(x))
    zero = (y == 0).mean()
    assert 0.23 < zero < 0.27
    np.testing.assert_allclose(y[y != 0], 1 / 0.75, rtol=1e-6)
    layer.eval()
    np.testing.assert_array_equal(a(layer(x)), x)
    with pytest.raises(ValueError, match="Dropout"):
        nn.Dropout(1.5)


def test_dropout_gradient_uses_the_same_mask():
    gradcheck(nn.Dropout(0.5), f64((4, 5)), seed=3)


def test_flatten_and_reshape():
    x = f64((2, 3, 4, 5))
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Reshape((5, -1))(x).shape == (2, 5, 12)
    np.testing.assert_array_equal(a(nn.Reshape((12, 5))(x)), x.reshape(2, 12, 5))
    with pytest.raises(ValueError, match=r"Reshape.*\(7,\).*\(2, 3, 4, 5\)"):
        nn.Reshape((7,))(x)
    gradcheck(nn.Sequential([nn.Flatten(), nn.Dense(2)]), f64((2, 2, 3)))


def test_embedding():
    am.manual_seed(0)
    layer = nn.Embedding(10, 4)
    ids = np.array([[1, 3, 3], [9, 0, 1]])
    w = a(layer.weight)
    np.testing.assert_array_equal(a(layer(ids)), w[ids])
    (layer(ids) * 2.0).sum().backward()
    expected = np.zeros_like(w)
    np.add.at(expected, ids, 2.0)
    np.testing.assert_array_equal(a(layer.weight.grad), expected)
    with pytest.raises(IndexError, match=r"Embedding\(num_embeddings=10\)"):
        layer(np.array([10]))
    with pytest.raises(IndexError, match=r"Embedding"):
        layer(np.array([-1]))
    with pytest.raises(TypeError, match="Embedding.*integer"):
        layer(np.array([1.0]))


@pytest.mark.parametrize("layer,ref", [
    (nn.ReLU(), lambda z: np.maximum(z, 0)),
    (nn.LeakyReLU(0.2), lambda z: np.where(z > 0, z, 0.2 * z)),
    (nn.GELU(), ref_gelu),
    (nn.GELU("tanh"), lambda z: 0.5 * z * (1 + np.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z ** 3)))),
    (nn.SiLU(), lambda z: z / (1 + np.exp(-z))),
    (nn.Sigmoid(), lambda z: 1 / (1 + np.exp(-z))),
    (nn.Tanh(), np.tanh),
    (nn.Softmax(), ref_softmax),
    (nn.LogSoftmax(axis=0), lambda z: np.log(ref_softmax(z, axis=0))),
    (nn.Activation("silu"), lambda z: z / (1 + np.exp(-z))),
], ids=lambda v: type(v).__name__ if isinstance(v, nn.Module) else "")
def test_activation_layers(layer, ref):
    x = f64((3, 5))
    np.testing.assert_allclose(a(layer(x)), ref(x), rtol=1e-9, atol=1e-12)
    gradcheck(layer, x + np.sign(x) * 0.01)  # away from ReLU's kink


# ---------------------------------------------------------------------------------------------
# attention

@pytest.mark.parametrize("causal", [False, True])
def test_multi_head_attention_matches_numpy(causal):
    am.manual_seed(1)
    layer = nn.MultiHeadAttention(8, 2)
    layer.to(am.float64)
    q, kv = f64((2, 3, 8)), f64((2, 5, 8))
    np.testing.assert_allclose(a(layer(q, kv, kv, causal=causal)), ref_mha(q, kv, kv, params(layer), 2, causal=causal),
                               rtol=1e-9, atol=1e-10)
    mask = RNG.random((3, 5)) < 0.3
    mask[:, 0] = False  # every query sees a key
    np.testing.assert_allclose(a(layer(q, kv, kv, attn_mask=mask)), ref_mha(q, kv, kv, params(layer), 2, bool_mask=mask),
                               rtol=1e-9, atol=1e-10)
    additive = np.where(mask, -1e9, 0.0)
    np.testing.assert_allclose(a(layer(q, kv, kv, attn_mask=additive)), ref_mha(q, kv, kv, params(layer), 2, bool_mask=mask),
                               rtol=1e-9, atol=1e-10)


def test_multi_head_attention_gradients_and_causality():
    layer = nn.MultiHeadAttention(4, 2)
    layer.to(am.float64)
    gradcheck(layer, f64((1, 3, 4)), call=lambda m, t: m(t, causal=True), rtol=1e-4, atol=1e-7)
    x = f64((1, 4, 4))
    y1 = a(layer(x, causal=True))
    x2 = x.copy()
    x2[0, 3] += 5  # a later token changes nothing before it
    np.testing.assert_allclose(a(layer(x2, causal=True))[0, :3], y1[0, :3], rtol=1e-12)


def test_multi_head_attention_errors():
    with pytest.raises(ValueError, match="num_heads"):
        nn.MultiHeadAttention(10, 3)
    layer = nn.MultiHeadAttention(4, 2)
    with pytest.raises(ValueError, match="3-D"):
        layer(np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match="attn_mask"):
        layer(np.zeros((1, 3, 4), np.float32), attn_mask=np.zeros((4, 4), bool))


def test_transformer_block_matches_numpy_and_gradients():
    am.manual_seed(2)
    block = nn.TransformerBlock(8, 2, mlp_dim=16, causal=True)
    block.to(am.float64)
    x = f64((2, 4, 8))
    p = params(block)
    h = ref_layer_norm(x, p["ln1.weight"], p["ln1.bias"])
    attn = {k[len("attn."):]: v for k, v in p.items() if k.startswith("attn.")}
    y = x + ref_mha(h, h, h, attn, 2, causal=True)
    m = ref_gelu(ref_layer_norm(y, p["ln2.weight"], p["ln2.bias"]) @ p["fc1.weight"].T + p["fc1.bias"])
    ref = y + m @ p["fc2.weight"].T + p["fc2.bias"]
    np.testing.assert_allclose(a(block(x)), ref, rtol=1e-8, atol=1e-9)
    small = nn.TransformerBlock(4, 2, mlp_dim=4)
    small.to(am.float64)
    gradcheck(small, f64((1, 3, 4)), rtol=1e-4, atol=1e-7)
    with pytest.raises(ValueError, match=r"TransformerBlock\(embed_dim=4\).*\(1, 3, 5\)"):
        small(np.zeros((1, 3, 5)))

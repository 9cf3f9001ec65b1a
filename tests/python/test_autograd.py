"""Autograd through the Python API: gradients against finite differences (float64),
broadcasting, accumulation, grad mode, and the errors of misuse."""
from __future__ import annotations

import numpy as np
import pytest

import aimass as am

RNG = np.random.default_rng(7)


def numeric_grad(f, arrays, i, eps=1e-6):
    """Central differences of the scalar f(*arrays) with respect to arrays[i]."""
    x = arrays[i]
    g = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        idx = it.multi_index
        old = x[idx]
        x[idx] = old + eps
        up = f(*arrays)
        x[idx] = old - eps
        down = f(*arrays)
        x[idx] = old
        g[idx] = (up - down) / (2 * eps)
    return g


def check(fn, *shapes, low=-1.5, high=1.5):
    """fn maps aimass tensors to a tensor; the loss is sum(fn(...) * w) for a fixed random w."""
    arrays = [RNG.uniform(low, high, s) for s in shapes]
    out_shape = np.asarray(fn(*[am.tensor(a) for a in arrays])).shape
    w = RNG.uniform(0.5, 1.5, out_shape)

    def loss(*arrs):
        with am.no_grad():
            return float((fn(*[am.tensor(a) for a in arrs]) * am.tensor(w)).sum())

    leaves = [am.tensor(a, requires_grad=True) for a in arrays]
    (fn(*leaves) * am.tensor(w)).sum().backward()
    for i, leaf in enumerate(leaves):
        np.testing.assert_allclose(leaf.grad.numpy(), numeric_grad(loss, arrays, i), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    "name", ["neg", "abs", "exp", "tanh", "sigmoid", "relu", "square", "sin", "cos"]
)
def test_unary_gradients(name):
    check(lambda x: getattr(am, name)(x), (3, 4))


@pytest.mark.parametrize("name", ["log", "sqrt", "reciprocal", "rsqrt"])
def test_unary_gradients_positive_domain(name):
    check(lambda x: getattr(am, name)(x), (5,), low=0.5, high=2.0)


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "max", "min"])
def test_binary_gradients_broadcast(op):
    fns = {
        "+": lambda a, b: a + b,
        "-": lambda a, b: a - b,
        "*": lambda a, b: a * b,
        "/": lambda a, b: a / (b * b + 1.0),
        "max": am.maximum,
        "min": am.minimum,
    }
    check(fns[op], (2, 1, 3), (4, 1))


def test_pow_matmul_and_reductions():
    check(lambda a, b: (a * a + 1.0) ** b, (2, 3), (3,))
    check(lambda a, b: a @ b, (2, 3, 4), (4, 5))
    check(lambda a, b: a @ b, (4,), (4,))
    check(lambda x: x.sum(axis=1), (3, 4))
    check(lambda x: x.mean(axis=(0, 2), keepdims=True), (2, 3, 4))
    check(lambda x: x.max(axis=0), (3, 4))
    check(lambda x: x.var(axis=1, ddof=1), (3, 5))


def test_shape_ops_and_indexing():
    check(lambda x: x.T.reshape(-1), (3, 4))
    check(lambda x: x.transpose(0, 2).flatten(), (2, 3, 4))
    check(lambda x: x[1:, ::2], (4, 6))
    check(lambda x: x.unsqueeze(0).squeeze(0).broadcast_to((2, 3, 4)), (3, 4))
    check(lambda a, b: am.concatenate([a, b], axis=1), (2, 3), (2, 2))
    check(lambda a, b: am.stack([a, b]), (3,), (3,))
    check(lambda x: am.where(x > 0, x, x * 0.1), (4, 4))
    check(lambda x: x.clamp(-0.5, 0.5), (10,))


def test_advanced_indexing_gradients_sum_repeated_picks():
    check(lambda x: x[[0, 2, 0, 0]], (3, 2))
    check(lambda x: x[:, [1, 1]], (2, 3))
    check(lambda x: x[np.array([[True, False, True], [False, True, True]])], (2, 3))
    x = am.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2]].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 0.0, 1.0])


def test_gradients_accumulate_across_backward_calls():
    x = am.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.array([1, 2, 3]) + 3)
    x.grad = None
    assert x.grad is None


def test_gradient_argument_and_dtype_of_grads():
    x = am.tensor(np.ones((2, 2), np.float16), requires_grad=True)
    y = x.to(am.float32) * 2
    y.backward(am.ones((2, 2)))
    assert x.grad.dtype == am.float16
    np.testing.assert_allclose(x.grad.numpy().astype(np.float32), 2.0)


def test_no_grad_and_detach():
    x = am.tensor([1.0, 2.0], requires_grad=True)
    with am.no_grad():
        y = x * 2
        with am.enable_grad():
            z = x * 2
    assert not y.requires_grad and z.requires_grad
    assert am.is_grad_enabled()

    @am.no_grad()
    def f(t):
        return t * 3

    assert not f(x).requires_grad
    d = x.detach()
    assert not d.requires_grad and d.is_leaf
    assert (x * 2).grad_fn == "multiply_backward" and x.grad_fn is None


def test_errors():
    x = am.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    with pytest.raises(RuntimeError, match="one-element"):
        y.backward()
    s = y.sum()
    s.backward()
    with pytest.raises(RuntimeError, match="second time"):
        s.backward()
    with pytest.raises(RuntimeError, match="requires grad"):
        x[0] = 3.0
    with pytest.raises(RuntimeError, match="does not require grad"):
        am.tensor([1.0]).sum().backward()
    with pytest.raises(TypeError, match="floating"):
        am.tensor([1, 2], requires_grad=True)
    z = x * 1.0
    t = z.sin().sum()  # sin saves its input
    with am.no_grad():
        z.fill_(0.0)
    with pytest.raises(RuntimeError, match="in-place"):
        t.backward()

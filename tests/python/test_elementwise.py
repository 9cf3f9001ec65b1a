"""Elementwise ops against NumPy: unary functions, binary arithmetic and comparisons with
broadcasting, where, clamp, maximum / minimum; every layout, empty and 0-d tensors."""
from __future__ import annotations

import operator

import numpy as np
import pytest

import aimass as am
from conftest import (FLOAT_DTYPES, INT_DTYPES, LAYOUTS, RED_TOL, TOL, as_f64, assert_tensor, dtype_id,
                      make_tensor, np_dtype, random_array, to_np)

SHAPES = [(), (0,), (1,), (7,), (33,), (0, 3), (4, 5), (3, 1, 6), (2, 3, 4, 5), (1031,)]


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _round_half_even(x):
    return np.round(x)


# name -> (NumPy reference in float64, domain (low, high), transcendental?)
UNARY = {
    "neg": (np.negative, None, False),
    "abs": (np.abs, None, False),
    "exp": (np.exp, (-5, 5), True),
    "log": (np.log, (0.05, 10), True),
    "sqrt": (np.sqrt, (0, 10), True),
    "tanh": (np.tanh, (-4, 4), True),
    "sigmoid": (_sigmoid, (-8, 8), True),
    "relu": (lambda x: np.maximum(x, 0), None, False),
    "sign": (np.sign, None, False),
    "square": (np.square, None, False),
    "reciprocal": (np.reciprocal, (0.2, 5), True),
    "rsqrt": (lambda x: 1 / np.sqrt(x), (0.05, 10), True),
    "sin": (np.sin, (-6, 6), True),
    "cos": (np.cos, (-6, 6), True),
    "floor": (np.floor, None, False),
    "ceil": (np.ceil, None, False),
    "round": (_round_half_even, None, False),
}


def _unary_input(rng, name, shape, dt):
    domain = UNARY[name][1]
    if dt in INT_DTYPES:
        lo, hi = (1, 20) if domain and domain[0] >= 0 else (-20, 20)
        if name == "exp":
            lo, hi = -5, 5
        if dt == am.uint8:
            lo = max(lo, 0)
        return random_array(rng, shape, dt, low=lo, high=hi)
    lo, hi = domain or (-4, 4)
    a = random_array(rng, shape, dt, low=lo, high=hi)
    if name == "round" and a.size:
        # exact halves test the half-to-even rule
        flat = a.reshape(-1)
        flat[: max(1, flat.size // 4)] = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5] * (flat.size // 4 + 1))[: max(1, flat.size // 4)].astype(a.dtype)
    return a


def _unary_expected(name, a, dt):
    ref = UNARY[name][0]
    x = as_f64(a)
    return ref(x)


@pytest.mark.parametrize("name", list(UNARY))
@pytest.mark.parametrize("dt", FLOAT_DTYPES, ids=dtype_id)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_unary_float(rng, name, dt, shape):
    a = _unary_input(rng, name, shape, dt)
    t = make_tensor(a)
    out = getattr(am, name)(t)
    expected = _unary_expected(name, a, dt)
    rtol, atol = RED_TOL[dt] if UNARY[name][2] else TOL[dt]
    assert_tensor(out, expected, dtype=dt, rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", list(UNARY))
@pytest.mark.parametrize("layout", LAYOUTS)
def test_unary_layouts_and_methods(rng, name, layout):
    a = _unary_input(rng, name, (5, 6), am.float32)
    t = make_tensor(a, layout)
    expected = _unary_expected(name, a, am.float32)
    rtol, atol = RED_TOL[am.float32] if UNARY[name][2] else TOL[am.float32]
    assert_tensor(getattr(am, name)(t), expected, dtype=am.float32, rtol=rtol, atol=atol)
    assert_tensor(getattr(t, name)(), expected, dtype=am.float32, rtol=rtol, atol=atol)
    # the input is untouched
    assert_tensor(t, a)


@pytest.mark.parametrize("name", list(UNARY))
@pytest.mark.parametrize("dt", INT_DTYPES, ids=dtype_id)
def test_unary_int(rng, name, dt):
    a = _unary_input(rng, name, (4, 9), dt)
    out = getattr(am, name)(make_tensor(a, "transposed"))
    if UNARY[name][2]:  # transcendental functions of integers compute in float32
        expected = UNARY[name][0](a.astype(np.float64))
        assert_tensor(out, expected, dtype=am.float32, rtol=2e-6, atol=1e-6)
    else:
        with np.errstate(all="ignore"):
            expected = UNARY[name][0](a).astype(a.dtype)
        assert_tensor(out, expected, dtype=dt)


def test_unary_special_values():
    x = am.tensor(np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0], np.float32))
    with np.errstate(all="ignore"):
        a = to_np(x)
        for name in ["neg", "abs", "exp", "sqrt", "tanh", "sigmoid", "relu", "sign", "square", "floor", "ceil",
                     "round", "log", "reciprocal", "rsqrt"]:
            expected = UNARY[name][0](a.astype(np.float64))
            assert_tensor(getattr(am, name)(x), expected, dtype=am.float32, rtol=2e-6, atol=1e-7)
    assert np.signbit(to_np(am.neg(am.tensor(0.0)))), "-0.0 expected"


def test_logical_not_and_invert(rng):
    a = random_array(rng, (3, 7), am.bool_)
    t = make_tensor(a, "transposed")
    assert_tensor(am.logical_not(t), ~a, dtype=am.bool_)
    assert_tensor(~t, ~a, dtype=am.bool_)
    assert_tensor(t.logical_not(), ~a, dtype=am.bool_)
    f = random_array(rng, (5,), am.float32)
    f[0] = 0
    assert_tensor(am.logical_not(am.tensor(f)), f == 0, dtype=am.bool_)
    assert_tensor(am.logical_not(am.zeros((0, 2))), np.zeros((0, 2), bool), dtype=am.bool_)


@pytest.mark.parametrize("name", ["abs", "square", "relu"])
def test_unary_of_bool(name):
    a = np.array([True, False, True])
    out = getattr(am, name)(am.tensor(a))
    np.testing.assert_array_equal(to_np(out).astype(np.int64), a.astype(np.int64))


# --- binary ----------------------------------------------------------------------------------

BROADCAST_PAIRS = [
    ((), ()),
    ((5,), ()),
    ((), (5,)),
    ((4, 5), (4, 5)),
    ((4, 5), (5,)),
    ((4, 1), (1, 5)),
    ((3, 1, 5), (4, 1)),
    ((2, 3, 4), (3, 1)),
    ((0, 3), (3,)),
    ((0, 3), (1, 3)),
    ((2, 0, 3), (1, 1)),
    ((1,), (0,)),
    ((33,), (33,)),
    ((1031,), (1,)),
    ((2, 1, 3, 1), (1, 4, 1, 5)),
]

ARITH = {
    "add": (operator.add, np.add),
    "subtract": (operator.sub, np.subtract),
    "multiply": (operator.mul, np.multiply),
    "divide": (operator.truediv, np.true_divide),
    "maximum": (None, np.maximum),
    "minimum": (None, np.minimum),
}
COMPARE = {
    "equal": (operator.eq, np.equal),
    "not_equal": (operator.ne, np.not_equal),
    "less": (operator.lt, np.less),
    "less_equal": (operator.le, np.less_equal),
    "greater": (operator.gt, np.greater),
    "greater_equal": (operator.ge, np.greater_equal),
}


def _binary_inputs(rng, sa, sb, dt, name):
    a = random_array(rng, sa, dt)
    b = random_array(rng, sb, dt)
    if name == "divide":
        b = np.where(b == 0, np.ones((), b.dtype), b).astype(b.dtype)
    if name in COMPARE and a.size and b.size and dt != am.bool_:
        # make some elements equal
        bb = np.broadcast_to(b, np.broadcast_shapes(sa, sb))
        a = np.array(np.broadcast_to(a, bb.shape))
        a.reshape(-1)[::3] = bb.reshape(-1)[::3]
        a = a[tuple(slice(0, n) for n in sa)] if a.shape != sa else a
    return a, b


@pytest.mark.parametrize("name", list(ARITH) + list(COMPARE))
@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
@pytest.mark.parametrize("dt", [am.float32, am.int32], ids=dtype_id)
def test_binary_broadcast(rng, name, shapes, dt):
    sa, sb = shapes
    a, b = _binary_inputs(rng, sa, sb, dt, name)
    ta, tb = am.tensor(a), am.tensor(b)
    ref = (ARITH.get(name) or COMPARE.get(name))[1]
    with np.errstate(all="ignore"):
        expected = ref(as_f64(a), as_f64(b))
    if name in COMPARE:
        want = am.bool_
    elif name == "divide" and dt not in FLOAT_DTYPES:
        want = am.float32
    else:
        want = dt
    if want != am.float32 and want != am.bool_:
        expected = expected.astype(np_dtype(want))
    out = getattr(am, name)(ta, tb)
    assert_tensor(out, expected, dtype=want)
    op = (ARITH.get(name) or COMPARE.get(name))[0]
    if op is not None:
        assert_tensor(op(ta, tb), expected, dtype=want)


@pytest.mark.parametrize("name", ["add", "subtract", "multiply", "divide", "maximum", "minimum", "less", "equal"])
@pytest.mark.parametrize("dt", FLOAT_DTYPES + INT_DTYPES, ids=dtype_id)
@pytest.mark.parametrize("la, lb", [("contiguous", "transposed"), ("strided", "offset"),
                                    ("from_numpy_strided", "strided"), ("transposed", "transposed")])
def test_binary_dtypes_layouts(rng, name, dt, la, lb):
    a, b = _binary_inputs(rng, (6, 5), (6, 5), dt, name)
    if dt == am.uint8 and name == "subtract":
        a, b = np.maximum(a, b), np.minimum(a, b)
    ta, tb = make_tensor(a, la), make_tensor(b, lb)
    ref = (ARITH.get(name) or COMPARE.get(name))[1]
    expected = ref(as_f64(a), as_f64(b))
    want = am.bool_ if name in COMPARE else (am.float32 if name == "divide" and dt in INT_DTYPES else dt)
    if want not in (am.bool_,):
        expected = expected.astype(np.float64 if want in FLOAT_DTYPES else np_dtype(want))
    assert_tensor(getattr(am, name)(ta, tb), expected, dtype=want)


def test_binary_broadcast_view_input(rng):
    a = rng.standard_normal((1, 5)).astype(np.float32)
    ta = am.broadcast_to(am.tensor(a), (4, 5))
    tb = make_tensor(rng.standard_normal((5, 4)).astype(np.float32), "contiguous").T
    assert_tensor(ta + tb, np.broadcast_to(a, (4, 5)) + to_np(tb), dtype=am.float32)
    assert_tensor(ta * ta, np.broadcast_to(a * a, (4, 5)), dtype=am.float32)


def test_integer_wraparound():
    a = am.tensor(np.array([250, 10], np.uint8))
    assert_tensor(a + am.tensor(np.array([10, 20], np.uint8)), np.array([4, 30], np.uint8), dtype=am.uint8)
    b = am.tensor(np.array([127, -128], np.int8))
    assert_tensor(b + am.tensor(np.array([1, -1], np.int8)), np.array([-128, 127], np.int8), dtype=am.int8)
    c = am.tensor(np.array([2**62], np.int64))
    assert_tensor(c * 4, np.array([0], np.int64), dtype=am.int64)


@pytest.mark.parametrize("dt", [am.int32, am.int64, am.int8, am.float32, am.float64], ids=dtype_id)
def test_remainder_python_semantics(rng, dt):
    a = random_array(rng, (50,), dt, low=-20, high=20)
    b = random_array(rng, (50,), dt, low=-7, high=7)
    b[b == 0] = 3
    expected = np.remainder(a, b)
    assert_tensor(am.remainder(am.tensor(a), am.tensor(b)), expected, dtype=dt)
    assert_tensor(am.tensor(a) % am.tensor(b), expected, dtype=dt)
    assert_tensor(am.tensor(a) % 3, np.remainder(a, np.array(3, a.dtype)), dtype=dt)


def test_integer_division_by_zero_does_not_crash():
    a = am.tensor(np.array([5, -5, 0], np.int32))
    z = am.zeros(3, dtype=am.int32)
    r = a % z  # NumPy gives 0 (with a warning); we must not trap
    assert r.dtype == am.int32 and r.shape == (3,)
    d = a / z  # true division: float32 inf / nan
    with np.errstate(all="ignore"):
        assert_tensor(d, np.array([5, -5, 0], np.float32) / np.float32(0), dtype=am.float32)
    m = am.tensor(np.array([np.iinfo(np.int64).min], np.int64))
    assert (m % -1).tolist() == [0]


@pytest.mark.parametrize("dt", [am.float32, am.float64, am.float16, am.bfloat16], ids=dtype_id)
def test_pow_float(rng, dt):
    a = random_array(rng, (4, 6), dt, low=0.1, high=3)
    b = random_array(rng, (6,), dt, low=-2, high=2)
    expected = np.power(as_f64(a), as_f64(b))
    rtol, atol = RED_TOL[dt]
    assert_tensor(am.power(am.tensor(a), am.tensor(b)), expected, dtype=dt, rtol=rtol, atol=atol)
    assert_tensor(am.tensor(a) ** am.tensor(b), expected, dtype=dt, rtol=rtol, atol=atol)
    assert_tensor(am.tensor(a) ** 2, as_f64(a) ** 2, dtype=dt, rtol=rtol, atol=atol)
    assert_tensor(2.0 ** am.tensor(b), 2.0 ** as_f64(b), dtype=dt, rtol=rtol, atol=atol)
    assert_tensor(am.pow(am.tensor(a), 0.5), np.sqrt(as_f64(a)), dtype=dt, rtol=rtol, atol=atol)


@pytest.mark.parametrize("dt", [am.int32, am.int64, am.uint8, am.int8], ids=dtype_id)
def test_pow_int(rng, dt):
    a = random_array(rng, (30,), dt, low=0 if dt == am.uint8 else -5, high=5)
    b = random_array(rng, (30,), dt, low=0, high=4)
    assert_tensor(am.tensor(a) ** am.tensor(b), np.power(a, b), dtype=dt)
    assert_tensor(am.tensor(a) ** 3, np.power(a, np.array(3, a.dtype)), dtype=dt)


@pytest.mark.parametrize("shapes", [((3, 4), (4,)), ((), (5,)), ((0, 2), (2,))], ids=str)
def test_logical_and_or(rng, shapes):
    a = random_array(rng, shapes[0], am.bool_)
    b = random_array(rng, shapes[1], am.bool_)
    ta, tb = am.tensor(a), am.tensor(b)
    assert_tensor(ta & tb, a & b, dtype=am.bool_)
    assert_tensor(ta | tb, a | b, dtype=am.bool_)
    assert_tensor(am.logical_and(ta, tb), a & b, dtype=am.bool_)
    assert_tensor(am.logical_or(ta, tb), a | b, dtype=am.bool_)
    x = random_array(rng, shapes[0], am.float32)
    assert_tensor(am.logical_and(am.tensor(x), tb), (x != 0) & b, dtype=am.bool_)


def test_bool_arithmetic_numpy_rules():
    a = np.array([True, True, False, False])
    b = np.array([True, False, True, False])
    ta, tb = am.tensor(a), am.tensor(b)
    assert_tensor(ta + tb, a + b, dtype=am.bool_)
    assert_tensor(ta * tb, a * b, dtype=am.bool_)
    assert_tensor(am.maximum(ta, tb), np.maximum(a, b), dtype=am.bool_)
    assert_tensor(am.minimum(ta, tb), np.minimum(a, b), dtype=am.bool_)
    assert_tensor(ta == tb, a == b, dtype=am.bool_)


def test_maximum_minimum_nan():
    a = np.array([np.nan, 1.0, 2.0, np.nan, -np.inf], np.float32)
    b = np.array([1.0, np.nan, 3.0, np.nan, 0.0], np.float32)
    assert_tensor(am.maximum(am.tensor(a), am.tensor(b)), np.maximum(a, b), dtype=am.float32)
    assert_tensor(am.minimum(am.tensor(a), am.tensor(b)), np.minimum(a, b), dtype=am.float32)


def test_comparisons_with_nan():
    a = np.array([np.nan, 1.0, np.nan], np.float32)
    b = np.array([np.nan, np.nan, 1.0], np.float32)
    for name, (op, ref) in COMPARE.items():
        assert_tensor(op(am.tensor(a), am.tensor(b)), ref(a, b), dtype=am.bool_)


# --- scalars: both sides, weak typing -----------------------------------------------------------


@pytest.mark.parametrize("op", [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow,
                                operator.mod, operator.lt, operator.ge, operator.eq, operator.ne])
@pytest.mark.parametrize("scalar", [2, 2.5, -3])
def test_scalar_operands_both_sides(rng, op, scalar):
    a = random_array(rng, (3, 4), am.float32, low=0.5, high=3)
    t = am.tensor(a)
    with np.errstate(all="ignore"):
        right = op(a.astype(np.float64), scalar)
        left = op(scalar, a.astype(np.float64))
    want = am.bool_ if isinstance(right.flat[0], np.bool_) else am.float32
    rtol = 1e-5 if op is operator.pow else None
    assert_tensor(op(t, scalar), right, dtype=want, rtol=rtol)
    assert_tensor(op(scalar, t), left, dtype=want, rtol=rtol)


def test_numpy_array_operands_both_sides(rng):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal((4,)).astype(np.float32)
    t = am.tensor(a)
    assert_tensor(t + b, a + b, dtype=am.float32)
    r = b + t  # ndarray defers to the Tensor's reflected operator
    assert isinstance(r, am.Tensor)
    assert_tensor(r, a + b, dtype=am.float32)
    assert_tensor(b - t, b - a, dtype=am.float32)
    assert_tensor(t * [1.0, 2.0, 3.0, 4.0], a * np.array([1, 2, 3, 4], np.float32), dtype=am.float32)


def test_unsupported_operand_returns_not_implemented():
    t = am.ones(3)
    with pytest.raises(TypeError):
        t + "abc"
    with pytest.raises(TypeError):
        t + None
    with pytest.raises(TypeError):
        object() * t


# --- where / clamp -------------------------------------------------------------------------------


@pytest.mark.parametrize("shapes", [((4, 5), (4, 5), (4, 5)), ((4, 1), (5,), ()), ((), (3,), (2, 1)),
                                    ((0, 3), (3,), (1,)), ((2, 3, 4), (1, 4), (3, 1))], ids=str)
@pytest.mark.parametrize("dt", [am.float32, am.int64, am.float16, am.bool_, am.uint8], ids=dtype_id)
def test_where(rng, shapes, dt):
    c = random_array(rng, shapes[0], am.bool_)
    a = random_array(rng, shapes[1], dt)
    b = random_array(rng, shapes[2], dt)
    expected = np.where(c, a, b)
    assert_tensor(am.where(am.tensor(c), am.tensor(a), am.tensor(b)), expected, dtype=dt)


def test_where_noncontiguous_and_scalars(rng):
    c = random_array(rng, (6, 5), am.bool_)
    a = random_array(rng, (6, 5), am.float32)
    b = random_array(rng, (6, 5), am.float32)
    out = am.where(make_tensor(c, "transposed"), make_tensor(a, "strided"), make_tensor(b, "offset"))
    assert_tensor(out, np.where(c, a, b), dtype=am.float32)
    assert_tensor(am.where(am.tensor(c), am.tensor(a), 0.0), np.where(c, a, np.float32(0)), dtype=am.float32)
    assert_tensor(am.where(am.tensor(c), 1.5, am.tensor(b)), np.where(c, np.float32(1.5), b), dtype=am.float32)
    i = am.where(am.tensor(c), 1, 0)
    assert_tensor(i, np.where(c, 1, 0), dtype=am.int64)
    assert_tensor(am.where(am.tensor(c), am.tensor(a), am.tensor(b.astype(np.float64))),
                  np.where(c, a.astype(np.float64), b.astype(np.float64)), dtype=am.float64)


@pytest.mark.parametrize("lo, hi", [(-1.0, 1.0), (None, 0.5), (-0.5, None), (2.0, 1.0), (0, 1)])
@pytest.mark.parametrize("dt", [am.float32, am.float64, am.float16, am.bfloat16], ids=dtype_id)
@pytest.mark.parametrize("shape", [(), (0, 4), (7, 9)], ids=str)
def test_clamp_float(rng, lo, hi, dt, shape):
    a = random_array(rng, shape, dt)
    expected = as_f64(a)
    if lo is not None:
        expected = np.maximum(expected, lo)
    if hi is not None:
        expected = np.minimum(expected, hi)
    t = make_tensor(a, "transposed" if len(shape) == 2 else "contiguous")
    assert_tensor(am.clamp(t, lo, hi), expected, dtype=dt)
    assert_tensor(t.clamp(min=lo, max=hi), expected, dtype=dt)
    assert_tensor(am.clip(t, lo, hi), expected, dtype=dt)


def test_clamp_int(rng):
    a = random_array(rng, (20,), am.int32, low=-50, high=50)
    assert_tensor(am.clamp(am.tensor(a), -10, 10), np.clip(a, -10, 10), dtype=am.int32)
    assert_tensor(am.clamp(am.tensor(a), min=0), np.maximum(a, 0), dtype=am.int32)
    u = random_array(rng, (20,), am.uint8, low=0, high=255)
    assert_tensor(am.clamp(am.tensor(u), -5, 300), u, dtype=am.uint8)
    # a float bound on an int tensor: the result is float32 (weak scalar promotion)
    f = am.clamp(am.tensor(a), -2.5, 2.5)
    assert_tensor(f, np.clip(a.astype(np.float32), -2.5, 2.5), dtype=am.float32)


def test_clamp_nan_propagates():
    a = np.array([np.nan, -3.0, 3.0], np.float32)
    assert_tensor(am.clamp(am.tensor(a), -1, 1), np.array([np.nan, -1, 1], np.float32), dtype=am.float32)


# --- results are fresh tensors of the right layout --------------------------------------------------


def test_results_are_contiguous_and_independent(rng):
    a = rng.standard_normal((4, 6)).astype(np.float32)
    t = make_tensor(a, "transposed")
    r = t + 1
    assert r.is_contiguous() and r.shape == (4, 6)
    r[0, 0] = 100.0
    assert_tensor(t, a)


def test_large_tensor_multithreaded(rng):
    a = rng.standard_normal((1 << 20) + 3).astype(np.float32)
    b = rng.standard_normal((1 << 20) + 3).astype(np.float32)
    ta, tb = am.tensor(a), am.tensor(b)
    assert_tensor(ta * tb + ta, a * b + a, dtype=am.float32, rtol=1e-6, atol=1e-6)
    assert_tensor(am.exp(ta), np.exp(a.astype(np.float64)), dtype=am.float32, rtol=2e-6, atol=1e-6)
    assert_tensor(am.sigmoid(ta[::2]), _sigmoid(a[::2].astype(np.float64)), dtype=am.float32, rtol=2e-6, atol=1e-6)

"""dtypes: promotion rules, weak Python scalars, casts between every pair, float16 / bfloat16
round trips."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import aimass as am
from conftest import ALL_DTYPES, FLOAT_DTYPES, INT_DTYPES, NP_BF16, assert_tensor, dtype_id, np_dtype, random_array

ORDER = [am.bool_, am.uint8, am.int8, am.int32, am.int64, am.float16, am.bfloat16, am.float32, am.float64]


def expected_promotion(a, b):
    """Our rule: NumPy's among integers (uint8 + int8 -> int32, as we have no int16), the
    float wins over any integer or bool (its category is higher), float16 + bfloat16 -> float32."""
    if a == b:
        return a
    if {a, b} == {am.float16, am.bfloat16}:
        return am.float32
    if {a, b} == {am.uint8, am.int8}:
        return am.int32
    if a in FLOAT_DTYPES and b in FLOAT_DTYPES:
        return max(a, b, key=lambda d: d.itemsize)
    if a in FLOAT_DTYPES:
        return a
    if b in FLOAT_DTYPES:
        return b
    return max(a, b, key=ORDER.index)


@pytest.mark.parametrize("a, b", list(itertools.product(ALL_DTYPES, ALL_DTYPES)),
                         ids=lambda d: str(d))
def test_promote_types(a, b):
    want = expected_promotion(a, b)
    assert am.promote_types(a, b) == want
    assert am.promote_types(b, a) == want
    # and the same rule in a binary op
    ta, tb = am.ones(2, dtype=a), am.ones(2, dtype=b)
    if want != am.bool_:
        assert (ta * tb).dtype == want
    assert am.maximum(ta, tb).dtype == want
    assert am.where(am.ones(2, dtype=am.bool_), ta, tb).dtype == want
    assert (ta == tb).dtype == am.bool_


def test_promote_types_matches_numpy_where_numpy_has_the_answer():
    for a, b in itertools.product(INT_DTYPES + [am.bool_, am.float32, am.float64], repeat=2):
        if {a, b} == {am.uint8, am.int8}:
            continue
        if (a in INT_DTYPES and b in FLOAT_DTYPES) or (b in INT_DTYPES and a in FLOAT_DTYPES):
            continue  # NumPy widens int32/int64 + float32 to float64; we keep the float
        assert np_dtype(am.promote_types(a, b)) == np.promote_types(np_dtype(a), np_dtype(b)), (a, b)


def test_promote_types_accepts_strings_and_numpy():
    assert am.promote_types("int32", np.float16) == am.float16
    assert am.promote_types(np.dtype("uint8"), "int8") == am.int32


@pytest.mark.parametrize(
    "dt, scalar, want",
    [(am.float32, 2.5, am.float32), (am.float16, 2.5, am.float16), (am.bfloat16, 1, am.bfloat16),
     (am.float64, 1, am.float64), (am.int32, 2, am.int32), (am.int32, 2.5, am.float32), (am.uint8, 3, am.uint8),
     (am.int8, 1.0, am.float32), (am.bool_, 1, am.int64), (am.bool_, 1.5, am.float32), (am.bool_, True, am.bool_),
     (am.int64, True, am.int64), (am.float32, True, am.float32)],
)
def test_weak_scalars(dt, scalar, want):
    t = am.ones((2, 3), dtype=dt)
    for r in ((t + scalar), (scalar + t), (t * scalar), am.add(t, scalar), am.add(scalar, t)):
        assert r.dtype == want, (dt, scalar, r.dtype)
    expected = np.ones((2, 3)) + float(scalar)
    if want != am.bool_:
        assert_tensor(t + scalar, expected.astype(np_dtype(want)), dtype=want)


def test_integer_true_division_is_float32():
    a = am.tensor(np.array([1, 2, 7], np.int64))
    out = a / 2
    assert_tensor(out, np.array([0.5, 1.0, 3.5]), dtype=am.float32)
    out = a / am.tensor(np.array([2, 4, 7], np.int8))
    assert_tensor(out, np.array([0.5, 0.5, 1.0]), dtype=am.float32)
    assert (am.ones(3, dtype=am.float64) / a).dtype == am.float64
    assert (am.ones(3, dtype=am.float16) / a).dtype == am.float16


@pytest.mark.parametrize("dt", INT_DTYPES + [am.bool_], ids=dtype_id)
def test_reduction_result_dtypes(dt):
    t = am.ones((3, 4), dtype=dt)
    assert am.sum(t).dtype == am.int64
    assert am.sum(t, axis=0).dtype == am.int64
    assert am.mean(t).dtype == am.float32
    if dt != am.bool_:
        assert am.prod(t).dtype == am.int64
        assert am.var(t).dtype == am.float32
        assert am.max(t).dtype == dt


# --- casts -----------------------------------------------------------------------------------------


def _cast_source(rng, src):
    if src == am.bool_:
        return random_array(rng, (5, 7), src)
    if src in INT_DTYPES:
        return random_array(rng, (5, 7), src, low=0, high=100)
    # floats within every target's range, with fractions to test truncation toward zero
    a = rng.uniform(-100, 100, size=(5, 7))
    a[0, :4] = [0.0, -0.0, 0.5, -0.7]
    return a.astype(np_dtype(src))


@pytest.mark.parametrize("src, dst", list(itertools.product(ALL_DTYPES, ALL_DTYPES)), ids=lambda d: str(d))
def test_casts(rng, src, dst):
    a = _cast_source(rng, src)
    t = am.tensor(a)
    if src in FLOAT_DTYPES and dst in (am.uint8,):
        a = np.abs(a)  # NumPy's float -> uint8 of negatives is platform dependent
        t = am.tensor(a)
    if src in FLOAT_DTYPES and dst == am.int8:
        a = np.clip(a.astype(np.float64), -100, 100).astype(a.dtype)
        t = am.tensor(a)
    via = a.astype(np.float64) if src in (am.bfloat16,) else a
    expected = via.astype(np_dtype(dst))
    for out in (t.to(dst), t.to(dtype=dst), am.asarray(t, dtype=dst)):
        assert_tensor(out, expected, dtype=dst, rtol=0, atol=0)
    # the same from a non-contiguous source
    assert_tensor(t.T.to(dst), expected.T, dtype=dst, rtol=0, atol=0)


@pytest.mark.parametrize("spec", [am.float16, "float16", np.float16, np.dtype("float16"), "half"])
def test_to_dtype_specs(spec):
    assert am.ones(2).to(spec).dtype == am.float16


def test_to_same_dtype_no_copy_unless_asked():
    t = am.ones(3)
    assert t.to(am.float32).data_ptr() == t.data_ptr()
    assert t.to(am.float32, copy=True).data_ptr() != t.data_ptr()
    assert t.to("cpu").data_ptr() == t.data_ptr()
    assert t.to("cpu", am.float64).dtype == am.float64
    assert t.cpu().data_ptr() == t.data_ptr()


def test_float_to_int_special_values():
    a = am.tensor(np.array([np.nan, np.inf, -np.inf, 1e20, -1e20, 2.9, -2.9], np.float32))
    out = a.to(am.int64)  # must not crash; NaN -> 0, saturating
    v = out.tolist()
    assert v[0] == 0 and v[1] == np.iinfo(np.int64).max and v[2] == np.iinfo(np.int64).min
    assert v[5:] == [2, -2]
    assert a.to(am.int32).shape == (7,)
    assert a.to(am.bool_).tolist() == [True, True, True, True, True, True, True]


def test_float16_round_trip(rng):
    a = rng.standard_normal(1000).astype(np.float32) * 100
    t = am.tensor(a).to(am.float16)
    assert_tensor(t, a.astype(np.float16), dtype=am.float16, rtol=0, atol=0)
    assert_tensor(t.to(am.float32), a.astype(np.float16).astype(np.float32), rtol=0, atol=0)
    special = np.array([65504, 70000, -70000, 6e-8, 1e-9, np.inf, np.nan, -0.0], np.float32)
    with np.errstate(over="ignore"):
        expected = special.astype(np.float16)
    assert_tensor(am.tensor(special).to(am.float16), expected, rtol=0, atol=0)


def test_bfloat16_round_trip(rng):
    if NP_BF16 is None:
        pytest.skip("ml_dtypes is not installed")
    a = (rng.standard_normal(1000) * 1e3).astype(np.float32)
    a[:6] = [1.0 + 2**-8, 1.0 + 3 * 2**-8, 3e38, -3e38, np.inf, np.nan]  # ties round to even
    t = am.tensor(a).to(am.bfloat16)
    assert_tensor(t, a.astype(NP_BF16), dtype=am.bfloat16, rtol=0, atol=0)
    assert_tensor(t.to(am.float32), a.astype(NP_BF16).astype(np.float32), rtol=0, atol=0)
    assert_tensor(t.to(am.float64), a.astype(NP_BF16).astype(np.float64), rtol=0, atol=0)


@pytest.mark.parametrize("dt", [am.float16, am.bfloat16], ids=dtype_id)
def test_half_arithmetic_rounds_once(rng, dt):
    a = random_array(rng, (100,), dt)
    b = random_array(rng, (100,), dt)
    got = (am.tensor(a) + am.tensor(b)).to(am.float64).numpy()
    want = (a.astype(np.float32) + b.astype(np.float32)).astype(np_dtype(dt)).astype(np.float64)
    np.testing.assert_array_equal(got, want)


def test_dtype_attributes():
    assert [d.itemsize for d in ORDER] == [1, 1, 1, 4, 8, 2, 2, 4, 8]
    assert [d.is_floating_point for d in ORDER] == [False] * 5 + [True] * 4
    assert am.half == am.float16 and am.double == am.float64
    assert am.tensor([1.0]).itemsize == 4

"""Indexing against NumPy: ints, slices (negative steps too), None, Ellipsis, integer
lists / arrays / tensors, boolean masks, their mixes; __setitem__ with the same indices."""
from __future__ import annotations

import numpy as np
import pytest

import aimass as am
from conftest import LAYOUTS, assert_tensor, make_tensor, random_array, to_np

# Index expressions for a (4, 5, 6) array. Lists and arrays become advanced indices.
INDICES = [
    0,
    -1,
    (1, 2),
    (1, 2, 3),
    (-4, -5, -6),
    slice(None),
    slice(1, 3),
    slice(None, None, 2),
    slice(None, None, -1),
    slice(3, 0, -2),
    slice(-2, None),
    slice(10, 20),
    slice(-100, 100),
    (slice(None), 2),
    (slice(1, None), slice(None, None, -1), slice(None, None, 3)),
    (Ellipsis, 1),
    (1, Ellipsis),
    (Ellipsis,),
    (None,),
    (None, 1, None),
    (slice(None), None, 2),
    (Ellipsis, None),
    (0, Ellipsis, None, slice(None, None, -2)),
    [0, 2, 3],
    [-1, 0, -1],
    [[0, 1], [2, 3]],
    ([0, 1], [2, 3]),
    ([0, 1], slice(None), [2, 3]),
    (slice(None), [4, 0, 1]),
    (slice(None), [0, 1], [2, 3]),
    (1, [0, 4], slice(1, 3)),
    (0, slice(None), [1, 2]),
    (slice(None), 1, slice(None)),
    ([[0], [3]], [[1, 2]]),
    (Ellipsis, [5, 0]),
    (None, [1, 2]),
    (slice(None, None, -1), [1, 3]),
    np.array([3, 1]),
    np.array(2),
    (np.array([0, 1]), np.array([[1], [2]])),
    [],
]


def _index_key(idx):
    return repr(idx).replace(" ", "")


def _as_ours(idx, kind):
    """The same index with the array parts as lists, NumPy arrays or aimass tensors."""
    def conv(x):
        if isinstance(x, (list, np.ndarray)):
            arr = np.asarray(x, dtype=np.int64) if not (isinstance(x, np.ndarray) and x.dtype == bool) else x
            if kind == "tensor":
                return am.tensor(arr)
            if kind == "numpy":
                return arr
        return x
    if isinstance(idx, tuple):
        return tuple(conv(x) for x in idx)
    return conv(idx)


@pytest.mark.parametrize("idx", INDICES, ids=_index_key)
@pytest.mark.parametrize("kind", ["list", "numpy", "tensor"])
def test_getitem(rng, idx, kind):
    a = random_array(rng, (4, 5, 6), am.float32)
    t = am.tensor(a)
    expected = a[idx]
    assert_tensor(t[_as_ours(idx, kind)], expected, dtype=am.float32)


@pytest.mark.parametrize("idx", INDICES, ids=_index_key)
@pytest.mark.parametrize("layout", ["transposed", "strided", "from_numpy_strided"])
def test_getitem_noncontiguous(rng, idx, layout):
    a = random_array(rng, (4, 5, 6), am.int32)
    t = make_tensor(a, layout)
    assert_tensor(t[idx], a[idx], dtype=am.int32)


@pytest.mark.parametrize("idx", [(), 0, -1, [0, 0, 2], slice(None, None, -1), (None,), Ellipsis, slice(1, 2)],
                         ids=_index_key)
def test_getitem_1d(idx):
    a = np.arange(5, dtype=np.float64) * 1.5
    assert_tensor(am.tensor(a)[idx], a[idx])


def test_getitem_0d():
    a = np.array(3.5, np.float32)
    t = am.tensor(a)
    assert_tensor(t[()], a[()])
    assert_tensor(t[...], a[...])
    assert_tensor(t[None], a[None])
    assert_tensor(t[None, ..., None], a[None, ..., None])
    assert_tensor(t[np.array(True)], a[np.array(True)])
    assert_tensor(t[np.array(False)], a[np.array(False)])


def test_getitem_empty_dims():
    a = np.zeros((0, 3), np.float32)
    t = am.tensor(a)
    assert_tensor(t[:, 1], a[:, 1])
    assert_tensor(t[::-1], a[::-1])
    assert_tensor(t[[]], a[np.array([], np.int64)])
    assert_tensor(t[:, [0, 2]], a[:, [0, 2]])
    assert_tensor(t[np.zeros((0, 3), bool)], a[np.zeros((0, 3), bool)])


@pytest.mark.parametrize("mask_shape", [(4,), (4, 5), (4, 5, 6)], ids=str)
@pytest.mark.parametrize("kind", ["numpy", "tensor", "comparison"])
def test_boolean_mask(rng, mask_shape, kind):
    a = random_array(rng, (4, 5, 6), am.float32)
    mask = rng.random(mask_shape) < 0.4
    t = am.tensor(a)
    if kind == "numpy":
        m = mask
    elif kind == "tensor":
        m = am.tensor(mask)
    else:
        m = am.tensor(rng.random(mask_shape) < 0.4)
        mask = to_np(m)
    assert_tensor(t[m], a[mask])
    if len(mask_shape) == 1:
        assert_tensor(t[:, :, 0][m], a[:, :, 0][mask])
        assert_tensor(t[m, 1:3], a[mask, 1:3])
    if len(mask_shape) == 2:
        assert_tensor(t[m, 2], a[mask, 2])


def test_boolean_mask_from_comparison(rng):
    a = random_array(rng, (30,), am.float32)
    t = am.tensor(a)
    assert_tensor(t[t > 0], a[a > 0])
    assert_tensor(t[(t > 0) & (t < 1)], a[(a > 0) & (a < 1)])
    s = am.tensor(random_array(rng, (5, 6), am.float32)).T
    assert_tensor(s[s < 0], to_np(s)[to_np(s) < 0])


def test_integer_tensor_dtypes(rng):
    a = random_array(rng, (6, 4), am.float32)
    t = am.tensor(a)
    for dt in (np.int32, np.int64, np.uint8, np.int8):
        idx = np.array([5, 0, 2], dt)
        assert_tensor(t[am.tensor(idx)], a[idx])
        assert_tensor(t[idx], a[idx])
    nc = am.tensor(np.array([[0, 9], [1, 9], [3, 9]]))[:, 0]  # a strided index tensor
    assert_tensor(t[nc], a[[0, 1, 3]])


def test_basic_index_is_view_advanced_is_copy():
    t = am.zeros((4, 5))
    t[1][2] = 3.0
    assert t[1, 2].item() == 3.0
    v = t[1:3, ::2]
    v[0, 0] = 7.0
    assert t[1, 0].item() == 7.0
    c = t[[1, 2]]
    c[0, 0] = -1.0
    assert t[1, 0].item() == 7.0
    r = t[::-1]
    r[0, 0] = -5.0  # negative steps return copies
    assert t[3, 0].item() == 0.0


def test_iteration_and_len(rng):
    a = random_array(rng, (3, 4), am.int64)
    t = am.tensor(a)
    assert len(t) == 3
    rows = list(t)
    assert len(rows) == 3
    for r, ra in zip(rows, a):
        assert_tensor(r, ra)


# --- __setitem__ --------------------------------------------------------------------------------

SET_INDICES = [
    0,
    -1,
    (1, 2),
    (1, 2, 3),
    slice(1, 3),
    slice(None, None, 2),
    (slice(None), slice(None, None, 2), 1),
    (Ellipsis, 1),
    (None, 1),
    slice(None, None, -1),
    (slice(None), slice(4, 0, -2)),
    [0, 2],
    [2, 2],
    ([0, 1], [2, 3]),
    (slice(None), [4, 0, 1]),
    ([0, 1], slice(None), [2, 3]),
    (1, [0, 4], slice(1, 3)),
    [],
]


@pytest.mark.parametrize("idx", SET_INDICES, ids=_index_key)
@pytest.mark.parametrize("value_kind", ["scalar", "full", "broadcast", "numpy", "int_scalar"])
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_setitem(rng, idx, value_kind, layout):
    a = random_array(rng, (4, 5, 6), am.float32)
    t = make_tensor(a, layout)
    expected = a.copy()
    target_shape = expected[idx].shape
    if value_kind == "scalar":
        value = 2.5
        np_value = value
    elif value_kind == "int_scalar":
        value = 3
        np_value = value
    elif value_kind == "full":
        np_value = random_array(rng, target_shape, am.float32)
        value = am.tensor(np_value)
    elif value_kind == "broadcast":
        np_value = random_array(rng, target_shape[-1:] if target_shape else (), am.float32)
        value = am.tensor(np_value)
    else:
        np_value = random_array(rng, target_shape, am.float64)
        value = np_value
    expected[idx] = np_value
    t[idx] = value
    assert_tensor(t, expected, dtype=am.float32)


def test_setitem_mask(rng):
    a = random_array(rng, (5, 6), am.float32)
    t = am.tensor(a)
    expected = a.copy()
    expected[expected < 0] = 0
    t[t < 0] = 0.0
    assert_tensor(t, expected)
    m = rng.random(5) < 0.5
    expected[m] = np.arange(6, dtype=np.float32)
    t[am.tensor(m)] = am.arange(6).to(am.float32)
    assert_tensor(t, expected)
    vals = rng.standard_normal(int((expected > 0.5).sum())).astype(np.float32)
    t[t > 0.5] = vals
    expected[expected > 0.5] = vals
    assert_tensor(t, expected)


def test_setitem_casts_value(rng):
    t = am.zeros((3, 4), dtype=am.int32)
    t[0] = 2.7  # truncated, as NumPy
    t[1] = am.tensor([1.9, -1.9, 3.0, 4.0])
    t[2, 1:3] = np.array([True, False])
    expected = np.zeros((3, 4), np.int32)
    expected[0] = 2.7
    expected[1] = np.array([1.9, -1.9, 3.0, 4.0])
    expected[2, 1:3] = np.array([True, False])
    assert_tensor(t, expected, dtype=am.int32)


def test_setitem_from_view_of_itself():
    a = np.arange(10, dtype=np.float32)
    t = am.tensor(a)
    t[1:4] = t[0:3].clone()
    a[1:4] = a[0:3].copy()
    assert_tensor(t, a)


def test_setitem_0d():
    t = am.tensor(1.0)
    t[()] = 5.0
    assert t.item() == 5.0
    t[...] = am.tensor(6.0)
    assert t.item() == 6.0


def test_setitem_through_view_updates_base(rng):
    a = random_array(rng, (4, 6), am.float32)
    t = am.tensor(a)
    v = t.T[::2]  # (3, 4) view
    v[1] = 9.0
    a.T[::2][1] = 9.0
    assert_tensor(t, a)


@pytest.mark.parametrize("seed", range(10))
def test_random_basic_indices(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(int(s) for s in rng.integers(1, 6, size=int(rng.integers(1, 4))))
    a = rng.standard_normal(shape).astype(np.float32)
    t = make_tensor(a, LAYOUTS[seed % len(LAYOUTS)])
    for _ in range(8):
        idx = []
        for n in shape:
            r = rng.random()
            if r < 0.3:
                idx.append(int(rng.integers(-n, n)))
            elif r < 0.8:
                start, stop = (int(v) for v in rng.integers(-n - 1, n + 2, size=2))
                step = int(rng.choice([-3, -2, -1, 1, 2, 3]))
                idx.append(slice(start, stop, step))
            else:
                idx.append(rng.integers(-n, n, size=int(rng.integers(0, 4))).tolist())
                if sum(isinstance(i, list) for i in idx) > 1:
                    idx[-1] = slice(None)
        idx = tuple(idx)
        assert_tensor(t[idx], a[idx])

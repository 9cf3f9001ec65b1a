"""Views and layout against NumPy: reshape / view / flatten, transpose / permute / T / swapaxes,
squeeze / unsqueeze, expand / broadcast_to, concatenate / stack, contiguous / clone."""
from __future__ import annotations

import numpy as np
import pytest

import aimass as am
from conftest import ALL_DTYPES, LAYOUTS, assert_tensor, dtype_id, make_tensor, random_array, to_np


@pytest.mark.parametrize("src, dst", [((2, 3, 4), (6, 4)), ((2, 3, 4), (-1,)), ((2, 3, 4), (4, -1)),
                                      ((24,), (2, 3, 4)), ((), (1, 1)), ((1, 1), ()), ((0, 3), (3, 0)),
                                      ((0, 3), (-1, 3)), ((5,), (5, 1)), ((2, 3, 4), (2, 1, 12, 1))], ids=str)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_reshape(rng, src, dst, layout):
    a = random_array(rng, src, am.float32)
    t = make_tensor(a, layout)
    expected = a.reshape(dst)
    assert_tensor(am.reshape(t, dst), expected)
    assert_tensor(t.reshape(dst), expected)
    assert_tensor(t.reshape(*dst) if len(dst) != 1 else t.reshape(dst[0]), expected)


def test_reshape_of_contiguous_is_a_view():
    t = am.arange(12).reshape(3, 4)
    v = t.reshape(2, 6)
    v[0, 0] = 100
    assert t[0, 0].item() == 100
    w = t.view(4, 3)
    w[3, 2] = -1
    assert t[2, 3].item() == -1
    assert t.view(-1).shape == (12,)


def test_view_of_compatible_noncontiguous():
    a = np.arange(24).reshape(2, 3, 4)
    t = am.tensor(a)[:, :, ::2]  # (2, 3, 2), last dim strided
    assert_tensor(t.view(6, 2), a[:, :, ::2].reshape(6, 2))
    tt = am.tensor(a).permute(1, 0, 2)  # (3, 2, 4): last dim still contiguous
    assert_tensor(tt.view(3, 2, 2, 2), a.transpose(1, 0, 2).reshape(3, 2, 2, 2))


def test_view_incompatible_raises_reshape_copies():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    t = am.tensor(a).T
    with pytest.raises(ValueError):
        t.view(12)
    r = t.reshape(12)
    assert_tensor(r, a.T.reshape(12))
    r[0] = 99.0
    assert a[0, 0] == 0  # a copy


@pytest.mark.parametrize("shape, s, e", [((2, 3, 4), 0, -1), ((2, 3, 4), 1, 2), ((2, 3, 4), 0, 1), ((), 0, -1),
                                         ((5,), 0, 0), ((2, 0, 3), 0, -1)], ids=str)
def test_flatten(rng, shape, s, e):
    a = random_array(rng, shape, am.float32)
    t = make_tensor(a, "transposed")
    if a.ndim == 0:
        expected = a.reshape(1)
    else:
        e_ = e % a.ndim
        expected = a.reshape(a.shape[:s] + (-1,) + a.shape[e_ + 1:]) if a.size else a.reshape(
            a.shape[:s] + (int(np.prod(a.shape[s:e_ + 1])),) + a.shape[e_ + 1:])
    assert_tensor(am.flatten(t, s, e), expected)
    assert_tensor(t.flatten(s, e), expected)


@pytest.mark.parametrize("shape", [(), (5,), (2, 3), (2, 3, 4), (2, 0, 3)], ids=str)
def test_transpose_T_permute(rng, shape):
    a = random_array(rng, shape, am.int32)
    t = make_tensor(a, "strided")
    assert_tensor(t.T, a.T)
    assert_tensor(am.transpose(t), a.T)
    assert_tensor(t.transpose(), a.T)
    for perm in [tuple(np.random.default_rng(i).permutation(a.ndim)) for i in range(3)]:
        perm = tuple(int(p) for p in perm)
        assert_tensor(am.permute(t, perm), a.transpose(perm))
        assert_tensor(t.permute(*perm) if perm else t.permute(perm), a.transpose(perm))
        assert_tensor(am.transpose(t, perm), a.transpose(perm))
    if a.ndim >= 2:
        assert_tensor(am.swapaxes(t, 0, -1), np.swapaxes(a, 0, -1))
        assert_tensor(t.transpose(0, 1), np.swapaxes(a, 0, 1))
        assert_tensor(t.permute(*[-1 - i for i in range(a.ndim)]), a.transpose(tuple(range(a.ndim))[::-1]))


def test_transpose_is_a_view():
    t = am.zeros((2, 3))
    t.T[2, 1] = 5.0
    assert t[1, 2].item() == 5.0
    assert not t.T.is_contiguous()
    assert t.T.strides == (1, 3)


@pytest.mark.parametrize("shape", [(1, 3, 1, 4), (1,), (), (3, 4), (1, 0, 1)], ids=str)
def test_squeeze_unsqueeze(rng, shape):
    a = random_array(rng, shape, am.float32)
    t = make_tensor(a, "offset")
    assert_tensor(am.squeeze(t), np.squeeze(a))
    assert_tensor(t.squeeze(), np.squeeze(a))
    for ax in range(-a.ndim, a.ndim):
        if a.shape[ax] == 1:
            assert_tensor(t.squeeze(ax), np.squeeze(a, ax))
            assert_tensor(am.squeeze(t, axis=ax), np.squeeze(a, ax))
    for ax in range(-a.ndim - 1, a.ndim + 1):
        assert_tensor(t.unsqueeze(ax), np.expand_dims(a, ax))
        assert_tensor(am.unsqueeze(t, ax), np.expand_dims(a, ax))
        assert_tensor(am.expand_dims(t, ax), np.expand_dims(a, ax))


def test_unsqueeze_of_noncontiguous(rng):
    a = rng.standard_normal((4, 6)).astype(np.float32)
    t = am.tensor(a)[:, ::2].T  # (3, 4)
    for ax in range(-3, 3):
        u = t.unsqueeze(ax)
        assert_tensor(u, np.expand_dims(a[:, ::2].T, ax))
        assert_tensor(u + 1, np.expand_dims(a[:, ::2].T, ax) + 1)
        assert_tensor(u.reshape(-1), a[:, ::2].T.reshape(-1))


@pytest.mark.parametrize("src, dst", [((3,), (2, 3)), ((1,), (4,)), ((), (2, 2)), ((2, 1), (2, 5)),
                                      ((1, 3, 1), (4, 3, 2)), ((3,), (0, 3)), ((1,), (0,)), ((2, 3), (2, 3))],
                         ids=str)
def test_broadcast_to_expand(rng, src, dst):
    a = random_array(rng, src, am.float32)
    t = am.tensor(a)
    expected = np.broadcast_to(a, dst)
    assert_tensor(am.broadcast_to(t, dst), expected)
    assert_tensor(t.broadcast_to(dst), expected)
    assert_tensor(t.expand(*dst) if dst else t.expand(dst), expected)
    e = am.broadcast_to(t, dst)
    assert_tensor(e.contiguous(), expected)
    assert_tensor(e.sum(axis=0) if e.ndim else e, expected.sum(axis=0) if expected.ndim else expected, rtol=1e-5)


def test_broadcast_shapes():
    assert am.broadcast_shapes((2, 1), (3,)) == (2, 3)
    assert am.broadcast_shapes((), (4, 1), (1, 5)) == (4, 5)
    assert am.broadcast_shapes((0,), (1,)) == (0,)
    with pytest.raises(ValueError):
        am.broadcast_shapes((2,), (3,))


@pytest.mark.parametrize("shapes, axis", [([(2, 3), (4, 3)], 0), ([(2, 3), (2, 5)], 1), ([(2, 3), (2, 5)], -1),
                                          ([(0, 3), (2, 3)], 0), ([(3,), (0,), (4,)], 0),
                                          ([(2, 3, 4)] * 3, 1), ([(1, 2)], 0)], ids=str)
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "strided"])
def test_concatenate(rng, shapes, axis, layout):
    arrays = [random_array(rng, s, am.float32) for s in shapes]
    tensors = [make_tensor(a, layout) for a in arrays]
    expected = np.concatenate(arrays, axis=axis)
    assert_tensor(am.concatenate(tensors, axis=axis), expected)
    assert_tensor(am.cat(tensors, axis), expected)
    assert_tensor(am.concatenate(tuple(tensors), axis=axis), expected)


def test_concatenate_promotes_and_accepts_arrays():
    a = am.tensor(np.array([1, 2], np.int32))
    b = am.tensor(np.array([0.5], np.float32))
    assert_tensor(am.concatenate([a, b]), np.array([1, 2, 0.5], np.float32), dtype=am.float32)
    c = am.concatenate([a, np.array([7, 8], np.int64)])
    assert_tensor(c, np.array([1, 2, 7, 8]), dtype=am.int64)


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (0, 2)], ids=str)
@pytest.mark.parametrize("dt", ALL_DTYPES, ids=dtype_id)
def test_stack(rng, shape, dt):
    arrays = [random_array(rng, shape, dt) for _ in range(3)]
    for axis in range(-len(shape) - 1, len(shape) + 1):
        expected = np.stack(arrays, axis=axis)
        assert_tensor(am.stack([make_tensor(a, "offset") for a in arrays], axis=axis), expected, dtype=dt)


def test_contiguous_and_clone(rng):
    a = rng.standard_normal((5, 4)).astype(np.float32)
    t = am.tensor(a)
    assert am.contiguous(t).data_ptr() == t.data_ptr()  # already contiguous: no copy
    tt = t.T
    c = tt.contiguous()
    assert c.is_contiguous() and c.strides == (5, 1)
    assert_tensor(c, a.T)
    assert_tensor(am.contiguous(tt), a.T)
    k = tt.clone()
    assert k.data_ptr() != t.data_ptr()
    k[0, 0] = 100.0
    assert t[0, 0].item() == a[0, 0]
    z = am.tensor(3.0).clone()
    assert z.shape == () and z.item() == 3.0


def test_strides_in_elements():
    t = am.zeros((2, 3, 4), dtype=am.float64)
    assert t.strides == (12, 4, 1)
    assert t.permute(2, 0, 1).strides == (1, 12, 4)
    assert t[:, ::2].strides == (12, 8, 1)
    assert am.zeros(()).strides == ()


def test_views_share_memory_through_chains():
    base = am.zeros((4, 6))
    v = base.T[1:, ::2].unsqueeze(0)  # (1, 5, 2)
    v[0, 0, 1] = 7.0
    assert to_np(base)[2, 1] == 7.0
    assert base.sum().item() == 7.0

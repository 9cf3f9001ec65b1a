"""Interop: NumPy zero-copy both ways, the buffer protocol, __array__, DLPack (NumPy's own,
and PyTorch / CuPy where installed), .tolist(), .item(), repr."""
from __future__ import annotations

import gc

import numpy as np
import pytest

import aimass as am
from conftest import ALL_DTYPES, NP_BF16, assert_tensor, dtype_id, np_dtype, random_array

NUMPY_DTYPES = [am.bool_, am.uint8, am.int8, am.int32, am.int64, am.float16, am.float32, am.float64]


# --- NumPy in ----------------------------------------------------------------------------------


@pytest.mark.parametrize("dt", ALL_DTYPES, ids=dtype_id)
def test_from_numpy_zero_copy(rng, dt):
    a = random_array(rng, (3, 4), dt)
    t = am.from_numpy(a)
    assert t.dtype == dt and t.shape == (3, 4)
    assert t.data_ptr() == a.ctypes.data
    assert_tensor(t, a)
    a[1, 2] = a[0, 0]
    a[0, 0] = a[2, 3]
    assert_tensor(t, a)


def test_from_numpy_writes_through():
    a = np.zeros((2, 3), np.float32)
    t = am.from_numpy(a)
    t[1, 1] = 5.0
    t[0] = am.tensor([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(a, [[1, 2, 3], [0, 5, 0]])


@pytest.mark.parametrize("view", ["T", "step", "offset", "reverse", "reverse2d", "broadcast", "0d", "empty"])
def test_from_numpy_views(rng, view):
    base = rng.standard_normal((6, 8)).astype(np.float32)
    a = {
        "T": base.T,
        "step": base[::2, 1::3],
        "offset": base[2:, 3:],
        "reverse": base[::-1],
        "reverse2d": base[::-2, ::-1],
        "broadcast": np.broadcast_to(base[0], (5, 8)),
        "0d": base[1, 1, ...],
        "empty": base[:0, ::2],
    }[view]
    t = am.from_numpy(a) if a.flags.writeable else am.from_numpy(a)
    assert_tensor(t, a, dtype=am.float32)
    assert_tensor(t + 1, a + 1, dtype=am.float32)
    assert_tensor(t.sum(axis=0), a.sum(axis=0, dtype=np.float64), dtype=am.float32, rtol=1e-5, atol=1e-5)
    if view in ("T", "step", "offset"):
        assert t.data_ptr() == a.ctypes.data  # still a view


def test_from_numpy_readonly_copies():
    a = np.arange(6, dtype=np.float32)
    a.flags.writeable = False
    t = am.from_numpy(a)
    t[0] = 10.0  # must not write into read-only memory
    assert a[0] == 0 and t[0].item() == 10.0


def test_from_numpy_misaligned_strides_copy():
    raw = np.zeros(4 * 10 + 1, np.uint8)
    a = raw[1:].view(np.float32) if False else np.frombuffer(raw.tobytes()[1:], np.float32)
    rec = np.zeros(5, dtype=[("a", np.int8), ("b", np.float32)])
    rec["b"] = np.arange(5)
    b = rec["b"]  # byte stride 5: not a multiple of 4
    t = am.from_numpy(b)
    assert_tensor(t, np.arange(5, dtype=np.float32), dtype=am.float32)
    assert a.dtype == np.float32


def test_from_numpy_keeps_array_alive():
    t = am.from_numpy(np.arange(1000, dtype=np.int64))
    gc.collect()
    assert t.sum().item() == 999 * 1000 // 2


def test_from_numpy_unsupported_dtype():
    for a in (np.zeros(3, np.complex64), np.zeros(3, np.int16), np.zeros(3, np.uint32), np.array(["a"]),
              np.zeros(3, object)):
        with pytest.raises(TypeError):
            am.from_numpy(a)


# --- NumPy out -----------------------------------------------------------------------------------


@pytest.mark.parametrize("dt", NUMPY_DTYPES, ids=dtype_id)
def test_numpy_zero_copy(rng, dt):
    a = random_array(rng, (4, 3), dt)
    t = am.tensor(a)
    n = t.numpy()
    assert n.dtype == np_dtype(dt) and n.shape == (4, 3)
    assert n.ctypes.data == t.data_ptr()
    n[0, 0] = n[3, 2]
    assert_tensor(t, n)
    assert np.shares_memory(np.asarray(t), n)


def test_numpy_of_views_keeps_strides():
    t = am.arange(24).reshape(2, 3, 4)
    for v in (t.T, t[:, ::2], t[1], t.permute(1, 2, 0)[::2]):
        n = v.numpy()
        assert n.strides == tuple(s * 8 for s in v.strides)
        assert n.ctypes.data == v.data_ptr()
        np.testing.assert_array_equal(n, np.arange(24).reshape(2, 3, 4)[...].__getitem__(()) if False else n)
    np.testing.assert_array_equal(t.T.numpy(), np.arange(24).reshape(2, 3, 4).T)


def test_numpy_keeps_tensor_alive():
    n = am.arange(100).numpy()
    gc.collect()
    assert n.sum() == 4950


def test_array_protocol(rng):
    a = rng.standard_normal((3, 5)).astype(np.float32)
    t = am.tensor(a)
    np.testing.assert_array_equal(np.asarray(t), a)
    np.testing.assert_array_equal(np.array(t), a)
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    c = np.array(t, copy=True)
    c[0, 0] = 100
    assert t[0, 0].item() == a[0, 0]
    assert np.shares_memory(np.asarray(t), t.numpy())
    # NumPy functions take tensors
    np.testing.assert_allclose(np.sum(np.asarray(t)), a.sum(), rtol=1e-5)


@pytest.mark.parametrize("dt", NUMPY_DTYPES, ids=dtype_id)
def test_buffer_protocol(rng, dt):
    a = random_array(rng, (2, 5), dt)
    t = am.tensor(a)
    m = memoryview(t)
    assert m.shape == (2, 5) and m.itemsize == dt.itemsize and not m.readonly
    back = np.frombuffer(m, dtype=np_dtype(dt)).reshape(2, 5) if m.c_contiguous else np.asarray(m)
    np.testing.assert_array_equal(back, a)
    mt = memoryview(t.T)
    assert mt.strides == tuple(s * dt.itemsize for s in t.T.strides)


def test_buffer_protocol_bfloat16_raises():
    with pytest.raises(BufferError):
        memoryview(am.zeros(3, dtype=am.bfloat16))


def test_bfloat16_numpy_via_ml_dtypes(rng):
    if NP_BF16 is None:
        pytest.skip("ml_dtypes is not installed")
    a = rng.standard_normal((3, 4)).astype(NP_BF16)
    t = am.tensor(a)
    assert t.dtype == am.bfloat16
    n = t.numpy()
    assert n.dtype == NP_BF16
    np.testing.assert_array_equal(n.astype(np.float32), a.astype(np.float32))
    np.testing.assert_array_equal(np.asarray(t).astype(np.float32), a.astype(np.float32))
    assert am.from_numpy(a).data_ptr() == a.ctypes.data


# --- DLPack --------------------------------------------------------------------------------------


@pytest.mark.parametrize("dt", NUMPY_DTYPES, ids=dtype_id)
def test_dlpack_to_numpy(rng, dt):
    a = random_array(rng, (3, 4), dt)
    t = am.tensor(a)
    assert t.__dlpack_device__() == (1, 0)
    n = np.from_dlpack(t)
    np.testing.assert_array_equal(n, a)
    assert n.ctypes.data == t.data_ptr()  # zero-copy
    tv = t.T[::2]
    nv = np.from_dlpack(tv)
    np.testing.assert_array_equal(nv, a.T[::2])


@pytest.mark.parametrize("dt", NUMPY_DTYPES, ids=dtype_id)
def test_dlpack_from_numpy(rng, dt):
    a = random_array(rng, (3, 4), dt)
    t = am.from_dlpack(a)
    assert_tensor(t, a, dtype=dt)
    assert t.data_ptr() == a.ctypes.data
    a[0, 0] = a[1, 1]
    assert_tensor(t, a)
    for v in (a.T, a[::2, 1:], a[1], np.asarray(a[0, 0])):
        assert_tensor(am.from_dlpack(v), v, dtype=dt)


def test_dlpack_round_trip_keeps_memory_alive():
    t = am.from_dlpack(np.arange(10.0))
    gc.collect()
    assert t.sum().item() == 45.0
    n = np.from_dlpack(am.arange(10))
    gc.collect()
    assert n.sum() == 45


def test_dlpack_negative_strides_from_numpy():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)[::-1, ::-2]
    assert_tensor(am.from_dlpack(a), a)


def test_dlpack_capsule_and_versions():
    t = am.arange(6).reshape(2, 3)
    cap = t.__dlpack__()
    r = am.from_dlpack(cap)
    assert_tensor(r, np.arange(6).reshape(2, 3))
    with pytest.raises(TypeError):
        am.from_dlpack(cap)  # a capsule can be consumed once
    cap1 = t.__dlpack__(max_version=(1, 0))
    assert_tensor(am.from_dlpack(cap1), np.arange(6).reshape(2, 3))
    c = t.__dlpack__(copy=True)
    r = am.from_dlpack(c)
    assert r.data_ptr() != t.data_ptr()
    del cap, c  # unconsumed capsules free their tensors
    t.__dlpack__()
    gc.collect()


def test_from_dlpack_rejects_non_producers():
    with pytest.raises(TypeError):
        am.from_dlpack(42)


def test_torch_interop(rng):
    torch = pytest.importorskip("torch")
    a = rng.standard_normal((3, 4)).astype(np.float32)
    x = torch.from_numpy(a.copy())
    t = am.from_dlpack(x)
    assert_tensor(t, a)
    assert t.data_ptr() == x.data_ptr()
    y = torch.from_dlpack(am.tensor(a).T)
    np.testing.assert_array_equal(y.numpy(), a.T)
    b = torch.arange(6, dtype=torch.bfloat16).reshape(2, 3)
    tb = am.from_dlpack(b)
    assert tb.dtype == am.bfloat16
    np.testing.assert_array_equal(tb.to(am.float32).numpy(), b.float().numpy())


@pytest.mark.cuda
def test_torch_cuda_interop(cuda_device, rng):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA")
    x = torch.arange(12, dtype=torch.float32, device="cuda").reshape(3, 4)
    t = am.from_dlpack(x)
    assert t.device.type == "cuda"
    assert_tensor(t.cpu(), np.arange(12, dtype=np.float32).reshape(3, 4))
    y = torch.from_dlpack(am.tensor(np.ones((2, 2), np.float32), device="cuda"))
    assert y.is_cuda and float(y.sum()) == 4.0


@pytest.mark.cuda
def test_cupy_interop(cuda_device):
    cp = pytest.importorskip("cupy")
    x = cp.arange(10, dtype=cp.float32)
    t = am.from_dlpack(x)
    assert t.device.type == "cuda"
    assert_tensor(t.cpu(), np.arange(10, dtype=np.float32))
    y = cp.from_dlpack(t * 2)
    np.testing.assert_array_equal(cp.asnumpy(y), np.arange(10, dtype=np.float32) * 2)


# --- Python values ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dt", ALL_DTYPES, ids=dtype_id)
def test_tolist_and_item(rng, dt):
    a = random_array(rng, (2, 3), dt)
    t = am.tensor(a)
    expected = a.astype(np.float32).tolist() if dt == am.bfloat16 else a.tolist()
    assert t.tolist() == expected
    assert t[1, 2].item() == expected[1][2]
    assert am.tensor(np.asarray(a[0, 0])).tolist() == expected[0][0]
    assert am.zeros((0, 2)).tolist() == []


def test_repr():
    r = repr(am.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert r.startswith("tensor(") and "dtype=float32" in r and "3." in r
    assert "int64" in repr(am.arange(3))
    assert "bfloat16" in repr(am.ones(2, dtype=am.bfloat16))
    assert "requires_grad=True" in repr(am.tensor([1.0, 2.0], requires_grad=True))
    big = repr(am.arange(100000))
    assert "..." in big and len(big) < 2000
    assert repr(am.zeros((0, 3))).startswith("tensor(")
    assert str(am.tensor(2.5)) == repr(am.tensor(2.5))
    assert f"{am.tensor(2.5):.2f}" == "2.50"
    assert repr(am.float32) == "aimass.float32" and str(am.int8) == "int8"
    assert repr(am.Device("cpu")) == "device('cpu')"

"""Bad input: every class raises the right Python exception, and its message names the op and
the operands' shapes and dtypes (and devices). Nothing reachable from Python aborts."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import aimass as am
from conftest import assert_message


def f32(*shape):
    return am.zeros(shape)


# (id, callable, exception type, parts the message must name)
CASES = [
    # wrong shapes
    ("add-broadcast", lambda: f32(2, 3) + f32(4), ValueError, ["add", "(2, 3)", "(4,)", "float32"]),
    ("mul-broadcast", lambda: am.multiply(f32(2, 3), am.zeros((3, 2), dtype=am.int32)), ValueError,
     ["multiply", "(2, 3)", "(3, 2)", "float32", "int32"]),
    ("less-broadcast", lambda: f32(5) < f32(4), ValueError, ["less", "(5,)", "(4,)", "float32"]),
    ("where-broadcast", lambda: am.where(am.zeros(3, dtype=am.bool_), f32(4), f32(3)), ValueError,
     ["where", "(3,)", "(4,)"]),
    ("matmul-inner", lambda: f32(2, 3) @ f32(4, 5), ValueError, ["matmul", "(2, 3)", "(4, 5)", "float32", "cpu"]),
    ("matmul-batch", lambda: f32(2, 3, 4) @ f32(3, 4, 5), ValueError, ["matmul", "(2,)", "(3,)"]),
    ("matmul-0d", lambda: am.tensor(1.0) @ f32(3), ValueError, ["matmul", "()", "(3,)"]),
    ("reshape", lambda: f32(2, 3).reshape(4), ValueError, ["reshape", "6", "(4,)"]),
    ("reshape-two-minus-one", lambda: f32(2, 3).reshape(-1, -1), ValueError, ["reshape", "(-1, -1)"]),
    ("view-noncontiguous", lambda: f32(2, 3).T.view(6), ValueError, ["view", "(3, 2)", "float32"]),
    ("broadcast_to", lambda: am.broadcast_to(f32(3), (2, 4)), ValueError, ["broadcast_to", "(3,)", "(2, 4)"]),
    ("expand-fewer-dims", lambda: f32(2, 3).expand(3), ValueError, ["expand", "(2, 3)", "(3,)"]),
    ("concatenate-shapes", lambda: am.concatenate([f32(2, 3), f32(2, 4)], axis=0), ValueError,
     ["concatenate", "(2, 3)", "(2, 4)"]),
    ("concatenate-ndim", lambda: am.concatenate([f32(2, 3), f32(3)]), ValueError, ["concatenate", "(2, 3)", "(3,)"]),
    ("concatenate-empty-list", lambda: am.concatenate([]), ValueError, ["concatenate"]),
    ("concatenate-0d", lambda: am.concatenate([am.tensor(1.0), am.tensor(2.0)]), ValueError, ["concatenate"]),
    ("stack-shapes", lambda: am.stack([f32(2), f32(3)]), ValueError, ["stack", "(2,)", "(3,)"]),
    ("squeeze-not-1", lambda: f32(2, 3).squeeze(0), ValueError, ["squeeze", "(2, 3)"]),
    ("permute-count", lambda: f32(2, 3).permute(0), ValueError, ["permute", "(2, 3)"]),
    ("permute-repeat", lambda: f32(2, 3).permute(0, 0), ValueError, ["permute", "0"]),
    ("setitem-shape", lambda: f32(2, 3).__setitem__(0, f32(4)), ValueError, ["(4,)", "(3,)"]),
    ("max-empty", lambda: am.max(f32(0, 3)), ValueError, ["max", "(0, 3)"]),
    ("argmin-empty", lambda: am.argmin(f32(0)), ValueError, ["argmin", "(0,)"]),
    ("argmax-two-axes", lambda: am.argmax(f32(2, 3), axis=(0, 1)), ValueError, ["argmax"]),
    ("sum-axis-twice", lambda: am.sum(f32(2, 3), axis=(1, -1)), ValueError, ["sum", "axis"]),
    ("var-negative-ddof", lambda: am.var(f32(3), ddof=-1), ValueError, ["var", "ddof"]),
    ("item-many", lambda: f32(2).item(), ValueError, ["item", "(2,)"]),
    ("bool-many", lambda: bool(f32(2)), ValueError, ["ambiguous"]),
    ("clamp-no-bounds", lambda: am.clamp(f32(2)), ValueError, ["clamp"]),
    ("negative-dim", lambda: am.zeros((2, -1)), ValueError, ["(2, -1)"]),
    ("huge-shape", lambda: am.empty((2**40, 2**40)), ValueError, ["(1099511627776, 1099511627776)"]),
    ("arange-step-0", lambda: am.arange(0, 5, 0), ValueError, ["arange", "step"]),
    ("arange-inf", lambda: am.arange(0, float("inf")), ValueError, ["arange"]),
    ("linspace-negative", lambda: am.linspace(0, 1, -1), ValueError, ["linspace", "-1"]),
    ("randint-empty-range", lambda: am.randint(5, 5, (2,)), ValueError, ["randint", "5"]),
    ("uniform-reversed", lambda: am.uniform(1.0, 0.0, (2,)), ValueError, ["uniform"]),
    ("normal-negative-std", lambda: am.normal(0.0, -1.0, (2,)), ValueError, ["normal"]),
    ("scalar-overflow", lambda: f32(2) + 2**70, ValueError, ["int64"]),
    ("unknown-device", lambda: am.zeros(2, device="tpu"), ValueError, ["tpu"]),
    ("bad-device-index", lambda: am.zeros(2, device="cuda:x"), ValueError, ["cuda:x"]),
    # wrong dtypes
    ("neg-bool", lambda: -am.zeros(2, dtype=am.bool_), TypeError, ["neg", "bool", "(2,)"]),
    ("sign-bool", lambda: am.sign(am.zeros(2, dtype=am.bool_)), TypeError, ["sign", "bool"]),
    ("sub-bool", lambda: am.zeros(2, dtype=am.bool_) - am.zeros(2, dtype=am.bool_), TypeError,
     ["subtract", "bool", "(2,)"]),
    ("pow-bool", lambda: am.zeros(2, dtype=am.bool_) ** am.zeros(2, dtype=am.bool_), TypeError, ["power", "bool"]),
    ("invert-float", lambda: ~f32(2), TypeError, ["float32", "(2,)"]),
    ("matmul-bool", lambda: am.zeros((2, 2), dtype=am.bool_) @ am.zeros((2, 2), dtype=am.bool_), TypeError,
     ["matmul", "bool", "(2, 2)"]),
    ("var-bool", lambda: am.var(am.zeros(3, dtype=am.bool_)), TypeError, ["var", "bool", "(3,)"]),
    ("uniform-int", lambda: am.rand((2,), dtype=am.int32), TypeError, ["uniform", "int32"]),
    ("randn-int", lambda: am.randn((2,), dtype=am.int64), TypeError, ["int64"]),
    ("requires-grad-int", lambda: am.tensor([1, 2], requires_grad=True), TypeError, ["int64", "(2,)"]),
    ("len-0d", lambda: len(am.tensor(1.0)), TypeError, ["0-d"]),
    ("iter-0d", lambda: list(am.tensor(1.0)), TypeError, ["0-d"]),
    # unsupported dtypes
    ("dtype-int16-name", lambda: am.zeros(2, dtype="int16"), TypeError, ["int16"]),
    ("dtype-numpy-complex", lambda: am.zeros(2, dtype=np.complex64), TypeError, ["complex64"]),
    ("dtype-garbage", lambda: am.zeros(2, dtype=3.5), TypeError, ["3.5"]),
    ("tensor-int16-array", lambda: am.tensor(np.zeros(2, np.int16)), TypeError, ["int16"]),
    ("tensor-uint64-array", lambda: am.from_numpy(np.zeros(2, np.uint64)), TypeError, ["uint64"]),
    ("tensor-strings", lambda: am.tensor(["a", "b"]), TypeError, []),
    ("tensor-None", lambda: am.tensor(None), TypeError, []),
    ("tensor-ragged", lambda: am.tensor([[1, 2], [3]]), (TypeError, ValueError), []),
    ("tensor-huge-int", lambda: am.tensor(2**70), TypeError, []),
    ("shape-not-ints", lambda: am.zeros(("a", 2)), TypeError, ["shape"]),
    ("device-not-str", lambda: am.zeros(2, device=3), TypeError, ["device"]),
    ("from_dlpack-int", lambda: am.from_dlpack(42), TypeError, ["from_dlpack"]),
    # out-of-range indices and axes
    ("index-int", lambda: f32(3)[3], IndexError, ["3", "axis 0", "size 3"]),
    ("index-negative", lambda: f32(3, 4)[:, -5], IndexError, ["-5", "axis 1", "size 4"]),
    ("index-list", lambda: f32(3)[[0, 7]], IndexError, ["7", "size 3"]),
    ("index-tensor", lambda: f32(3, 2)[am.tensor([-4])], IndexError, ["-4", "size 3"]),
    ("index-too-many", lambda: f32(3)[0, 0], IndexError, ["too many indices", "(3,)"]),
    ("index-0d", lambda: am.tensor(1.0)[0], IndexError, ["()"]),
    ("index-two-ellipses", lambda: f32(3)[..., ...], IndexError, ["ellipsis"]),
    ("index-float", lambda: f32(3)[1.5], IndexError, ["float"]),
    ("index-float-tensor", lambda: f32(3)[am.tensor([0.0])], IndexError, ["float32"]),
    ("index-bool-python", lambda: f32(3)[True], IndexError, ["bool"]),
    ("index-mask-shape", lambda: f32(3, 4)[am.zeros(4, dtype=am.bool_)], IndexError, ["(4,)", "(3, 4)"]),
    ("index-broadcast", lambda: f32(3, 4)[[0, 1], [0, 1, 2]], (IndexError, ValueError), ["(2,)", "(3,)"]),
    ("slice-step-0", lambda: f32(3)[::0], ValueError, ["step"]),
    ("setitem-oob", lambda: f32(3).__setitem__(5, 1.0), IndexError, ["5", "size 3"]),
    ("setitem-list-oob", lambda: f32(3).__setitem__([0, 3], 1.0), IndexError, ["3", "size 3"]),
    ("sum-axis", lambda: am.sum(f32(2, 3), axis=2), IndexError, ["sum", "axis 2", "2 dims"]),
    ("mean-axis", lambda: f32(2, 3).mean(axis=-3), IndexError, ["mean", "-3"]),
    ("argmax-axis", lambda: am.argmax(f32(2), axis=1), IndexError, ["argmax", "1"]),
    ("transpose-axis", lambda: am.swapaxes(f32(2, 3), 0, 2), IndexError, ["transpose", "2"]),
    ("unsqueeze-axis", lambda: f32(2).unsqueeze(3), IndexError, ["unsqueeze", "3"]),
    ("squeeze-axis", lambda: f32(2).squeeze(1), IndexError, ["squeeze", "1"]),
    ("flatten-axis", lambda: am.flatten(f32(2, 3), 0, 5), IndexError, ["flatten", "5"]),
    ("concatenate-axis", lambda: am.concatenate([f32(2), f32(2)], axis=1), IndexError, ["concatenate", "1"]),
    ("stack-axis", lambda: am.stack([f32(2), f32(2)], axis=3), IndexError, ["stack", "3"]),
    # devices (no GPU here, or not built with CUDA)
]


@pytest.mark.parametrize("fn, exc, parts", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_error(fn, exc, parts):
    with pytest.raises(exc) as e:
        fn()
    assert_message(e, *parts)


def test_cuda_request_without_cuda():
    if am.cuda.is_available():
        pytest.skip("CUDA is available here")
    for make in (lambda: am.zeros(2, device="cuda"), lambda: am.ones(2).to("cuda"), lambda: am.ones(2).cuda(),
                 lambda: am.tensor([1.0], device="cuda:0"), lambda: am.randn((2,), device="cuda")):
        with pytest.raises(RuntimeError) as e:
            make()
        msg = str(e.value).lower()
        assert "cuda" in msg
        assert any(w in msg for w in ("without cuda", "not built", "no cuda", "driver", "no device", "not found",
                                      "cannot", "unavailable", "libaimass_cuda")), msg


@pytest.mark.cuda
def test_device_mismatch(cuda_device):
    a = am.ones((2, 3))
    b = am.ones((2, 3), device=cuda_device)
    for fn, op in [(lambda: a + b, "add"), (lambda: a @ b.T, "matmul"), (lambda: am.where(b > 0, a, b), "where"),
                   (lambda: am.concatenate([a, b]), "concatenate")]:
        with pytest.raises(RuntimeError) as e:
            fn()
        assert_message(e, op, "cpu", "cuda")
    with pytest.raises(RuntimeError) as e:
        am.ones(2, device="cuda:1000")
    assert "cuda:1000" in str(e.value) or "1000" in str(e.value)


def test_no_abort_on_edge_inputs():
    """Inputs that could trap in C++ (division by zero, INT_MIN % -1, NaN to int) return values."""
    code = r"""
import numpy as np, aimass as am
i = am.tensor(np.array([np.iinfo(np.int64).min, 5, -5, 0], np.int64))
z = am.zeros(4, dtype=am.int64)
(i % z, i % -1, i // 1 if hasattr(i, '__floordiv__') else i, i ** -1, i * i, -i, abs(i))
j = am.tensor(np.array([-128, 5], np.int8)); (j % am.tensor(np.array([-1, 0], np.int8)), -j, abs(j))
f = am.tensor(np.array([np.nan, np.inf, -np.inf, 1e30], np.float32))
for dt in (am.int8, am.uint8, am.int32, am.int64, am.bool_): f.to(dt)
am.clamp(i, -2**70 if False else -10, 10); am.reciprocal(z); am.rsqrt(z); am.log(z); am.sqrt(i)
am.zeros((0, 5)).sum(axis=0); am.zeros((0,)).mean(); am.zeros((5, 0)).var(axis=1, ddof=3); am.zeros(2).var(ddof=5)
am.zeros((0, 3)) @ am.zeros((3, 0)); am.arange(0, -5); am.linspace(0, 1, 0)
am.zeros((3,))[5:100]; am.zeros((3,))[-100:-50]; am.zeros((0,))[[]]
t = am.zeros((4, 4)); t[[1, 1, 1]] = am.arange(12).reshape(3, 4).to(am.float32)
am.randint(-2**62, 2**62, (10,)); am.randint(0, 2, (5,), dtype=am.bool_)
print("ok")
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"rc={r.returncode}\nstdout={r.stdout}\nstderr={r.stderr[-3000:]}"
    assert r.stdout.strip().endswith("ok")

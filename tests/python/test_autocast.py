"""am.autocast: 16-bit layers with float32 master weights, float32 normalisation and losses.
On CPU with bfloat16 here; the same on CUDA (float16 and bfloat16) where a GPU is present."""
from __future__ import annotations

import numpy as np
import pytest

import aimass as am
import aimass.nn as nn


def model():
    am.manual_seed(0)
    return nn.Sequential([nn.Conv2D(4, 3, padding="same", activation="relu", in_channels=2), nn.Flatten(),
                          nn.Dense(16, activation="gelu", in_features=4 * 36), nn.LayerNorm(16), nn.Dense(5)])


@pytest.mark.parametrize("device,dtype", [
    ("cpu", am.bfloat16),
    pytest.param("cuda", am.float16, marks=pytest.mark.cuda),
    pytest.param("cuda", am.bfloat16, marks=pytest.mark.cuda),
])
def test_autocast_dtypes_values_and_gradients(device, dtype):
    if device == "cuda" and not am.cuda.is_available():
        pytest.skip("no CUDA device")
    net = model().to(device)
    x = am.tensor(np.random.default_rng(0).standard_normal((3, 2, 6, 6)).astype(np.float32), device=device)
    y = np.array([0, 3, 4])
    ref = net(x).cpu().numpy()
    assert not am.is_autocast_enabled()
    with am.autocast(device, dtype=dtype):
        assert am.is_autocast_enabled()
        h = net[0](x)
        assert h.dtype == dtype
        assert net[3](net[2](net[1](h))).dtype == am.float32  # LayerNorm widens
        out = net(x)
        loss = nn.CrossEntropyLoss()(out, am.tensor(y, device=device))
    assert not am.is_autocast_enabled()
    assert out.dtype == dtype and loss.dtype == am.float32
    np.testing.assert_allclose(out.cpu().numpy().astype(np.float32), ref, rtol=0.05, atol=0.05)
    loss.backward()
    for name, p in net.named_parameters():
        assert p.dtype == am.float32 and p.grad is not None and p.grad.dtype == am.float32, name
    # The gradients are close to the float32 ones.
    grads16 = {n: p.grad.cpu().numpy() for n, p in net.named_parameters()}
    net.zero_grad()
    nn.CrossEntropyLoss()(net(x), am.tensor(y, device=device)).backward()
    for n, p in net.named_parameters():
        g = p.grad.cpu().numpy()
        assert np.abs(grads16[n] - g).max() <= 0.05 * np.abs(g).max() + 1e-3, n


def test_autocast_other_device_is_untouched_and_decorator():
    layer = nn.Dense(3, in_features=2)

    @am.autocast("cuda")
    def run(x):
        return layer(x)

    assert run(np.ones((1, 2), np.float32)).dtype == am.float32  # a CPU tensor under CUDA autocast
    with am.autocast("cpu", dtype=am.bfloat16, enabled=False):
        assert layer(np.ones((1, 2), np.float32)).dtype == am.float32
    with pytest.raises(ValueError, match="autocast"):
        with am.autocast("cpu", dtype=am.float32):
            pass
    with pytest.raises(ValueError, match="device_type"):
        am.autocast("tpu")

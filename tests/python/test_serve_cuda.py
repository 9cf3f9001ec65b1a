"""Served models on the GPU (instance_group KIND_GPU, and KIND_AUTO where a GPU exists): batches
run there and the answers equal the CPU model's. Skipped where CUDA is unavailable."""
import asyncio
import json
import os

import numpy as np
import pytest

import aimass as am
from aimass import nn
from aimass.serve._protocol import InferInput, InferRequest
from aimass.serve._service import InferenceService

pytestmark = pytest.mark.cuda


@pytest.fixture(autouse=True)
def _needs_cuda(cuda_device):
    """Every test here skips, saying why, where CUDA is unavailable."""


@pytest.mark.parametrize("kind", ["KIND_GPU", "KIND_AUTO"])
def test_a_model_served_on_the_gpu_answers_as_on_the_cpu(tmp_path, kind):
    am.manual_seed(0)
    model = nn.Sequential([nn.Dense(64, activation="relu"), nn.Dense(10)])
    model(am.zeros((1, 32)))
    folder = tmp_path / "m" / "1"
    folder.mkdir(parents=True)
    model.save(folder / "model.safetensors")
    (tmp_path / "m" / "config.json").write_text(json.dumps({"instance_group": [{"count": 2, "kind": kind}]}))
    service = InferenceService.from_repository(str(tmp_path))
    try:
        version = service.repository.get("m").versions[1]
        assert str(next(iter(version.model.parameters())).device).startswith("cuda")
        xs = [np.random.default_rng(i).standard_normal((i + 1, 32)).astype(np.float32) for i in range(16)]

        async def run():
            reqs = [InferRequest(None, [InferInput("input", "FP32", x.shape, x, {})], [], {}) for x in xs]
            return await asyncio.gather(*[service.infer("m", None, r) for r in reqs])

        for x, r in zip(xs, asyncio.run(run())):
            np.testing.assert_allclose(r.outputs[0][1], model.predict(x), rtol=1e-4, atol=1e-4)
    finally:
        service.close()


def test_a_knn_index_served_on_the_gpu_answers_as_on_the_cpu(tmp_path):
    rng = np.random.default_rng(0)
    base = rng.integers(-8, 8, (500, 16)).astype(np.float32)
    index = am.knn.FlatIndex(16)
    index.add(base)
    folder = tmp_path / "s" / "1"
    folder.mkdir(parents=True)
    index.save(os.fspath(folder / "index.knn"))
    (tmp_path / "s" / "config.json").write_text(json.dumps({"instance_group": [{"kind": "KIND_GPU"}], "knn": {"k": 5}}))
    service = InferenceService.from_repository(str(tmp_path))
    try:
        q = rng.integers(-8, 8, (7, 16)).astype(np.float32)
        req = InferRequest(None, [InferInput("queries", "FP32", q.shape, q, {})], [], {})
        out = dict(asyncio.run(service.infer("s", None, req)).outputs)
        d, i = index.search(q, 5)
        np.testing.assert_array_equal(out["ids"], np.asarray(i))
        np.testing.assert_allclose(out["distances"], np.asarray(d), rtol=1e-5)
    finally:
        service.close()

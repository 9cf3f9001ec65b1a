"""The protocol-independent server: signatures read from model files, served versions over the C++
batcher, the repository (version policies, poll / explicit modes, failed loads, hot reload) and the
routing rules (aliases, traffic split, default version, shadow). Answers are compared with
model.predict on the same input."""
import asyncio
import json
import os
import shutil
import time

import numpy as np
import pytest

import aimass as am
from aimass import nn
from aimass.serve._errors import ServeError
from aimass.serve._protocol import InferInput, InferRequest
from aimass.serve._service import InferenceService


def _mlp(seed=0, d=16, out=4):
    am.manual_seed(seed)
    m = nn.Sequential([nn.Dense(32, activation="relu"), nn.Dense(out)])
    m(am.zeros((1, d)))
    return m


def _put(root, name, version, model, config=None):
    folder = os.path.join(root, name, str(version))
    os.makedirs(folder, exist_ok=True)
    if isinstance(model, am.knn.Index):
        model.save(os.path.join(folder, "index.knn"))
    else:
        model.save(os.path.join(folder, "model.safetensors"))
    if config is not None:
        with open(os.path.join(root, name, "config.json"), "w") as f:
            json.dump(config, f)
    return folder


def _request(x, name="input", datatype="FP32", **parameters):
    return InferRequest(id="r", inputs=[InferInput(name, datatype, tuple(x.shape), x, {})], outputs=[],
                        parameters=parameters)


def _run(coro):
    return asyncio.run(coro)


@pytest.fixture
def service_of(tmp_path):
    made = []

    def make(**kw):
        s = InferenceService.from_repository(str(tmp_path), **kw)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


# ---------------------------------------------------------------- signatures and answers

def test_sequential_model_signature_and_answers_equal_predict(tmp_path, service_of):
    model = _mlp()
    _put(tmp_path, "mlp", 1, model)
    s = service_of()
    meta = s.model_metadata("mlp")
    assert meta["versions"] == ["1"] and meta["platform"] == "aimass"
    assert meta["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 16]}]
    assert meta["outputs"] == [{"name": "output", "datatype": "FP32", "shape": [-1, 4]}]
    x = np.random.default_rng(0).standard_normal((5, 16)).astype(np.float32)
    result = _run(s.infer("mlp", None, _request(x)))
    assert result.model_version == "1" and result.id == "r"
    (name, y), = result.outputs
    assert name == "output"
    np.testing.assert_allclose(y, model.predict(x), rtol=1e-5, atol=1e-6)


def test_concurrent_requests_batch_and_each_gets_its_own_rows(tmp_path, service_of):
    model = _mlp(1)
    _put(tmp_path, "mlp", 1, model, {"max_batch_size": 64, "dynamic_batching": {"max_queue_delay_microseconds": 20000}})
    s = service_of()
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((int(rng.integers(1, 5)), 16)).astype(np.float32) for _ in range(40)]

    async def many():
        return await asyncio.gather(*[s.infer("mlp", None, _request(x)) for x in xs])

    results = _run(many())
    for x, r in zip(xs, results):
        np.testing.assert_allclose(r.outputs[0][1], model.predict(x), rtol=1e-5, atol=1e-6)
    stats = s.statistics("mlp")["model_stats"][0]
    assert stats["inference_count"] == sum(len(x) for x in xs)
    assert stats["execution_count"] < len(xs)  # they were batched
    assert max(b["batch_size"] for b in stats["batch_stats"]) > 4
    assert stats["inference_stats"]["success"]["count"] == len(xs)
    assert sum(b["compute_infer"]["count"] for b in stats["batch_stats"]) == stats["execution_count"]


def test_embedding_model_takes_int64_and_functional_model_names_its_tensors(tmp_path, service_of):
    am.manual_seed(0)
    emb = nn.Sequential([nn.Embedding(50, 4), nn.Flatten(), nn.Dense(3)])
    emb(am.zeros((1, 6), dtype=am.int64))
    _put(tmp_path, "emb", 1, emb)
    a, b = nn.Input((5,), name="a"), nn.Input((3,), name="b")
    joined = nn.Concatenate()([a, b])
    head, aux = nn.Dense(2)(joined), nn.Dense(1)(joined)
    two = nn.Model([a, b], [head, aux])
    _put(tmp_path, "two", 1, two)
    s = service_of()
    assert s.model_metadata("emb")["inputs"] == [{"name": "input", "datatype": "INT64", "shape": [-1, 6]}]
    meta = s.model_metadata("two")
    assert [t["name"] for t in meta["inputs"]] == ["a", "b"]
    names = [t["name"] for t in meta["outputs"]]
    assert names == list(two.output_names) and len(set(names)) == 2
    ids = np.random.default_rng(0).integers(0, 50, (3, 6)).astype(np.int64)
    got = _run(s.infer("emb", None, _request(ids, datatype="INT64"))).outputs[0][1]
    np.testing.assert_allclose(got, emb.predict(ids), rtol=1e-5, atol=1e-6)
    xa = np.ones((2, 5), np.float32)
    xb = np.full((2, 3), 0.5, np.float32)
    req = InferRequest(id=None, inputs=[InferInput("b", "FP32", (2, 3), xb, {}), InferInput("a", "FP32", (2, 5), xa, {})],
                       outputs=[], parameters={})
    out = dict(_run(s.infer("two", None, req)).outputs)
    want = two.predict([xa, xb])
    np.testing.assert_allclose(out[names[0]], want[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[names[1]], want[1], rtol=1e-5, atol=1e-6)


def test_config_renames_tensors_and_a_mismatch_is_a_load_error(tmp_path, service_of):
    _put(tmp_path, "renamed", 1, _mlp(), {"input": [{"name": "pixels", "data_type": "TYPE_FP32", "dims": [16]}],
                                        "output": [{"name": "logits", "data_type": "TYPE_FP32", "dims": [4]}]})
    _put(tmp_path, "wrong", 1, _mlp(), {"input": [{"name": "x", "data_type": "TYPE_FP32", "dims": [17]}]})
    s = service_of()
    meta = s.model_metadata("renamed")
    assert meta["inputs"][0]["name"] == "pixels" and meta["outputs"][0]["name"] == "logits"
    assert s.model_config("renamed")["input"] == [{"name": "pixels", "data_type": "TYPE_FP32", "dims": [16]}]
    assert not s.model_ready("wrong")
    entry, = [e for e in s.repository_index() if e["name"] == "wrong"]
    assert entry["state"] == "UNAVAILABLE" and "dims [-1, 17]" in entry["reason"] and "[-1, 16]" in entry["reason"]
    with pytest.raises(ServeError) as e:
        _run(s.infer("wrong", None, _request(np.zeros((1, 16), np.float32))))
    assert e.value.status == 503


@pytest.mark.parametrize("make_request, status, words", [
    (lambda: _request(np.zeros((2, 16), np.float32), name="x"), 400, ["no input 'x'", "input"]),
    (lambda: _request(np.zeros((2, 16), np.float64), datatype="FP64"), 400, ["'input'", "FP64", "expected FP32"]),
    (lambda: _request(np.zeros((2, 15), np.float32)), 400, ["'input'", "[2, 15]", "[-1, 16]"]),
    (lambda: _request(np.zeros((2, 16, 1), np.float32)), 400, ["'input'", "shape"]),
    (lambda: _request(np.zeros((0, 16), np.float32)), 400, ["no rows"]),
    (lambda: _request(np.zeros((9, 16), np.float32)), 400, ["9 rows", "max_batch_size 8"]),
    (lambda: InferRequest(None, [], [], {}), 400, ["'input' is missing"]),
    (lambda: _request(np.zeros((1, 16), np.float32), timeout="soon"), 400, ["timeout"]),
])
def test_requests_that_do_not_fit_get_400_naming_the_input(tmp_path, service_of, make_request, status, words):
    _put(tmp_path, "mlp", 1, _mlp(), {"max_batch_size": 8})
    s = service_of()
    with pytest.raises(ServeError) as e:
        _run(s.infer("mlp", None, make_request()))
    assert e.value.status == status
    for w in words:
        assert w in str(e.value)
    assert s.statistics("mlp")["model_stats"][0]["inference_stats"]["fail"]["count"] == 1
    np.testing.assert_allclose(_run(s.infer("mlp", None, _request(np.ones((1, 16), np.float32)))).outputs[0][1].shape,
                               (1, 4))


def test_unknown_model_or_version_is_404(tmp_path, service_of):
    _put(tmp_path, "mlp", 1, _mlp())
    s = service_of()
    for name, version in [("nope", None), ("mlp", "7"), ("mlp", "champion")]:
        with pytest.raises(ServeError) as e:
            _run(s.infer(name, version, _request(np.zeros((1, 16), np.float32))))
        assert e.value.status == 404 and (name in str(e.value))
    assert not s.model_ready("nope") and s.model_ready("mlp") and s.model_ready("mlp", "1")


def test_a_full_queue_answers_503_at_once_and_timeouts_503(tmp_path, service_of):
    _put(tmp_path, "mlp", 1, _mlp(), {"max_batch_size": 4, "dynamic_batching": {
        "max_queue_delay_microseconds": 200000, "default_queue_policy": {"max_queue_size": 2}}})
    s = service_of()
    x = np.zeros((4, 16), np.float32)

    async def flood():
        return await asyncio.gather(*[s.infer("mlp", None, _request(x)) for _ in range(30)], return_exceptions=True)

    results = _run(flood())
    refused = [r for r in results if isinstance(r, ServeError)]
    assert refused and all(r.status == 503 and "queue is full" in str(r) for r in refused)
    assert any(not isinstance(r, Exception) for r in results)

    async def late():
        return await s.infer("mlp", None, _request(np.zeros((1, 16), np.float32), timeout=1000))

    with pytest.raises(ServeError) as e:  # waits 200 ms for company, but may wait 1 ms
        _run(late())
    assert e.value.status == 503


def test_no_batching_runs_each_request_alone(tmp_path, service_of):
    model = _mlp()
    _put(tmp_path, "solo", 1, model, {"max_batch_size": 0})
    s = service_of()
    xs = [np.full((r, 16), r, np.float32) for r in (1, 50, 3)]

    async def run():
        return await asyncio.gather(*[s.infer("solo", None, _request(x)) for x in xs])

    for x, r in zip(xs, _run(run())):
        np.testing.assert_allclose(r.outputs[0][1], model.predict(x), rtol=1e-5, atol=1e-6)
    sizes = {b["batch_size"] for b in s.statistics("solo")["model_stats"][0]["batch_stats"]}
    assert sizes == {1, 50, 3}


# ---------------------------------------------------------------- k-NN services

def test_knn_service_answers_top_k_with_k_and_filter(tmp_path, service_of):
    rng = np.random.default_rng(0)
    base = rng.standard_normal((200, 8)).astype(np.float32)
    index = am.knn.FlatIndex(8)
    index.add(base)
    _put(tmp_path, "search", 1, index, {"knn": {"k": 5}})
    s = service_of()
    meta = s.model_metadata("search")
    assert meta["platform"] == "aimass_knn"
    assert meta["inputs"] == [{"name": "queries", "datatype": "FP32", "shape": [-1, 8]}]
    assert [o["name"] for o in meta["outputs"]] == ["distances", "ids"]
    q = rng.standard_normal((3, 8)).astype(np.float32)
    out = dict(_run(s.infer("search", None, _request(q, name="queries"))).outputs)
    d2 = ((q[:, None, :] - base[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(out["ids"], np.argsort(d2, axis=1)[:, :5])
    np.testing.assert_allclose(out["distances"], np.sort(d2, axis=1)[:, :5], rtol=1e-4, atol=1e-4)
    allowed = list(range(0, 200, 3))
    out = dict(_run(s.infer("search", None, _request(q, name="queries", k=2, filter=",".join(map(str, allowed))))).outputs)
    masked = np.where(np.isin(np.arange(200), allowed)[None], d2, np.inf)
    np.testing.assert_array_equal(out["ids"], np.argsort(masked, axis=1)[:, :2])
    for bad in [{"k": 0}, {"k": "3"}, {"filter": "1,x"}]:
        with pytest.raises(ServeError) as e:
            _run(s.infer("search", None, _request(q, name="queries", **bad)))
        assert e.value.status == 400 and ("'k'" in str(e.value) or "'filter'" in str(e.value))


def test_knn_service_with_an_embedding_model(tmp_path, service_of):
    am.manual_seed(3)
    embedder = nn.Sequential([nn.Dense(8)])
    embedder(am.zeros((1, 12)))
    rng = np.random.default_rng(1)
    images = rng.standard_normal((50, 12)).astype(np.float32)
    index = am.knn.FlatIndex(8)
    index.add(embedder.predict(images))
    folder = _put(tmp_path, "images", 1, index, {"knn": {"k": 3}})
    embedder.save(os.path.join(folder, "model.safetensors"))
    s = service_of()
    assert s.model_metadata("images")["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 12]}]
    out = dict(_run(s.infer("images", None, _request(images[:4]))).outputs)
    np.testing.assert_array_equal(out["ids"][:, 0], np.arange(4))  # each image finds itself first


# ---------------------------------------------------------------- versions and routing

def test_version_policies(tmp_path, service_of):
    for v in (1, 2, 3):
        _put(tmp_path, "latest2", v, _mlp(v), {"version_policy": {"latest": {"num_versions": 2}}})
        _put(tmp_path, "all", v, _mlp(v), {"version_policy": {"all": {}}})
        _put(tmp_path, "specific", v, _mlp(v), {"version_policy": {"specific": {"versions": [1, 3]}}})
        _put(tmp_path, "default", v, _mlp(v))
    s = service_of()
    assert s.model_metadata("latest2")["versions"] == ["2", "3"]
    assert s.model_metadata("all")["versions"] == ["1", "2", "3"]
    assert s.model_metadata("specific")["versions"] == ["1", "3"]
    assert s.model_metadata("default")["versions"] == ["3"]
    x = np.ones((1, 16), np.float32)
    assert _run(s.infer("all", None, _request(x))).model_version == "3"
    np.testing.assert_allclose(_run(s.infer("all", "1", _request(x))).outputs[0][1], _mlp(1).predict(x), rtol=1e-5)


def test_traffic_split_aliases_default_version_and_shadow(tmp_path, service_of):
    for v in (1, 2, 3):
        _put(tmp_path, "m", v, _mlp(v), {"version_policy": {"all": {}}, "traffic": {"1": 80, "2": 20},
                                         "aliases": {"champion": 1, "canary": 2}, "shadow_version": 3})
    s = service_of()
    x = np.ones((1, 16), np.float32)

    async def many(n):
        return await asyncio.gather(*[s.infer("m", None, _request(x)) for _ in range(n)])

    served = [r.model_version for r in _run(many(400))]
    share = served.count("2") / len(served)
    assert set(served) == {"1", "2"} and 0.12 < share < 0.30  # 20% canary (binomial sd 2%)
    assert _run(s.infer("m", "canary", _request(x))).model_version == "2"
    assert _run(s.infer("m", "champion", _request(x))).model_version == "1"
    deadline = time.time() + 5
    while s.statistics("m", "3")["model_stats"][0]["inference_count"] < 402 and time.time() < deadline:
        time.sleep(0.01)
    assert s.statistics("m", "3")["model_stats"][0]["inference_count"] == 402  # the shadow saw every request


def test_blue_green_by_switching_the_default_version_in_poll_mode(tmp_path, service_of):
    cfg = {"version_policy": {"all": {}}, "aliases": {"blue": 1, "green": 2}, "default_version": "blue"}
    for v in (1, 2):
        _put(tmp_path, "m", v, _mlp(v), cfg)
    s = service_of(control_mode="poll", poll_interval_s=0.1)
    x = np.ones((1, 16), np.float32)
    assert _run(s.infer("m", None, _request(x))).model_version == "1"
    with open(tmp_path / "m" / "config.json", "w") as f:
        json.dump({**cfg, "default_version": "green"}, f)
    deadline = time.time() + 10
    while _run(s.infer("m", None, _request(x))).model_version != "2":
        assert time.time() < deadline, "the switch to green was not picked up"
        time.sleep(0.05)


def test_poll_mode_loads_new_versions_keeps_the_old_when_a_load_fails_and_drops_removed_models(tmp_path, service_of):
    _put(tmp_path, "m", 1, _mlp(1))
    s = service_of(control_mode="poll", poll_interval_s=0.1)
    x = np.ones((2, 16), np.float32)

    def wait_for(check, what):
        deadline = time.time() + 10
        while not check():
            assert time.time() < deadline, what
            time.sleep(0.05)

    broken = tmp_path / "m" / "2"
    broken.mkdir()
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    wait_for(lambda: any(e["version"] == "2" for e in s.repository_index()), "version 2 never tried")
    entry, = [e for e in s.repository_index() if e["version"] == "2"]
    assert entry["state"] == "UNAVAILABLE" and "cannot load" in entry["reason"]
    assert _run(s.infer("m", None, _request(x))).model_version == "1"  # the old version goes on
    shutil.rmtree(broken)
    _put(tmp_path, "m", 3, _mlp(3))
    wait_for(lambda: s.model_metadata("m")["versions"] == ["3"], "version 3 never loaded")
    np.testing.assert_allclose(_run(s.infer("m", None, _request(x))).outputs[0][1], _mlp(3).predict(x), rtol=1e-5)
    shutil.rmtree(tmp_path / "m")
    wait_for(lambda: not s.model_ready("m"), "the removed model still serves")


def test_hot_reload_under_load_loses_no_request(tmp_path, service_of):
    _put(tmp_path, "m", 1, _mlp(1))
    s = service_of(control_mode="poll", poll_interval_s=0.05)
    x = np.ones((1, 16), np.float32)
    answers = {"1": _mlp(1).predict(x), "2": _mlp(2).predict(x)}

    async def load():
        seen, errors, done = [], [], False

        async def client():
            while not done:
                try:
                    r = await s.infer("m", None, _request(x))
                    np.testing.assert_allclose(r.outputs[0][1], answers[r.model_version], rtol=1e-5)
                    seen.append(r.model_version)
                except ServeError as e:
                    errors.append(e)

        tasks = [asyncio.ensure_future(client()) for _ in range(8)]
        await asyncio.sleep(0.3)
        await asyncio.get_running_loop().run_in_executor(None, _put, str(tmp_path), "m", 2, _mlp(2))
        deadline = time.time() + 10
        while (not seen or seen[-1] != "2") and time.time() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        done = True
        await asyncio.gather(*tasks)
        return seen, errors

    seen, errors = _run(load())
    assert errors == []
    assert "1" in seen and seen[-1] == "2" and len(seen) > 50


def test_explicit_mode_load_and_unload(tmp_path, service_of):
    _put(tmp_path, "a", 1, _mlp(1))
    bad = tmp_path / "bad" / "1"
    bad.mkdir(parents=True)
    (bad / "model.safetensors").write_bytes(b"\x00" * 10)
    s = service_of(control_mode="explicit")
    assert not s.model_ready("a")
    assert {e["name"]: e["state"] for e in s.repository_index()} == {"a": "UNAVAILABLE", "bad": "UNAVAILABLE"}
    s.load("a")
    assert s.model_ready("a") and s.repository_index(ready_only=True) == [
        {"name": "a", "version": "1", "state": "READY", "reason": ""}]
    with pytest.raises(ServeError) as e:
        s.load("bad")
    assert e.value.status == 400 and "bad" in str(e.value)
    with pytest.raises(ServeError) as e:
        s.load("missing")
    assert e.value.status == 404
    s.unload("a")
    assert not s.model_ready("a")
    with pytest.raises(ServeError) as e:
        _run(s.infer("a", None, _request(np.ones((1, 16), np.float32))))
    assert e.value.status == 503


def test_load_and_unload_are_refused_outside_explicit_mode(tmp_path, service_of):
    _put(tmp_path, "a", 1, _mlp(1))
    s = service_of()
    for call in (s.load, s.unload):
        with pytest.raises(ServeError) as e:
            call("a")
        assert e.value.status == 400 and "explicit" in str(e.value)


def test_registry_source_serves_aliased_versions_and_follows_alias_moves(tmp_path):
    from aimass.registry import Registry

    root = tmp_path / "registry"
    reg = Registry(f"sqlite:///{tmp_path / 'reg.db'}", root)
    for seed in (1, 2):
        path = tmp_path / f"m{seed}.safetensors"
        _mlp(seed).save(path)
        reg.register_model(str(path), "digits")
    reg.set_registered_model_alias("digits", "champion", 1)
    s = InferenceService.from_repository(registry_url=reg.url, registry_artifact_root=str(root), poll_interval_s=0.1)
    try:
        x = np.ones((1, 16), np.float32)
        assert s.model_metadata("digits")["versions"] == ["1"]
        np.testing.assert_allclose(_run(s.infer("digits", None, _request(x))).outputs[0][1], _mlp(1).predict(x),
                                   rtol=1e-5)
        reg.set_registered_model_alias("digits", "champion", 2)
        deadline = time.time() + 10
        while _run(s.infer("digits", "champion", _request(x))).model_version != "2":
            assert time.time() < deadline, "the alias move was not followed"
            time.sleep(0.05)
        assert _run(s.infer("digits", None, _request(x))).model_version == "2"
    finally:
        s.close()
        reg.close()


def test_a_version_saved_without_a_signature_says_how_to_fix_it(tmp_path, service_of):
    folder = tmp_path / "unsized" / "1"
    folder.mkdir(parents=True)
    model = _mlp()
    model.__dict__.pop("_input_shape", None)
    model.save(folder / "model.safetensors")
    s = service_of()
    reason = [e for e in s.repository_index() if e["name"] == "unsized"][0]["reason"]
    assert "config.json" in reason and "input" in reason


def test_kind_gpu_without_a_gpu_is_a_load_error_that_says_so(tmp_path, service_of):
    if am.cuda.is_available():
        pytest.skip("this machine has a GPU (test_serve_cuda.py covers it)")
    _put(tmp_path, "g", 1, _mlp(), {"instance_group": [{"kind": "KIND_GPU"}]})
    _put(tmp_path, "auto", 1, _mlp(), {"instance_group": [{"kind": "KIND_AUTO"}]})
    s = service_of()
    reason = [e for e in s.repository_index() if e["name"] == "g"][0]["reason"]
    assert "KIND_GPU" in reason
    assert s.model_ready("auto")  # KIND_AUTO falls back to the CPU


def test_quantised_models_are_served_on_the_cpu(tmp_path, service_of):
    q = am.quant.quantize_dynamic(_mlp(d=64), min_layer_size=0)
    _put(tmp_path, "q_gpu", 1, q, {"instance_group": [{"kind": "KIND_GPU"}]})
    _put(tmp_path, "q_auto", 1, q, {"instance_group": [{"kind": "KIND_AUTO"}]})
    s = service_of()
    reason = [e for e in s.repository_index() if e["name"] == "q_gpu"][0]["reason"]
    assert "QuantizedDense" in reason and "KIND_CPU" in reason
    assert s.model_ready("q_auto")  # placed on the CPU even where a GPU is present

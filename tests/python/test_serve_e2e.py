"""`aimass serve` end to end: the official Triton clients (tritonclient.http and .grpc, used as their
documentation shows) and plain JSON against a real server over a real model repository, every
answer compared with model.predict; metrics; hot reload and SIGTERM under load; a soak that
watches the server's resident memory."""
import json
import os
import signal
import threading
import time
import urllib.request

import numpy as np
import pytest

import aimass as am
from aimass import nn
from serve_client import ServeProcess, post_many, v2_json_body

tritonhttp = pytest.importorskip("tritonclient.http")
tritongrpc = pytest.importorskip("tritonclient.grpc")


def _digits_mlp(seed=0):
    am.manual_seed(seed)
    m = nn.Sequential([nn.Dense(128, activation="relu"), nn.Dense(64, activation="relu"), nn.Dense(10)])
    m(am.zeros((1, 64)))
    return m


def _digits_cnn(seed=0):
    from aimass._demo import build_model

    am.manual_seed(seed)
    m = build_model()
    m.build((None, 1, 8, 8))
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


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("repo"))
    models = {"mlp": _digits_mlp(), "cnn": _digits_cnn()}
    _put(root, "mlp", 1, models["mlp"], {"max_batch_size": 64, "dynamic_batching": {"max_queue_delay_microseconds": 500}})
    _put(root, "cnn", 1, models["cnn"])
    rng = np.random.default_rng(0)
    base = rng.standard_normal((300, 16)).astype(np.float32)
    index = am.knn.FlatIndex(16)
    index.add(base)
    _put(root, "search", 1, index, {"knn": {"k": 4}})
    models["base"] = base
    return root, models


@pytest.fixture(scope="module")
def server(repo):
    root, _ = repo
    with am.serve.Server(root, http_port=0, grpc_port=0, metrics_port=0) as s:
        yield s


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_tritonclient_http_binary_and_json_answers_equal_predict(server, repo):
    _, models = repo
    client = tritonhttp.InferenceServerClient(url=f"127.0.0.1:{server.http_port}")
    try:
        assert client.is_server_live() and client.is_server_ready()
        assert client.is_model_ready("mlp") and client.is_model_ready("cnn", "1")
        meta = client.get_model_metadata("cnn")
        assert meta["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 1, 8, 8]}]
        for name, shape in [("mlp", (5, 64)), ("cnn", (3, 1, 8, 8))]:
            x = _x(shape)
            for binary in (True, False):
                tensor = tritonhttp.InferInput("input", list(x.shape), "FP32")
                tensor.set_data_from_numpy(x, binary_data=binary)
                out = tritonhttp.InferRequestedOutput("output", binary_data=binary)
                result = client.infer(name, [tensor], outputs=[out], request_id="req-1")
                assert result.get_response()["id"] == "req-1"
                np.testing.assert_allclose(result.as_numpy("output"), models[name].predict(x), rtol=1e-4, atol=1e-5)
        stats = client.get_inference_statistics("mlp")
        assert stats["model_stats"][0]["inference_stats"]["success"]["count"] >= 2
        assert {e["name"] for e in client.get_model_repository_index()} == {"mlp", "cnn", "search"}
    finally:
        client.close()


def test_tritonclient_grpc_answers_equal_predict(server, repo):
    _, models = repo
    client = tritongrpc.InferenceServerClient(url=f"127.0.0.1:{server.grpc_port}")
    try:
        assert client.is_server_live() and client.is_model_ready("mlp")
        x = _x((4, 64), 1)
        tensor = tritongrpc.InferInput("input", list(x.shape), "FP32")
        tensor.set_data_from_numpy(x)
        result = client.infer("mlp", [tensor], outputs=[tritongrpc.InferRequestedOutput("output")])
        np.testing.assert_allclose(result.as_numpy("output"), models["mlp"].predict(x), rtol=1e-4, atol=1e-5)
        meta = client.get_model_metadata("cnn", as_json=True)
        assert meta["inputs"][0]["shape"] == ["-1", "1", "8", "8"]
    finally:
        client.close()


def test_plain_json_over_http_and_knn_parameters(server, repo):
    _, models = repo
    x = _x((2, 64), 2)
    req = urllib.request.Request(f"http://127.0.0.1:{server.http_port}/v2/models/mlp/infer", data=v2_json_body("input", x),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        body = json.loads(r.read())
    assert body["model_name"] == "mlp" and body["model_version"] == "1"
    (out,) = body["outputs"]
    assert out["name"] == "output" and out["datatype"] == "FP32" and out["shape"] == [2, 10]
    np.testing.assert_allclose(np.array(out["data"], np.float32).reshape(2, 10), models["mlp"].predict(x), rtol=1e-4,
                               atol=1e-5)
    q = models["base"][:3] + 0.001
    payload = json.loads(v2_json_body("queries", q))
    payload["parameters"] = {"k": 2, "filter": "1,2,5,7"}
    req = urllib.request.Request(f"http://127.0.0.1:{server.http_port}/v2/models/search/infer",
                                 data=json.dumps(payload).encode())
    with urllib.request.urlopen(req, timeout=30) as r:
        outs = {o["name"]: o for o in json.loads(r.read())["outputs"]}
    ids = np.array(outs["ids"]["data"]).reshape(3, 2)
    assert ids[1, 0] == 1 and ids[2, 0] == 2 and set(ids.ravel()) <= {1, 2, 5, 7}


def test_metrics_count_the_requests_with_tritons_names(server):
    from prometheus_client.parser import text_string_to_metric_families

    before = _metric(server, "nv_inference_request_success", "cnn")
    results = post_many("127.0.0.1", server.http_port, "/v2/models/cnn/infer", v2_json_body("input", _x((1, 1, 8, 8))),
                        total=40, connections=4)
    assert [s for s, _, _ in results] == [200] * 40
    assert _metric(server, "nv_inference_request_success", "cnn") == before + 40
    with urllib.request.urlopen(f"http://127.0.0.1:{server.metrics_port}/metrics", timeout=30) as r:
        names = {f.name for f in text_string_to_metric_families(r.read().decode())}
    for name in ["nv_inference_request_success", "nv_inference_request_failure", "nv_inference_count",
                 "nv_inference_exec_count", "nv_inference_pending_request_count", "nv_inference_request_duration_us",
                 "nv_inference_queue_duration_us", "nv_inference_compute_infer_duration_us"]:
        assert name in names


def _metric(server, name, model) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.metrics_port}/metrics", timeout=30) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + "{") and f'model="{model}"' in line:
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_bad_requests_leave_the_server_serving(server):
    base = f"http://127.0.0.1:{server.http_port}"
    cases = [("/v2/models/mlp/infer", b"{not json", 400, "JSON"),
             ("/v2/models/mlp/infer", v2_json_body("input", _x((2, 63))), 400, "input"),
             ("/v2/models/mlp/infer", v2_json_body("pixels", _x((2, 64))), 400, "pixels"),
             ("/v2/models/mlp/infer", v2_json_body("input", _x((2, 64)).astype(np.float64), "FP64"), 400, "FP64"),
             ("/v2/models/nope/infer", v2_json_body("input", _x((2, 64))), 404, "nope"),
             ("/v2/models/mlp/versions/9/infer", v2_json_body("input", _x((2, 64))), 404, "9")]
    for path, body, status, word in cases:
        req = urllib.request.Request(base + path, data=body)
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=30)
        assert e.value.code == status, path
        assert word in json.loads(e.value.read())["error"]
    with urllib.request.urlopen(base + "/v2/health/live", timeout=30) as r:
        assert r.status == 200


def test_hot_reload_under_load_loses_no_request(tmp_path):
    root = str(tmp_path)
    _put(root, "mlp", 1, _digits_mlp(1))
    x = _x((1, 64), 3)
    want = {"1": _digits_mlp(1).predict(x), "2": _digits_mlp(2).predict(x)}
    with am.serve.Server(root, http_port=0, grpc_port=None, metrics_port=None, control_mode="poll",
                         poll_interval_s=0.05) as s:
        box = {}

        def load():
            box["r"] = post_many("127.0.0.1", s.http_port, "/v2/models/mlp/infer", v2_json_body("input", x),
                                 total=10**6, connections=8, keep_payloads=True, seconds=3.0)

        t = threading.Thread(target=load)
        t.start()
        time.sleep(0.8)
        _put(root, "mlp", 2, _digits_mlp(2))
        t.join()
    results = box["r"]
    assert len(results) > 200 and {st for st, _, _ in results} == {200}
    versions = []
    for _, _, payload in results:
        body = json.loads(payload)
        got = np.array(body["outputs"][0]["data"], np.float32).reshape(1, 10)
        np.testing.assert_allclose(got, want[body["model_version"]], rtol=1e-4, atol=1e-5)
        versions.append(body["model_version"])
    assert versions[0] == "1" and versions[-1] == "2"


def test_sigterm_under_load_finishes_in_flight_requests_and_exits_0(tmp_path):
    root = str(tmp_path)
    # a long queue delay keeps requests waiting in the batcher when SIGTERM arrives
    _put(root, "mlp", 1, _digits_mlp(), {"max_batch_size": 1000, "dynamic_batching": {"max_queue_delay_microseconds": 400000}})
    proc = ServeProcess("--model-repository", root)
    try:
        box = {}

        def load():
            box["r"] = post_many(proc.host, proc.port, "/v2/models/mlp/infer", v2_json_body("input", _x((1, 64))),
                                 total=16, connections=16)

        t = threading.Thread(target=load)
        t.start()
        time.sleep(0.2)  # all 16 are queued, waiting out the 400 ms delay
        proc.proc.send_signal(signal.SIGTERM)
        t.join(30)
        code, out = proc.wait(60)
    finally:
        proc.close()
    assert code == 0, out
    assert [s for s, _, _ in box["r"]] == [200] * 16


def test_soak_of_100k_requests_shows_no_memory_growth(tmp_path):
    root = str(tmp_path)
    _put(root, "mlp", 1, _digits_mlp(), {"max_batch_size": 64, "dynamic_batching": {"max_queue_delay_microseconds": 200}})
    proc = ServeProcess("--model-repository", root)
    try:
        body = v2_json_body("input", _x((1, 64)))
        warm = post_many(proc.host, proc.port, "/v2/models/mlp/infer", body, total=10_000, connections=16)
        rss_after_warmup = proc.rss_kib()
        soak = post_many(proc.host, proc.port, "/v2/models/mlp/infer", body, total=100_000, connections=16)
        rss_end = proc.rss_kib()
    finally:
        proc.close()
    assert {s for s, _, _ in warm + soak} == {200} and len(soak) == 100_000
    growth = rss_end - rss_after_warmup
    print(f"server RSS after 10k warm-up {rss_after_warmup / 1024:.1f} MiB, after 100k more "
          f"{rss_end / 1024:.1f} MiB (growth {growth / 1024:.2f} MiB)")
    assert growth < 16 * 1024, f"resident memory grew by {growth} KiB over 100k requests"


def test_the_demo_serving_stage_registers_serves_and_checks_answers(tmp_path, capsys):
    from aimass._demo_serve import run_serve_stage

    model = _digits_cnn(4)
    path = str(tmp_path / "cnn.safetensors")
    model.save(path)
    x = _x((20, 1, 8, 8), 4)
    report = run_serve_stage(path, x, model.predict(x), requests=60, in_flight=4)
    assert report["all_match"] and report["requests"] == 120
    assert sum(report["batch_sizes"].values()) >= 1 and report["throughput"] > 0
    out = capsys.readouterr().out
    assert "models:/digits_cnn/1" in out and "server stopped" in out


def test_cli_explicit_mode_loads_startup_models_and_loads_more_through_tritonclient(tmp_path):
    root = str(tmp_path)
    _put(root, "a", 1, _digits_mlp(1))
    _put(root, "b", 1, _digits_mlp(2))
    proc = ServeProcess("--model-repository", root, "--model-control-mode", "explicit", "--load-model", "a")
    try:
        client = tritonhttp.InferenceServerClient(url=f"{proc.host}:{proc.port}")
        try:
            assert client.is_model_ready("a") and not client.is_model_ready("b")
            client.load_model("b")
            x = _x((2, 64), 5)
            tensor = tritonhttp.InferInput("input", [2, 64], "FP32")
            tensor.set_data_from_numpy(x)
            np.testing.assert_allclose(client.infer("b", [tensor]).as_numpy("output"), _digits_mlp(2).predict(x),
                                       rtol=1e-4, atol=1e-5)
            client.unload_model("a")
            assert not client.is_model_ready("a")
            with pytest.raises(Exception) as e:
                client.load_model("missing")
            assert "missing" in str(e.value)
        finally:
            client.close()
        proc.proc.send_signal(signal.SIGTERM)
        code, out = proc.wait(60)
        assert code == 0, out
    finally:
        proc.close()


def test_cli_serves_a_registry_and_follows_an_alias_move(tmp_path):
    from aimass.registry import Registry

    reg = Registry(f"sqlite:///{tmp_path / 'reg.db'}", tmp_path / "artifacts")
    for seed in (1, 2):
        path = tmp_path / f"m{seed}.safetensors"
        _digits_mlp(seed).save(path)
        reg.register_model(str(path), "digits")
    reg.set_registered_model_alias("digits", "champion", 1)
    proc = ServeProcess("--registry", reg.url, "--repository-poll-secs", "0.2",
                        env={"AIMASS_REGISTRY": str(tmp_path / "artifacts")})
    try:
        body = v2_json_body("input", _x((1, 64)))

        def served_version():
            (status, _, payload), = post_many(proc.host, proc.port, "/v2/models/digits/infer", body, total=1,
                                              connections=1, keep_payloads=True)
            assert status == 200, payload
            return json.loads(payload)["model_version"]

        assert served_version() == "1"
        reg.set_registered_model_alias("digits", "champion", 2)
        deadline = time.time() + 20
        while served_version() != "2":
            assert time.time() < deadline, "the alias move was not followed"
            time.sleep(0.1)
    finally:
        proc.close()
        reg.close()

"""The HTTP endpoint (aimass.serve._http), metrics (_metrics), the Server (_server) and the
`aimass serve` arguments, against a fake InferenceService and a real Server on free ports.

The fake service holds "double" (FP32 x [-1, 4] -> y = 2x, versions 1 and 2), "pair" (two
inputs, for the raw-binary refusal) and "slow" (sleeps before answering, for the drain). The
official clients (tritonclient.http and .grpc, unmodified) and plain http.client call it.
"""
from __future__ import annotations

import asyncio
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

tritonclient_http = pytest.importorskip("tritonclient.http")
pytest.importorskip("uvicorn")
pytest.importorskip("httptools")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402
from tritonclient.utils import InferenceServerException  # noqa: E402

from aimass.serve._errors import bad_request, not_found  # noqa: E402
from aimass.serve._protocol import InferResult  # noqa: E402
from aimass.serve._server import Server  # noqa: E402

TOKEN = "s3cret-token"


class FakeService:
    """An InferenceService (SERVE_API.md) for tests: "double" (y = 2x), "pair" (two inputs),
    "slow" (y = 2x after `slow_s` seconds); `fail_with` makes infer raise that exception."""

    models = {"double": ["1", "2"], "pair": ["1"], "slow": ["1"]}

    def __init__(self, slow_s: float = 0.5):
        self.slow_s = slow_s
        self.fail_with = None
        self.loaded = []
        self.closed = None
        self.infer_count = 0
        self.entered = 0  # infer calls begun (the drain tests wait for one)

    def _check(self, name, version=None):
        if name not in self.models:
            raise not_found(f"unknown model '{name}'")
        if version is not None and version not in self.models[name]:
            raise not_found(f"unknown version '{version}' of model '{name}'")

    def live(self):
        return True

    def ready(self):
        return True

    def server_metadata(self):
        return {"name": "aimass", "version": "0.test", "extensions": ["binary_tensor_data", "model_repository", "statistics"]}

    def model_ready(self, name, version):
        self._check(name, version)
        return True

    def input_metadata(self, name, version):
        self._check(name, version)
        if name == "pair":
            return [{"name": "a", "datatype": "FP32", "shape": [-1, 4]}, {"name": "b", "datatype": "FP32", "shape": [-1, 4]}]
        return [{"name": "x", "datatype": "FP32", "shape": [-1, 4]}]

    def model_metadata(self, name, version):
        self._check(name, version)
        return {
            "name": name,
            "versions": self.models[name],
            "platform": "aimass",
            "inputs": self.input_metadata(name, version),
            "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 4]}],
        }

    def model_config(self, name, version):
        self._check(name, version)
        return {"name": name, "max_batch_size": 64, "inputs": [{"name": "x", "datatype": "FP32", "shape": [4]}], "outputs": [{"name": "y", "datatype": "FP32", "shape": [4]}]}

    async def infer(self, name, version, request):
        self._check(name, version)
        self.entered += 1
        if self.fail_with is not None:
            raise self.fail_with
        if name == "slow":
            await asyncio.sleep(self.slow_s)
        x = {tensor.name: tensor for tensor in request.inputs}.get("x")
        if x is None:
            raise bad_request(f"model '{name}' needs input 'x', got {[t.name for t in request.inputs]}")
        if x.datatype != "FP32":
            raise bad_request(f"input 'x': expected FP32, got {x.datatype}")
        self.infer_count += 1
        return InferResult(name, version or self.models[name][-1], request.id, [("y", x.data * 2)], {})

    def repository_index(self, ready_only=False):
        return [{"name": name, "version": versions[-1], "state": "READY", "reason": ""} for name, versions in self.models.items()]

    def load(self, name):
        if name == "broken":
            raise bad_request("model 'broken': config.json is not valid JSON")
        self.loaded.append(name)

    def unload(self, name):
        self._check(name)
        self.loaded.append("-" + name)

    def statistics(self, name, version):
        names = [name] if name else list(self.models)
        for n in names:
            self._check(n, version)
        return {"model_stats": [{"name": n, "version": version or "1", "inference_count": self.infer_count, "execution_count": self.infer_count} for n in names]}

    def metric_rows(self):
        return [
            {"model": "double", "version": "1", "success": self.infer_count, "failure": 1, "inference_count": 7, "execution_count": 3,
             "pending": 0, "request_duration_us": 1200, "queue_duration_us": 100, "compute_infer_duration_us": 900},
            {"model": "double", "version": "2", "success": 2, "failure": 0, "inference_count": 2, "execution_count": 1,
             "pending": 1, "request_duration_us": 50, "queue_duration_us": 5, "compute_infer_duration_us": 40},
        ]

    def close(self, drain_timeout_s=30.0):
        self.closed = drain_timeout_s


@pytest.fixture(scope="module")
def service():
    return FakeService()


@pytest.fixture(scope="module")
def server(service):
    with Server(service, http_port=0, grpc_port=0, metrics_port=0, body_timeout_s=0.5, max_body_bytes=1 << 20) as running:
        yield running


@pytest.fixture(scope="module")
def secured(service):
    with Server(service, http_port=0, grpc_port=None, metrics_port=None, token=TOKEN) as running:
        yield running


@pytest.fixture
def client(server):
    triton = tritonclient_http.InferenceServerClient(f"127.0.0.1:{server.http_port}")
    yield triton
    triton.close()


def request(port, method, path, body=None, headers=None):
    """(status, headers, body bytes) of one plain HTTP request."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def x_input(rows=3, binary=True):
    x = np.arange(rows * 4, dtype=np.float32).reshape(rows, 4)
    tensor = tritonclient_http.InferInput("x", list(x.shape), "FP32")
    tensor.set_data_from_numpy(x, binary_data=binary)
    return x, tensor


# ---------------------------------------------------------------------------------------------
# Every route through tritonclient.http


def test_health_and_metadata_through_tritonclient(client):
    assert client.is_server_live() and client.is_server_ready()
    assert client.get_server_metadata()["name"] == "aimass"
    assert client.is_model_ready("double") and client.is_model_ready("double", "1")
    assert not client.is_model_ready("nope")
    meta = client.get_model_metadata("double")
    assert meta["inputs"][0] == {"name": "x", "datatype": "FP32", "shape": [-1, 4]} and meta["versions"] == ["1", "2"]
    assert client.get_model_metadata("double", "2")["name"] == "double"
    assert client.get_model_config("double")["max_batch_size"] == 64
    with pytest.raises(InferenceServerException, match="unknown version '9'"):
        client.get_model_metadata("double", "9")


@pytest.mark.parametrize("binary_in", [True, False])
@pytest.mark.parametrize("binary_out", [True, False])
def test_infer_through_tritonclient(client, binary_in, binary_out):
    x, tensor = x_input(binary=binary_in)
    result = client.infer("double", [tensor], outputs=[tritonclient_http.InferRequestedOutput("y", binary_data=binary_out)], request_id="r-7")
    np.testing.assert_array_equal(result.as_numpy("y"), x * 2)
    response = result.get_response()
    assert response["id"] == "r-7" and response["model_name"] == "double" and response["model_version"] == "2"


def test_infer_names_a_version_and_defaults_to_all_outputs(client):
    x, tensor = x_input(rows=1)
    result = client.infer("double", [tensor], model_version="1")
    np.testing.assert_array_equal(result.as_numpy("y"), x * 2)
    assert result.get_response()["model_version"] == "1"


def test_statistics_and_repository_through_tritonclient(client, service):
    assert client.get_inference_statistics("double")["model_stats"][0]["name"] == "double"
    assert client.get_inference_statistics("double", "1")["model_stats"][0]["version"] == "1"
    assert len(client.get_inference_statistics()["model_stats"]) == len(service.models)
    index = client.get_model_repository_index()
    assert {entry["name"] for entry in index} == set(service.models)
    client.load_model("double")
    client.unload_model("double")
    assert service.loaded[-2:] == ["double", "-double"]
    with pytest.raises(InferenceServerException, match="not valid JSON"):
        client.load_model("broken")
    with pytest.raises(InferenceServerException, match="config or file override"):
        client.load_model("double", config='{"max_batch_size": 8}')


# ---------------------------------------------------------------------------------------------
# Plain JSON over http.client


def test_plain_json_infer_and_routes(server):
    port = server.http_port
    body = {"id": "j1", "inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 4], "data": [[1, 2, 3, 4]]}]}
    status, headers, payload = request(port, "POST", "/v2/models/double/infer", body)
    assert status == 200 and headers["content-type"] == "application/json" and int(headers["content-length"]) == len(payload)
    answer = json.loads(payload)
    assert answer["id"] == "j1" and answer["outputs"][0]["data"] == [2, 4, 6, 8]
    status, headers, payload = request(port, "POST", "/v2/models/double/versions/1/infer", {**body, "parameters": {"binary_data_output": True}})
    assert status == 200 and headers["content-type"] == "application/octet-stream"
    header_length = int(headers["inference-header-content-length"])
    np.testing.assert_array_equal(np.frombuffer(payload[header_length:], np.float32), [2, 4, 6, 8])
    for path in ("/v2/health/live", "/v2/health/ready", "/v2/models/double/ready", "/v2/models/double/versions/2/ready"):
        assert request(port, "GET", path)[0] == 200, path
    for path in ("/v2", "/v2/models/double", "/v2/models/double/config", "/v2/models/double/stats", "/v2/models/stats"):
        status, headers, payload = request(port, "GET", path)
        assert status == 200 and headers["content-type"] == "application/json" and json.loads(payload), path
    assert request(port, "POST", "/v2/repository/index", b"")[0] == 200
    status, _, payload = request(port, "POST", "/v2/repository/index", {"ready": True})
    assert status == 200 and isinstance(json.loads(payload), list)
    assert request(port, "POST", "/v2/repository/models/double/load", b"")[0] == 200
    assert request(port, "POST", "/v2/repository/models/double/unload", {"parameters": {"unload_dependents": True, "whatever": 1}})[0] == 200


def test_raw_binary_request(server):
    x = np.arange(8, dtype=np.float32)
    for headers in ({"Inference-Header-Content-Length": "0"}, {"Content-Type": "application/octet-stream"}):
        status, _, payload = request(server.http_port, "POST", "/v2/models/double/infer", x.tobytes(), headers)
        assert status == 200, payload
        output = json.loads(payload)["outputs"][0]
        assert output["shape"] == [2, 4] and output["data"] == (x * 2).tolist()


def test_chunked_post_without_content_length(server):
    # http.client sends a body given as an iterator with Transfer-Encoding: chunked.
    body = json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}]}).encode()
    connection = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=10)
    try:
        connection.request("POST", "/v2/models/double/infer", body=iter([body[:10], body[10:30], body[30:]]), encode_chunked=True)
        response = connection.getresponse()
        assert response.status == 200
        assert json.loads(response.read())["outputs"][0]["data"] == [2, 4, 6, 8]
    finally:
        connection.close()


# ---------------------------------------------------------------------------------------------
# Malformed requests: each gets its status and an error naming the problem; the server serves on


def _infer_body(**tensor):
    return {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4], **tensor}]}


def _binary_body(declared: int, sent: int):
    header = json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 4], "parameters": {"binary_data_size": declared}}]}).encode()
    return header + bytes(sent), {"Inference-Header-Content-Length": str(len(header))}


MALFORMED = [
    # (id, method, path, body, headers, status, words in the error)
    ("bad json", "POST", "/v2/models/double/infer", b'{"inputs": [', {}, 400, "not valid JSON"),
    ("missing inputs", "POST", "/v2/models/double/infer", {"id": "1"}, {}, 400, "'inputs'"),
    ("truncated binary", "POST", "/v2/models/double/infer", *_binary_body(16, 9), 400, "truncated"),
    ("wrong datatype", "POST", "/v2/models/double/infer", _infer_body(datatype="INT32"), {}, 400, "expected FP32"),
    ("unknown datatype", "POST", "/v2/models/double/infer", _infer_body(datatype="FP128"), {}, 400, "unknown datatype"),
    ("negative shape", "POST", "/v2/models/double/infer", _infer_body(shape=[-1, 4]), {}, 400, "negative"),
    ("huge shape", "POST", "/v2/models/double/infer", _infer_body(shape=[1 << 20, 1 << 20]), {}, 400, "elements"),
    ("raw binary, two inputs", "POST", "/v2/models/pair/infer", bytes(32), {"Inference-Header-Content-Length": "0"}, 400, "exactly one"),
    ("raw binary, ragged", "POST", "/v2/models/double/infer", bytes(10), {"Inference-Header-Content-Length": "0"}, 400, "does not fit"),
    ("bad header length", "POST", "/v2/models/double/infer", b"{}", {"Inference-Header-Content-Length": "x"}, 400, "Inference-Header-Content-Length"),
    ("compressed", "POST", "/v2/models/double/infer", b"\x1f\x8b", {"Content-Encoding": "gzip"}, 415, "Content-Encoding"),
    ("unknown model", "POST", "/v2/models/nope/infer", _infer_body(), {}, 404, "unknown model 'nope'"),
    ("unknown version", "GET", "/v2/models/double/versions/7", None, {}, 404, "unknown version '7'"),
    ("unknown model ready", "GET", "/v2/models/nope/ready", None, {}, 404, "nope"),
    ("wrong method", "GET", "/v2/models/double/infer", None, {}, 405, "method GET"),
    ("wrong method index", "GET", "/v2/repository/index", None, {}, 405, "allowed: POST"),
    ("unknown route", "GET", "/v3/nothing", None, {}, 404, "unknown route /v3/nothing"),
    ("bad index body", "POST", "/v2/repository/index", {"ready": "yes"}, {}, 400, "'ready'"),
    ("index body not an object", "POST", "/v2/repository/index", b"[1]", {}, 400, "JSON object"),
    ("bad load parameters", "POST", "/v2/repository/models/double/load", {"parameters": 3}, {}, 400, "'parameters'"),
    # Refused on its Content-Length before any of the body is read (none is sent).
    ("body over limit", "POST", "/v2/models/double/infer", b"", {"Content-Length": str((1 << 20) + 1)}, 413, "over the limit"),
]


@pytest.mark.parametrize("case", MALFORMED, ids=[case[0] for case in MALFORMED])
def test_malformed_request_table(server, case):
    _, method, path, body, headers, status, words = case
    got, response_headers, payload = request(server.http_port, method, path, body, headers)
    assert got == status, payload
    assert response_headers["content-type"] == "application/json"
    assert words in json.loads(payload)["error"]
    assert request(server.http_port, "GET", "/v2/health/live")[0] == 200


def test_body_over_limit_without_content_length(server):
    # Chunked: no Content-Length to refuse early, so the running total answers 413.
    connection = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=10)
    try:
        chunk = bytes(256 << 10)
        try:
            connection.request("POST", "/v2/models/double/infer", body=iter([chunk] * 8), encode_chunked=True)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before the client finished sending
        response = connection.getresponse()
        assert response.status == 413 and "over the limit" in json.loads(response.read())["error"]
    finally:
        connection.close()


def test_stalled_body_times_out_with_408(server):
    with socket.create_connection(("127.0.0.1", server.http_port), timeout=10) as sock:
        sock.sendall(b"POST /v2/models/double/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"{" * 10)
        started = time.monotonic()
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    assert time.monotonic() - started < 5
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"not received within 0.5 s" in answer
    assert request(server.http_port, "GET", "/v2/health/live")[0] == 200


@pytest.mark.parametrize("sent", [b"", b"POST /v2/models/double/infer HTTP/1.1\r\nHost: x\r\nConte"], ids=["nothing", "half the headers"])
def test_silent_client_is_disconnected(server, sent):
    with socket.create_connection(("127.0.0.1", server.http_port), timeout=10) as sock:
        sock.sendall(sent)
        started = time.monotonic()
        assert sock.recv(65536) == b""  # closed by the server
    assert 0.3 < time.monotonic() - started < 5
    assert request(server.http_port, "GET", "/v2/health/live")[0] == 200


@pytest.mark.parametrize("one_timer", [True, False], ids=["timeout_at", "wait_for"])
def test_body_timeout_in_the_app(monkeypatch, one_timer):
    # The ASGI app alone, on both timer paths (asyncio.timeout_at from 3.11, wait_for on 3.10).
    from aimass.serve import _http

    if not one_timer:
        monkeypatch.setattr(_http, "_timeout_at", None)
    elif _http._timeout_at is None:
        pytest.skip("asyncio.timeout_at is Python 3.11+")
    app = _http.HttpApp(FakeService(), body_timeout_s=0.2)
    scope = {"type": "http", "method": "POST", "path": "/v2/models/double/infer", "headers": [(b"content-length", b"100")]}
    messages = [{"type": "http.request", "body": b"{" * 10, "more_body": True}]
    sent = []

    async def receive():
        if messages:
            return messages.pop()
        await asyncio.sleep(10)  # the client stalls

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 408 and (b"connection", b"close") in sent[0]["headers"]
    assert json.loads(sent[1]["body"]) == {"error": "request body not received within 0.2 s (10 bytes arrived)"}
    assert app.in_flight == 0


def test_unexpected_exception_is_500_and_the_server_serves_on(server, service):
    service.fail_with = ZeroDivisionError("boom")
    try:
        status, _, payload = request(server.http_port, "POST", "/v2/models/double/infer", _infer_body())
    finally:
        service.fail_with = None
    assert status == 500 and "ZeroDivisionError: boom" in json.loads(payload)["error"]
    assert request(server.http_port, "POST", "/v2/models/double/infer", _infer_body())[0] == 200


def test_service_errors_keep_their_status(server, service):
    from aimass.serve._errors import unavailable

    service.fail_with = unavailable("model 'double' queue is full")
    try:
        status, _, payload = request(server.http_port, "POST", "/v2/models/double/infer", _infer_body())
    finally:
        service.fail_with = None
    assert status == 503 and json.loads(payload) == {"error": "model 'double' queue is full"}


# ---------------------------------------------------------------------------------------------
# Bearer token


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}], ids=["missing", "wrong", "not bearer"])
def test_token_required(secured, headers):
    status, _, payload = request(secured.http_port, "GET", "/v2/models/double", None, headers)
    assert status == 401 and "bearer token" in json.loads(payload)["error"]
    assert request(secured.http_port, "GET", "/metrics", None, headers)[0] == 401
    assert request(secured.http_port, "GET", "/v2/health/live", None, headers)[0] == 200  # health needs none


def test_token_accepted_through_tritonclient(secured):
    triton = tritonclient_http.InferenceServerClient(f"127.0.0.1:{secured.http_port}")
    try:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        x, tensor = x_input()
        np.testing.assert_array_equal(triton.infer("double", [tensor], headers=auth).as_numpy("y"), x * 2)
        with pytest.raises(InferenceServerException, match="bearer token"):
            triton.get_model_metadata("double")
    finally:
        triton.close()


# ---------------------------------------------------------------------------------------------
# Metrics


TRITON_METRICS = {
    "nv_inference_request_success": "counter",
    "nv_inference_request_failure": "counter",
    "nv_inference_count": "counter",
    "nv_inference_exec_count": "counter",
    "nv_inference_request_duration_us": "counter",
    "nv_inference_queue_duration_us": "counter",
    "nv_inference_compute_infer_duration_us": "counter",
    "nv_inference_pending_request_count": "gauge",
}


@pytest.mark.parametrize("port_name", ["metrics_port", "http_port"])
def test_metrics_have_tritons_names(server, port_name):
    status, headers, payload = request(getattr(server, port_name), "GET", "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    text = payload.decode()
    families = {family.name: family for family in text_string_to_metric_families(text)}
    assert {name: family.type for name, family in families.items()} == TRITON_METRICS
    for name in TRITON_METRICS:  # Triton's exact names: no _total
        assert f"# TYPE {name} {TRITON_METRICS[name]}\n" in text
        assert f'{name}{{model="double",version="1"}} ' in text
    assert 'nv_inference_count{model="double",version="1"} 7\n' in text
    assert 'nv_inference_pending_request_count{model="double",version="2"} 1\n' in text
    labels = [sample.labels for sample in families["nv_inference_exec_count"].samples]
    assert labels == [{"model": "double", "version": "1"}, {"model": "double", "version": "2"}]


def test_metrics_port_serves_only_metrics(server):
    assert request(server.metrics_port, "GET", "/v2/health/live")[0] == 404


# ---------------------------------------------------------------------------------------------
# gRPC on the same Server


def test_grpc_on_the_same_server(server):
    tritonclient_grpc = pytest.importorskip("tritonclient.grpc")
    triton = tritonclient_grpc.InferenceServerClient(f"127.0.0.1:{server.grpc_port}")
    try:
        assert triton.is_server_live() and triton.is_model_ready("double")
        x = np.ones((2, 4), np.float32)
        tensor = tritonclient_grpc.InferInput("x", [2, 4], "FP32")
        tensor.set_data_from_numpy(x)
        np.testing.assert_array_equal(triton.infer("double", [tensor]).as_numpy("y"), x * 2)
    finally:
        triton.close()


# ---------------------------------------------------------------------------------------------
# The Server: start/stop, ports, drain


def test_start_stop_twice_and_idempotent():
    service = FakeService()
    server = Server(service, http_port=0, grpc_port=0, metrics_port=0)
    for _ in range(2):
        server.start()
        server.start()  # no-op while running
        assert server.url == f"http://127.0.0.1:{server.http_port}"
        assert request(server.http_port, "GET", "/v2/health/ready")[0] == 200
        assert request(server.metrics_port, "GET", "/metrics")[0] == 200
        port = server.http_port
        server.stop()
        server.stop()  # idempotent
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
    assert service.closed is None  # a passed-in service is its owner's to close
    with Server(service, http_port=port, grpc_port=None, metrics_port=None) as again:  # the port is free again
        assert again.http_port == port and again.grpc_port is None
        assert request(port, "GET", "/metrics")[0] == 200


def test_close_service_when_asked():
    service = FakeService()
    with Server(service, http_port=0, grpc_port=None, metrics_port=None, close_service=True, drain_timeout_s=2.0):
        pass
    assert service.closed == 2.0


@pytest.mark.parametrize("endpoint", ["http_port", "grpc_port", "metrics_port"])
def test_port_taken_is_a_clear_error(server, endpoint):
    taken = getattr(server, endpoint)
    ports = {"http_port": 0, "grpc_port": 0, "metrics_port": 0, endpoint: taken}
    other = Server(FakeService(), **ports)
    with pytest.raises(OSError, match=rf"cannot listen for \w+ on 127.0.0.1:{taken}"):
        other.start()
    assert not other.running
    assert request(server.http_port, "GET", "/v2/health/live")[0] == 200


def wait_for_infer(service, timeout=10.0):
    """Wait until a request has reached the fake's infer (it is in flight)."""
    deadline = time.monotonic() + timeout
    while service.entered == 0:
        assert time.monotonic() < deadline, "no request reached infer"
        time.sleep(0.005)


def test_stop_drains_a_request_in_flight():
    service = FakeService(slow_s=0.5)
    server = Server(service, http_port=0, grpc_port=0, metrics_port=None, drain_timeout_s=5.0).start()
    answers = {}

    def slow_call():
        answers["slow"] = request(server.http_port, "POST", "/v2/models/slow/infer", _infer_body())

    caller = threading.Thread(target=slow_call)
    caller.start()
    wait_for_infer(service)
    started = time.monotonic()
    server.stop()
    caller.join(10)
    assert time.monotonic() - started >= 0.3  # stop waited for the request
    status, _, payload = answers["slow"]
    assert status == 200 and json.loads(payload)["outputs"][0]["data"] == [2, 4, 6, 8]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.http_port), timeout=2).close()


def test_stop_drains_a_grpc_request_in_flight():
    tritonclient_grpc = pytest.importorskip("tritonclient.grpc")
    service = FakeService(slow_s=0.5)
    server = Server(service, http_port=0, grpc_port=0, metrics_port=None, drain_timeout_s=5.0).start()
    triton = tritonclient_grpc.InferenceServerClient(f"127.0.0.1:{server.grpc_port}")
    try:
        tensor = tritonclient_grpc.InferInput("x", [1, 4], "FP32")
        tensor.set_data_from_numpy(np.ones((1, 4), np.float32))
        answers = {}
        caller = threading.Thread(target=lambda: answers.update(y=triton.infer("slow", [tensor]).as_numpy("y")))
        caller.start()
        wait_for_infer(service)
        server.stop()
        caller.join(10)
        np.testing.assert_array_equal(answers["y"], np.full((1, 4), 2, np.float32))
    finally:
        triton.close()
        server.stop()


def test_stop_cuts_off_a_request_longer_than_the_drain():
    service = FakeService(slow_s=5.0)
    server = Server(service, http_port=0, grpc_port=None, metrics_port=None).start()
    outcome = {}

    def slow_call():
        outcome["answer"] = request(server.http_port, "POST", "/v2/models/slow/infer", _infer_body())

    caller = threading.Thread(target=slow_call)
    caller.start()
    wait_for_infer(service)
    started = time.monotonic()
    server.stop(drain_timeout_s=0.3)
    assert time.monotonic() - started < 3
    caller.join(10)
    status, _, payload = outcome["answer"]
    assert status == 503 and "did not finish within the drain timeout" in json.loads(payload)["error"]


def test_server_needs_something_to_serve():
    with pytest.raises(ValueError, match="model repository"):
        Server(None)


# ---------------------------------------------------------------------------------------------
# `aimass serve` arguments


def _cli(*args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.run([sys.executable, "-m", "aimass.cli", "serve", *args], capture_output=True, text=True, timeout=60, env=env)


def test_cli_help_lists_the_options():
    done = _cli("--help")
    assert done.returncode == 0
    for option in ("--model-repository", "--registry", "--http-port", "--grpc-port", "--metrics-port", "--host", "--model-control-mode",
                   "--repository-poll-secs", "--token", "--max-body-bytes", "--drain-timeout", "AIMASS_SERVE_TOKEN"):
        assert option in done.stdout, option


@pytest.mark.parametrize(
    "args, words",
    [
        ((), "one of the arguments --model-repository --registry is required"),
        (("--model-repository", "a", "--registry", "sqlite:///r.db"), "not allowed with argument"),
        (("--model-repository", "a", "--http-port", "x"), "--http-port"),
        (("--model-repository", "a", "--model-control-mode", "sometimes"), "invalid choice"),
        (("--model-repository", "a", "--max-body-bytes", "-1"), "--max-body-bytes"),
        (("--model-repository", "/definitely/not/here"), "is not a directory"),
    ],
)
def test_cli_argument_errors(tmp_path, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a").mkdir()
    done = _cli(*args)
    assert done.returncode == 2 and words in done.stderr, done.stderr


SERVE_FOREVER = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("serve_http_tests", sys.argv[1])
tests = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tests)
server = tests.Server(tests.FakeService(slow_s=2.0), http_port=0, grpc_port=0, metrics_port=None, drain_timeout_s=10)
sys.exit(server.serve_forever(on_ready=lambda s: print("ready", s.http_port, flush=True)))
"""


def test_serve_forever_drains_on_sigterm_and_exits_0():
    import signal

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    process = subprocess.Popen([sys.executable, "-c", SERVE_FOREVER, __file__], stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = process.stdout.readline().split()
        assert line[0] == "ready", line
        port = int(line[1])
        answers = {}
        caller = threading.Thread(target=lambda: answers.update(slow=request(port, "POST", "/v2/models/slow/infer", _infer_body())))
        caller.start()
        time.sleep(0.5)  # the request is in flight (the fake sleeps 2 s)
        process.send_signal(signal.SIGTERM)
        caller.join(10)
        assert process.wait(20) == 0
        assert answers["slow"][0] == 200
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()


def test_cli_port_taken_is_an_error_line_and_exit_1(server, tmp_path):
    done = _cli("--model-repository", str(tmp_path), "--http-port", str(server.http_port), "--grpc-port", "none")
    assert done.returncode == 1
    assert done.stderr.startswith("aimass serve: error: ")
    assert f"cannot listen for HTTP on 127.0.0.1:{server.http_port} (the port is taken)" in done.stderr

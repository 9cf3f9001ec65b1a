"""benchmarks/bench_serve.py's own parts: the load generator (against a server in a thread that
answers at once), its percentiles, and its requests and answers through aimass's v2 codec."""
from __future__ import annotations

import asyncio
import os
import sys
import threading

import numpy as np
import pytest

BENCHMARKS = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks")
sys.path.insert(0, os.path.abspath(BENCHMARKS))

import _serve_load  # noqa: E402
import bench_serve  # noqa: E402
from aimass.serve._protocol import InferResult, decode_http_request, encode_http_response  # noqa: E402


class _AnswerProtocol(_serve_load.TrivialProtocol):
    """TrivialProtocol with a chosen status for every answer."""

    status = 200

    def data_received(self, data):
        if self.status == 200:
            return super().data_received(data)
        self.transport.write(b"HTTP/1.1 %d Oops\r\nContent-Length: 2\r\n\r\n{}" % self.status)


@pytest.fixture
def answering_server():
    """(port, protocol class) of an asyncio server in a thread; set .status to choose answers."""
    loop = asyncio.new_event_loop()
    protocol = type("Answer", (_AnswerProtocol,), {})
    server = loop.run_until_complete(loop.create_server(protocol, "127.0.0.1", 0))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield server.sockets[0].getsockname()[1], protocol
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    server.close()
    loop.run_until_complete(server.wait_closed())
    loop.close()


def _load(port, concurrency, body=b'{"inputs": []}'):
    request = _serve_load.build_request("127.0.0.1", port, "/v2/models/m/infer", body, {"Content-Type": "application/json"})
    return asyncio.run(_serve_load.load("127.0.0.1", port, request, concurrency, duration=0.3, warmup=0.05))


def test_load_keeps_one_request_per_connection_and_counts_the_window(answering_server):
    port, _ = answering_server
    result = _load(port, concurrency=4)
    assert result["errors"] == 0, result["error_sample"]
    assert len(result["first_responses"]) == 4           # one first answer per connection
    assert all(r["status"] == 200 for r in result["first_responses"])
    assert result["requests"] > 10
    assert result["rps"] == pytest.approx(result["requests"] / 0.3)
    assert 0 < result["p50_ms"] <= result["p99_ms"]


def test_load_counts_answers_that_are_not_200(answering_server):
    port, protocol = answering_server
    protocol.status = 503
    result = _load(port, concurrency=2)
    assert result["requests"] == 0 and result["errors"] > 0
    assert result["error_sample"].startswith("HTTP 503")


def test_summary_percentiles():
    run = _serve_load.Run(warmup=0.0, duration=1.0)
    run.latencies = [i / 1000 for i in range(1, 101)]   # 1 .. 100 ms
    result = _serve_load.summary(run, 2.0)
    assert result["requests"] == 100 and result["rps"] == 50
    assert result["p50_ms"] == pytest.approx(50.5)
    assert result["p99_ms"] == pytest.approx(99.01)


@pytest.mark.parametrize("fmt", ["json", "binary"])
def test_requests_and_answers_through_the_servers_codec(fmt):
    x = np.random.default_rng(0).random((1, 1, 8, 8), dtype=np.float32)
    body, headers = bench_serve.request_bodies("input", x)[fmt]
    request = decode_http_request(body, headers.get("Inference-Header-Content-Length"))
    np.testing.assert_array_equal(request.inputs[0].data, x)
    y = np.random.default_rng(1).random((1, 10), dtype=np.float32)
    answer, answer_headers = encode_http_response(InferResult("m", "1", None, [("output", y)], {}), request)
    assert ("Inference-Header-Content-Length" in answer_headers) == (fmt == "binary")
    decoded = bench_serve.decode_answer({k.lower(): v for k, v in answer_headers.items()}, answer)
    np.testing.assert_allclose(decoded, y, rtol=1e-6)


def test_describe_batches_counts_what_formed_between_two_reads():
    before = {1: 5, 8: 2}
    after = {1: 7, 8: 2, 16: 3, 64: 1}   # 2 of 1, 3 of 16, 1 of 64 since `before`
    text = bench_serve.describe_batches(before, after)
    assert text.startswith("6 executions, 19.0 rows each on average, max 64")
    assert "16x3" in text and "1x2" in text and "8x" not in text

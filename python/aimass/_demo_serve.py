"""The serving stage of ``aimass demo``: register the trained model, serve it, call it.

Registers the saved model as version 1 of "digits_cnn" in a throwaway am.registry (SQLite) and
points the alias "champion" at it, serves the registry with ``am.serve.Server`` on a free local
port, then calls the server through the official Triton client (tritonclient.http):

- one request at a time (latency p50 / p99), and
- many in flight (throughput, which the server's dynamic batcher turns into batches),

checks every answer against model.predict on the same images, prints the batch sizes that
formed (from the server's statistics), and stops the server.
"""
from __future__ import annotations

import os
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

MODEL_NAME = "digits_cnn"


def _percentile_ms(seconds: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds) * 1e3, q))


def run_serve_stage(model_path: str, x_test: np.ndarray, expected: np.ndarray, requests: int = 300,
                    in_flight: int = 16) -> dict:
    """x_test: (N, 1, 8, 8) float32 images; expected: model.predict(x_test) (N, 10)."""
    import tritonclient.http as httpclient

    from .registry import Registry
    from .serve import Server
    from .serve._service import InferenceService

    with tempfile.TemporaryDirectory(prefix="aimass-demo-") as tmp:
        root = os.path.join(tmp, "artifacts")
        registry = Registry(f"sqlite:///{os.path.join(tmp, 'registry.db')}", root)
        version = registry.register_model(model_path, MODEL_NAME, tags={"task": "digits"},
                                          description="aimass demo CNN")
        registry.set_registered_model_alias(MODEL_NAME, "champion", version.version)
        print(f"\nregistry: {version.uri} registered, alias champion -> {version.version}")
        service = InferenceService.from_repository(registry_url=registry.url, registry_artifact_root=root)
        try:
            with Server(service, host="127.0.0.1", http_port=0, grpc_port=None, metrics_port=None) as server:
                url = f"127.0.0.1:{server.http_port}"
                print(f"serving {MODEL_NAME} on http://{url} (KServe v2 / Triton protocol)")
                report = _call(httpclient, url, x_test, expected, requests, in_flight)
                stats = service.statistics(MODEL_NAME)["model_stats"][0]
        finally:
            service.close()
            registry.close()
    sizes = {b["batch_size"]: b["compute_infer"]["count"] for b in stats["batch_stats"]}
    print(f"one at a time: p50 {report['p50_ms']:.2f} ms, p99 {report['p99_ms']:.2f} ms per request")
    print(f"{in_flight} in flight: {report['throughput']:,.0f} requests/s; batch sizes formed "
          f"(size: batches): {dict(sorted(sizes.items()))}")
    print(f"answers identical to model.predict: {report['all_match']} ({report['requests']} requests); "
          "server stopped")
    report["batch_sizes"] = sizes
    return report


def _call(httpclient, url: str, x_test: np.ndarray, expected: np.ndarray, requests: int, in_flight: int) -> dict:
    """Sequential requests for latency, then `in_flight` threads (a client each: tritonclient's
    HTTP client is not thread-safe, and its gevent-based async_infer is slower than threads)."""
    local = threading.local()
    clients = []
    lock = threading.Lock()

    def client():
        if not hasattr(local, "client"):
            local.client = httpclient.InferenceServerClient(url=url)
            with lock:
                clients.append(local.client)
        return local.client

    def call(i: int) -> tuple[float, bool]:
        row = i % len(x_test)
        image = x_test[row][None]
        tensor = httpclient.InferInput("input", list(image.shape), "FP32")
        tensor.set_data_from_numpy(image, binary_data=True)
        start = time.perf_counter()
        result = client().infer(MODEL_NAME, [tensor])
        seconds = time.perf_counter() - start
        return seconds, bool(np.allclose(result.as_numpy("output")[0], expected[row], rtol=1e-4, atol=1e-5))

    try:
        if not client().is_model_ready(MODEL_NAME):
            raise RuntimeError(f"the server at {url} says {MODEL_NAME} is not ready")
        sequential = [call(i) for i in range(min(100, requests))]
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=in_flight) as pool:
            concurrent = list(pool.map(call, range(requests)))
        seconds = time.perf_counter() - start
    finally:
        for c in clients:
            c.close()
    latencies = [t for t, _ in sequential]
    return {"p50_ms": _percentile_ms(latencies, 50), "p99_ms": _percentile_ms(latencies, 99),
            "throughput": requests / seconds, "all_match": all(ok for _, ok in sequential + concurrent),
            "requests": len(sequential) + len(concurrent)}

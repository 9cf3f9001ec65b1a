"""Serving: aimass's server (`aimass serve`, the C++ dynamic batcher) against (a) a FastAPI +
uvicorn server that calls model.predict once per request and (b) MLServer with a custom runtime
and its adaptive batching, in one run, on the same model files and the same requests.

Prints requests/s and p50 / p99 latency at each concurrency, for JSON and for Triton's binary
tensor extension, for the digits MLP (64-128-64-10) and the digits CNN (aimass demo's), the
ratios aimass/FastAPI and aimass/MLServer (above 1: aimass is faster), the batch sizes that
formed in aimass's server (GET /v2/models/{m}/stats) and the goals of issue 11:
at concurrency 64 at least 5x FastAPI's and 2x MLServer's throughput; at concurrency 8 the MLP's
p99 under 10 ms.

    python benchmarks/bench_serve.py [--quick] [--duration 3] [--warmup 0.5] [--concurrency 1,8,64]
        [--models mlp,cnn] [--formats json,binary] [--servers aimass,fastapi,mlserver]
        [--train-epochs 2] [--server-cpus 0] [--client-cpus 1] [--mlserver-workers 0]

How it runs:
- The models are trained briefly on scikit-learn's 8x8 digits (--train-epochs, 0: only
  initialised; serving speed does not depend on the weights) and saved with Model.save into a
  Triton-layout repository DIR/<model>/1/model.safetensors with DIR/<model>/config.json =
  {"max_batch_size": 64, "dynamic_batching": {"max_queue_delay_microseconds": 500}}.
- Every request is one image, (1, 1, 8, 8) float32; JSON requests answer JSON, binary requests
  send the image as binary_data and ask binary_data_output. The first answer of every connection
  is decoded and compared with model.predict on the same image (within 1e-5); every answer must
  be 200.
- Each server is its own process (one at a time), the load generator another
  (benchmarks/_serve_load.py: exactly C requests in flight over C keep-alive connections, raw
  asyncio streams). Before the servers, the client is run against a server that answers at once,
  and its ceiling is printed: a server's figure near it is the client's limit.
- CPUs: the client gets the last CPU of this process's affinity, the servers the others
  (--client-cpus / --server-cpus override; with one CPU they share it). Servers run with
  AIMASS_NUM_THREADS = OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = the number of server CPUs.
- The FastAPI anchor decodes and encodes with aimass.serve._protocol (decode_http_request /
  encode_http_response), the codec of aimass's server, so the protocol costs both the same.
- MLServer (PyPI `mlserver`) runs benchmarks/_serve_mlserver.AimassRuntime with
  max_batch_size 64 and max_batch_time --mlserver-batch-time (default 0.001 s), and
  --mlserver-workers parallel workers (0, the default here: inference in the server's process,
  no hop to a worker process, which on one or two cores is not slower; MLServer's own default is
  1, which with mlserver 1.7.1 needs uvloop<0.22 in its environment: newer uvloop kills the
  worker at start with "There is no current event loop"). It speaks v2 JSON but not Triton's binary extension
  over REST: its binary figures are n/a. Install it in a virtual environment of its own (its pins
  differ from ours), with the numpy that aimass was built against, and point the script at it:

      python -m venv /opt/mlserver-venv
      /opt/mlserver-venv/bin/pip install mlserver==1.7.1 numpy==$(python -c 'import numpy; print(numpy.__version__)') safetensors
      AIMASS_BENCH_MLSERVER=/opt/mlserver-venv/bin/mlserver python benchmarks/bench_serve.py

  (else `mlserver` on PATH is used; without one the anchor is skipped). The MLServer process
  gets this checkout's aimass through PYTHONPATH.
- aimass's server is started as `python -m aimass.cli serve --model-repository DIR --http-port P
  --grpc-port none --metrics-port none` (HTTP only); where it is missing or fails to start, its columns say
  "not available" and the anchors still run.
"""
from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np

import aimass as am

HERE = os.path.dirname(os.path.abspath(__file__))
AIMASS_PYTHON = os.path.dirname(os.path.dirname(os.path.abspath(am.__file__)))
MODEL_NAMES = {"mlp": "digits_mlp", "cnn": "digits_cnn"}
SERVER_TITLES = {"aimass": "aimass", "fastapi": "FastAPI", "mlserver": "MLServer"}
MAX_BATCH_SIZE = 64
QUEUE_DELAY_US = 500


# --- models and repository ------------------------------------------------------------------------

def digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 digits as float32 (N, 1, 8, 8) in [0, 1] and int64 labels (N,)."""
    from aimass._demo import load_digits_dataset

    return load_digits_dataset()


def build_mlp() -> am.nn.Sequential:
    nn = am.nn
    return nn.Sequential([nn.Flatten(),                                        # (N, 64)
                          nn.Dense(128, activation="relu", in_features=64),
                          nn.Dense(64, activation="relu", in_features=128),
                          nn.Dense(10, in_features=64)])                       # (N, 10) logits


def build_cnn() -> am.nn.Sequential:
    from aimass._demo import build_model

    return build_model()


def train(model, x, y, epochs: int) -> str:
    model.build((None, 1, 8, 8))
    if epochs <= 0:
        return "initialised, not trained"
    model.compile(optimizer=am.optim.Adam(model.parameters(), lr=3e-3), loss="cross_entropy", metrics=["accuracy"])
    x_train, x_test, y_train, y_test = am.data.train_test_split(x, y, test_size=0.2, stratify=y, seed=0)
    model.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=0)
    accuracy = model.evaluate(x_test, y_test, batch_size=256)["accuracy"]
    return f"trained {epochs} epoch(s), test accuracy {accuracy:.3f}"


def write_repository(repository: str, models: dict[str, object]) -> None:
    """DIR/<name>/1/model.safetensors and DIR/<name>/config.json (Triton's field names)."""
    for name, model in models.items():
        os.makedirs(os.path.join(repository, name, "1"), exist_ok=True)
        model.save(os.path.join(repository, name, "1", "model.safetensors"), include_optimizer=False)
        with open(os.path.join(repository, name, "config.json"), "w") as f:
            json.dump({"max_batch_size": MAX_BATCH_SIZE,
                       "dynamic_batching": {"max_queue_delay_microseconds": QUEUE_DELAY_US}}, f)


def write_mlserver_repository(folder: str, repository: str, names: list[str], ports: dict[str, int],
                              workers: int, batch_time: float) -> None:
    """settings.json and one <name>/model-settings.json per model, pointing at repository's files."""
    with open(os.path.join(folder, "settings.json"), "w") as f:
        json.dump({"debug": False, "host": "127.0.0.1", "http_port": ports["http"], "grpc_port": ports["grpc"],
                   "metrics_port": ports["metrics"], "parallel_workers": workers}, f)
    for name in names:
        os.makedirs(os.path.join(folder, name), exist_ok=True)
        with open(os.path.join(folder, name, "model-settings.json"), "w") as f:
            json.dump({"name": name, "implementation": "_serve_mlserver.AimassRuntime",
                       "max_batch_size": MAX_BATCH_SIZE, "max_batch_time": batch_time,
                       "parameters": {"uri": os.path.join(repository, name, "1", "model.safetensors"),
                                      "version": "1"}}, f)


# --- requests and answers -------------------------------------------------------------------------

def request_bodies(input_name: str, x: np.ndarray) -> dict[str, tuple[bytes, dict[str, str]]]:
    """{"json": (body, headers), "binary": (body, headers)} of one infer request for x (1, 1, 8, 8)."""
    tensor = {"name": input_name, "shape": list(x.shape), "datatype": "FP32"}
    as_json = json.dumps({"inputs": [{**tensor, "data": x.ravel().tolist()}]}).encode()
    raw = np.ascontiguousarray(x, np.float32).tobytes()
    header = json.dumps({"inputs": [{**tensor, "parameters": {"binary_data_size": len(raw)}}],
                         "parameters": {"binary_data_output": True}}).encode()
    return {"json": (as_json, {"Content-Type": "application/json"}),
            "binary": (header + raw, {"Content-Type": "application/octet-stream",
                                      "Inference-Header-Content-Length": str(len(header))})}


def decode_answer(headers: dict[str, str], body: bytes) -> np.ndarray:
    """The first output of a v2 answer, JSON or binary (Inference-Header-Content-Length)."""
    length = headers.get("inference-header-content-length")
    header = json.loads(body if length is None else body[:int(length)])
    out = header["outputs"][0]
    if "data" in out:
        return np.asarray(out["data"], np.float64).reshape(out["shape"])
    dtype = {"FP32": np.float32, "FP64": np.float64, "FP16": np.float16}[out["datatype"]]
    start = int(length)
    return np.frombuffer(body[start:start + out["parameters"]["binary_data_size"]], dtype).reshape(out["shape"])


def check_answers(result: dict, expected: np.ndarray) -> str:
    """'' when every connection's first answer is 200 and matches expected within 1e-5, else why not."""
    if not result["first_responses"]:
        return "no answer"
    for first in result["first_responses"]:
        body = base64.b64decode(first["body"])
        if first["status"] != 200:
            return f"HTTP {first['status']}: {body[:200]!r}"
        try:
            got = decode_answer(first["headers"], body)
        except (KeyError, ValueError, TypeError) as exc:
            return f"undecodable answer ({type(exc).__name__}: {exc}): {body[:200]!r}"
        if got.shape != expected.shape or not np.allclose(got, expected, rtol=1e-5, atol=1e-5):
            return f"wrong output: {got.ravel()[:4]} ... against model.predict {expected.ravel()[:4]} ..."
    return ""


# --- processes ------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


class ServerProcess:
    """A server in its own process, on `cpus`, with its output in a log file."""

    def __init__(self, title: str, command: list[str], cpus: list[int], extra_env: dict[str, str] | None = None):
        threads = str(len(cpus))
        env = dict(os.environ, AIMASS_NUM_THREADS=threads, OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads,
                   PYTHONPATH=os.pathsep.join([AIMASS_PYTHON, HERE, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
        env.update(extra_env or {})
        self.title = title
        self.folders: list[str] = []   # removed by stop()
        self.log = tempfile.NamedTemporaryFile("w+b", prefix=f"bench_serve_{title}_", suffix=".log", delete=False)
        self.proc = subprocess.Popen(command, env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=HERE,
                                     preexec_fn=lambda: os.sched_setaffinity(0, cpus), start_new_session=True)

    def log_tail(self, lines: int = 6) -> str:
        with open(self.log.name, "rb") as f:
            text = f.read().decode("utf-8", "replace").strip().splitlines()
        return " | ".join(text[-lines:])

    def wait_ready(self, port: int, paths: list[str], timeout: float) -> str:
        """'' once every path answers 200, else why not (the process exited, or timeout)."""
        deadline = time.monotonic() + timeout
        pending = list(paths)
        while pending:
            if self.proc.poll() is not None:
                return f"exited with {self.proc.returncode}: {self.log_tail()}"
            if time.monotonic() > deadline:
                return f"not ready after {timeout:.0f} s: {self.log_tail()}"
            try:
                if http_get(port, pending[0], timeout=1.0)[0] == 200:
                    pending.pop(0)
                    continue
            except OSError:
                pass
            time.sleep(0.1)
        return ""

    def wait_listening(self, port: int, timeout: float) -> str:
        """'' once the port accepts connections, else why not."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                return f"exited with {self.proc.returncode}: {self.log_tail()}"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
                return ""
            except OSError:
                if time.monotonic() > deadline:
                    return f"not listening after {timeout:.0f} s: {self.log_tail()}"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()
        os.unlink(self.log.name)
        for folder in self.folders:
            shutil.rmtree(folder, ignore_errors=True)


def run_client(port: int, path: str, body: bytes, headers: dict[str, str], concurrency: int, duration: float,
               warmup: float, cpus: list[int]) -> dict:
    """One load run from a separate process (benchmarks/_serve_load.py): its JSON summary."""
    with tempfile.NamedTemporaryFile("wb", suffix=".body", delete=False) as f:
        f.write(body)
    try:
        command = [sys.executable, os.path.join(HERE, "_serve_load.py"), "run", "--port", str(port), "--path", path,
                   "--body", f.name, "--concurrency", str(concurrency), "--duration", str(duration),
                   "--warmup", str(warmup)]
        for name, value in headers.items():
            command += ["--header", f"{name}: {value}"]
        done = subprocess.run(command, capture_output=True, check=False, timeout=duration + warmup + 60,
                              preexec_fn=lambda: os.sched_setaffinity(0, cpus))
        if done.returncode != 0:
            raise RuntimeError(f"load generator failed ({done.returncode}): {done.stderr.decode()[-500:]}")
        return json.loads(done.stdout)
    finally:
        os.unlink(f.name)


def batch_counts(port: int, model: str) -> dict[int, int]:
    """{batch size: executions} from Triton's statistics JSON (GET /v2/models/{m}/stats)."""
    status, body = http_get(port, f"/v2/models/{model}/stats")
    if status != 200:
        return {}
    counts: dict[int, int] = {}
    for stats in json.loads(body).get("model_stats", []):
        for row in stats.get("batch_stats", []):
            size = int(row["batch_size"])
            counts[size] = counts.get(size, 0) + int(row["compute_infer"]["count"])
    return counts


def describe_batches(before: dict[int, int], after: dict[int, int]) -> str:
    diff = {size: after.get(size, 0) - before.get(size, 0) for size in after}
    diff = {size: n for size, n in sorted(diff.items()) if n > 0}
    executions = sum(diff.values())
    if not executions:
        return "no executions in the statistics"
    rows = sum(size * n for size, n in diff.items())
    common = sorted(diff.items(), key=lambda item: -item[1])[:6]
    return (f"{executions} executions, {rows / executions:.1f} rows each on average, max {max(diff)}; most common: "
            + ", ".join(f"{size}x{n}" for size, n in common))


# --- the servers ----------------------------------------------------------------------------------

def start_aimass(repository: str, names: list[str], cpus: list[int], timeout: float):
    port = free_port()
    command = [sys.executable, "-m", "aimass.cli", "serve", "--model-repository", repository, "--http-port", str(port),
               "--grpc-port", "none", "--metrics-port", "none"]
    server = ServerProcess("aimass", command, cpus)
    why = server.wait_ready(port, ["/v2/health/ready"] + [f"/v2/models/{n}/ready" for n in names], timeout)
    return server, port, why


def start_fastapi(repository: str, names: list[str], cpus: list[int], timeout: float):
    port = free_port()
    command = [sys.executable, os.path.join(HERE, "_serve_fastapi.py"), "--model-repository", repository,
               "--port", str(port)]
    server = ServerProcess("fastapi", command, cpus)
    return server, port, server.wait_ready(port, ["/v2/health/ready"], timeout)


def mlserver_executable() -> str | None:
    return os.environ.get("AIMASS_BENCH_MLSERVER") or shutil.which("mlserver")


def start_mlserver(repository: str, names: list[str], cpus: list[int], timeout: float, workers: int, batch_time: float):
    folder = tempfile.mkdtemp(prefix="bench_serve_mlserver_")
    ports = {"http": free_port(), "grpc": free_port(), "metrics": free_port()}
    write_mlserver_repository(folder, repository, names, ports, workers, batch_time)
    server = ServerProcess("mlserver", [mlserver_executable(), "start", folder], cpus)
    server.folders.append(folder)
    why = server.wait_ready(ports["http"], ["/v2/health/ready"] + [f"/v2/models/{n}/ready" for n in names], timeout)
    return server, ports["http"], why


def input_name(server: str, port: int, model: str) -> str:
    """The model's input name: aimass's server reads it from the model file; the anchors take any."""
    if server != "aimass":
        return "input"
    status, body = http_get(port, f"/v2/models/{model}")
    if status != 200:
        raise RuntimeError(f"GET /v2/models/{model}: HTTP {status} {body[:200]!r}")
    return json.loads(body)["inputs"][0]["name"]


def client_ceiling(server_cpus: list[int], client_cpus: list[int], duration: float) -> dict[int, dict]:
    """{concurrency: result} of the load generator against _serve_load.py's trivial server."""
    port = free_port()
    trivial = ServerProcess("trivial", [sys.executable, os.path.join(HERE, "_serve_load.py"), "trivial-server",
                                        "--port", str(port)], server_cpus)
    try:
        why = trivial.wait_listening(port, 30.0)
        if why:
            raise RuntimeError(f"the trivial server did not start: {why}")
        return {c: run_client(port, "/", b"{}", {}, c, duration, 0.2, client_cpus) for c in (1, 64)}
    finally:
        trivial.stop()


def start_server(kind: str, repository: str, names: list[str], cpus: list[int], args):
    """(process, HTTP port) of a ready server, or None (and why not printed)."""
    if kind == "mlserver" and not mlserver_executable():
        print("MLServer: not installed, skipped. Install it in its own virtual environment and set "
              "AIMASS_BENCH_MLSERVER (see this script's docstring):\n"
              "  python -m venv /opt/mlserver-venv && /opt/mlserver-venv/bin/pip install mlserver==1.7.1 "
              f"numpy=={np.__version__} safetensors\n"
              "  AIMASS_BENCH_MLSERVER=/opt/mlserver-venv/bin/mlserver python benchmarks/bench_serve.py")
        return None
    started = time.perf_counter()
    if kind == "aimass":
        server, port, why = start_aimass(repository, names, cpus, args.start_timeout)
    elif kind == "fastapi":
        server, port, why = start_fastapi(repository, names, cpus, args.start_timeout)
    else:
        server, port, why = start_mlserver(repository, names, cpus, args.start_timeout, args.mlserver_workers,
                                           args.mlserver_batch_time)
    if why:
        print(f"{SERVER_TITLES[kind]} server: not available ({why})")
        server.stop()
        return None
    print(f"{SERVER_TITLES[kind]} server ready in {time.perf_counter() - started:.1f} s")
    return server, port


def median_result(runs: list[dict]) -> dict:
    """The median of each figure over repeated runs; errors summed, the first problem kept."""
    merged = {key: float(np.median([r[key] for r in runs])) for key in ("rps", "p50_ms", "p99_ms", "mean_ms")}
    merged["errors"] = sum(r["errors"] for r in runs)
    merged["wrong"] = next((r["wrong"] for r in runs if r["wrong"]), "")
    merged["error_sample"] = next((r["error_sample"] for r in runs if r["error_sample"]), "")
    merged["rps_runs"] = [r["rps"] for r in runs]
    return merged


def measure(live: dict, models: list[str], formats: list[str], concurrencies: list[int], sample: np.ndarray,
            expected: dict, duration: float, warmup: float, repeats: int, client_cpus: list[int]) -> dict:
    """{(server, model, format, concurrency): median result}. The servers take turns within each
    repeat, so a slow spell of this machine hits them alike."""
    results: dict = {}
    for model in models:
        name = MODEL_NAMES[model]
        bodies = {kind: request_bodies(input_name(kind, port, name), sample) for kind, (_, port) in live.items()}
        for fmt in formats:
            for c in concurrencies:
                runs: dict[str, list[dict]] = {kind: [] for kind in live if not (kind == "mlserver" and fmt == "binary")}
                batches_before = {}
                if "aimass" in live:
                    batches_before = batch_counts(live["aimass"][1], name)
                for _ in range(repeats):
                    for kind in runs:
                        body, headers = bodies[kind][fmt]
                        result = run_client(live[kind][1], f"/v2/models/{name}/infer", body, headers, c, duration,
                                            warmup, client_cpus)
                        result["wrong"] = check_answers(result, expected[model])
                        runs[kind].append(result)
                for kind, kind_runs in runs.items():
                    merged = median_result(kind_runs)
                    if kind == "aimass":
                        merged["batches"] = describe_batches(batches_before, batch_counts(live[kind][1], name))
                    results[(kind, model, fmt, c)] = merged
                    problems = [p for p in (merged["wrong"], merged["error_sample"]) if p]
                    if problems:
                        print(f"  {SERVER_TITLES[kind]} {name} {fmt} C={c}: {merged['errors']} errors; " + "; ".join(problems))
    return results


# --- the report -----------------------------------------------------------------------------------

def cell(result) -> str:
    if not isinstance(result, dict):
        return f"{'n/a':>27}"
    mark = "" if not result.get("wrong") and not result["errors"] else "!"
    return f"{result['rps']:>9,.0f}{mark:1} {result['p50_ms']:>7.2f} {result['p99_ms']:>7.2f}"


def ratio(ours, theirs) -> str:
    if isinstance(ours, dict) and isinstance(theirs, dict) and theirs["rps"] > 0:
        return f"{ours['rps'] / theirs['rps']:>7.2f}x"
    return f"{'-':>8}"


def goal(text: str, value: float | None, target: float, higher: bool) -> str:
    if value is None:
        return f"  goal {text}: n/a"
    met = value >= target if higher else value < target
    return f"  goal {text}: {value:.2f} -> {'met' if met else 'NOT met'}"


def print_report(results: dict, servers: list[str], models: list[str], formats: list[str], concurrencies: list[int]):
    for model in models:
        for fmt in formats:
            print(f"\n{MODEL_NAMES[model]}, {fmt} (requests/s, p50 ms, p99 ms; ! = errors or a wrong answer)")
            head = "".join(f" | {SERVER_TITLES[s] + ' rps':>10} {'p50':>7} {'p99':>7}" for s in servers)
            print(f"{'C':>4}{head} | aimass/FastAPI aimass/MLServer")
            for c in concurrencies:
                row = {s: results.get((s, model, fmt, c)) for s in servers}
                print(f"{c:>4}" + "".join(f" | {cell(row[s])}" for s in servers)
                      + f" | {ratio(row.get('aimass'), row.get('fastapi')):>14} {ratio(row.get('aimass'), row.get('mlserver')):>15}")
            ours = results.get(("aimass", model, fmt, 64))
            for anchor, target in (("fastapi", 5.0), ("mlserver", 2.0)):
                theirs = results.get((anchor, model, fmt, 64))
                value = ours["rps"] / theirs["rps"] if isinstance(ours, dict) and isinstance(theirs, dict) else None
                if 64 in concurrencies and anchor in servers:
                    print(goal(f"C=64 aimass >= {target:g}x {SERVER_TITLES[anchor]}", value, target, True))
            if model == "mlp" and 8 in concurrencies:
                ours8 = results.get(("aimass", model, fmt, 8))
                print(goal("C=8 MLP p99 < 10 ms", ours8["p99_ms"] if isinstance(ours8, dict) else None, 10.0, False))
            for c in concurrencies:
                ours_c = results.get(("aimass", model, fmt, c))
                if isinstance(ours_c, dict) and ours_c.get("batches"):
                    print(f"  aimass batches at C={c}: {ours_c['batches']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (about a minute in all)")
    parser.add_argument("--duration", type=float, help="measured seconds per run (default 2; --quick 0.6)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds per run (default 0.5; --quick 0.2)")
    parser.add_argument("--repeats", type=int, help="runs per figure, the median is printed (default 3; --quick 1)")
    parser.add_argument("--concurrency", default="1,8,64")
    parser.add_argument("--models", default="mlp,cnn")
    parser.add_argument("--formats", default="json,binary")
    parser.add_argument("--servers", default="aimass,fastapi,mlserver")
    parser.add_argument("--train-epochs", type=int, help="per model (default 2; --quick 1; 0: initialised only)")
    parser.add_argument("--server-cpus", help="comma list (default: all but the last CPU)")
    parser.add_argument("--client-cpus", help="comma list (default: the last CPU)")
    parser.add_argument("--mlserver-workers", type=int, default=0, help="MLServer's parallel_workers")
    parser.add_argument("--mlserver-batch-time", type=float, default=0.001, help="MLServer's max_batch_time, s")
    parser.add_argument("--start-timeout", type=float, default=90.0)
    args = parser.parse_args()
    duration = args.duration if args.duration is not None else (0.6 if args.quick else 2.0)
    args.repeats = args.repeats if args.repeats is not None else (1 if args.quick else 3)
    warmup = args.warmup if args.warmup is not None else (0.2 if args.quick else 0.5)
    epochs = args.train_epochs if args.train_epochs is not None else (1 if args.quick else 2)
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    models = args.models.split(",")
    formats = args.formats.split(",")
    servers = args.servers.split(",")
    available = sorted(os.sched_getaffinity(0))
    client_cpus = [int(c) for c in args.client_cpus.split(",")] if args.client_cpus else available[-1:]
    server_cpus = ([int(c) for c in args.server_cpus.split(",")] if args.server_cpus
                   else [c for c in available if c not in client_cpus] or available)

    print(f"aimass {am.__version__}; servers on CPUs {server_cpus} ({len(server_cpus)} threads), client on CPUs "
          f"{client_cpus}; median of {args.repeats} run(s) of {duration:g} s after {warmup:g} s warm-up, the servers "
          f"taking turns; one (1, 1, 8, 8) float32 image per request; aimass and MLServer batch up to "
          f"{MAX_BATCH_SIZE} (aimass queue delay {QUEUE_DELAY_US} us; MLServer max_batch_time "
          f"{args.mlserver_batch_time * 1e6:g} us, {args.mlserver_workers} parallel workers)")

    ceiling = client_ceiling(server_cpus, client_cpus, min(duration, 1.0))
    print(f"load generator against a server that answers at once: {ceiling[1]['rps']:,.0f} requests/s at C=1, "
          f"{ceiling[64]['rps']:,.0f} at C=64 (p50 {ceiling[64]['p50_ms']:.2f} ms)")

    x_all, y_all = digits()
    repository = tempfile.mkdtemp(prefix="bench_serve_repo_")
    trained = {}
    for model in models:
        am.manual_seed(0)
        net = build_mlp() if model == "mlp" else build_cnn()
        how = train(net, x_all, y_all, epochs)
        trained[model] = net
        print(f"{MODEL_NAMES[model]}: {net.num_parameters():,} parameters, {how}")
    write_repository(repository, {MODEL_NAMES[m]: trained[m] for m in models})
    sample = x_all[:1]                                   # (1, 1, 8, 8)
    expected = {m: trained[m].predict(sample) for m in models}  # (1, 10)
    names = [MODEL_NAMES[m] for m in models]

    live: dict[str, tuple[ServerProcess, int]] = {}
    try:
        for kind in servers:
            started = start_server(kind, repository, names, server_cpus, args)
            if started is not None:
                live[kind] = started
        results = measure(live, models, formats, concurrencies, sample, expected, duration, warmup, args.repeats,
                          client_cpus)
    finally:
        for server, _ in live.values():
            server.stop()
    if any(s == "mlserver" for s in servers) and "binary" in formats:
        print("\nMLServer: binary is n/a (MLServer's REST endpoint reads v2 JSON only, not Triton's binary extension)")
    print_report(results, servers, models, formats, concurrencies)
    shutil.rmtree(repository, ignore_errors=True)


if __name__ == "__main__":
    main()

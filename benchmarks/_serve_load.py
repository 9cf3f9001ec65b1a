"""The load generator of bench_serve.py: exactly C requests in flight over C keep-alive HTTP/1.1
connections, for a fixed time after a warm-up, from its own process.

Each connection sends one prepared request (the same bytes every time), reads the answer's
status line and headers up to the blank line and then Content-Length bytes of body, and sends the
next. Latency is the time from writing a request to holding its whole answer; a request counts
when its answer arrives inside the measured window. Raw asyncio streams (on uvloop when
importable) cost a few tens of microseconds a request: `bench_serve.py` measures this client's
ceiling against `trivial-server` below and prints it, so a server's figure that comes near it is
the client's limit, not the server's.

    python benchmarks/_serve_load.py run --host H --port P --path /v2/models/m/infer \
        --body FILE [--header 'Name: value' ...] --concurrency C --duration S --warmup S
    python benchmarks/_serve_load.py trivial-server --port P     # answers every request at once

`run` prints one JSON object: requests, seconds, rps, p50_ms, p99_ms, mean_ms, errors (answers
that were not 200, or failed connections), error_sample, and first_responses (the first answer of
each connection: status, headers, body in base64) for the caller to check against model.predict.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import time

import numpy as np


def build_request(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """The bytes of one POST on a keep-alive connection."""
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """(status, headers with lower-case names, body) of one HTTP/1.1 answer with a Content-Length."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "content-length" not in headers:
        raise ValueError(f"answer without Content-Length (headers: {sorted(headers)}); this client reads only those")
    body = await reader.readexactly(int(headers["content-length"]))
    return status, headers, body


class Run:
    """The shared state of one run: the window, and what the connections recorded."""

    def __init__(self, warmup: float, duration: float):
        now = time.perf_counter()
        self.measure_start = now + warmup
        self.measure_end = self.measure_start + duration
        self.latencies: list[float] = []
        self.errors = 0
        self.error_sample = ""
        self.first_responses: list[dict] = []

    def error(self, what: str) -> None:
        self.errors += 1
        if not self.error_sample:
            self.error_sample = what[:500]


async def connection(host: str, port: int, request: bytes, run: Run) -> None:
    """One connection: request after request until the window closes (reconnects after a failure)."""
    first = True
    while time.perf_counter() < run.measure_end:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError as exc:
            run.error(f"connect: {exc}")
            await asyncio.sleep(0.05)
            continue
        try:
            while True:
                start = time.perf_counter()
                if start >= run.measure_end:
                    break
                writer.write(request)
                status, headers, body = await read_response(reader)
                end = time.perf_counter()
                if first:
                    first = False
                    run.first_responses.append({"status": status, "headers": headers,
                                                "body": base64.b64encode(body).decode("ascii")})
                if status != 200:
                    run.error(f"HTTP {status}: {body[:300]!r}")
                elif run.measure_start <= end <= run.measure_end:
                    run.latencies.append(end - start)
                if headers.get("connection", "").lower() == "close":
                    break
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            run.error(f"{type(exc).__name__}: {exc}")
        finally:
            writer.close()


def summary(run: Run, duration: float) -> dict:
    latencies_ms = np.asarray(run.latencies) * 1e3
    count = len(latencies_ms)
    return {
        "requests": count,
        "seconds": duration,
        "rps": count / duration,
        "p50_ms": float(np.percentile(latencies_ms, 50)) if count else float("nan"),
        "p99_ms": float(np.percentile(latencies_ms, 99)) if count else float("nan"),
        "mean_ms": float(latencies_ms.mean()) if count else float("nan"),
        "errors": run.errors,
        "error_sample": run.error_sample,
        "first_responses": run.first_responses,
    }


async def load(host: str, port: int, request: bytes, concurrency: int, duration: float, warmup: float) -> dict:
    run = Run(warmup, duration)
    await asyncio.gather(*(connection(host, port, request, run) for _ in range(concurrency)))
    return summary(run, duration)


# --- a server that answers at once: what the client can do when the server costs nothing ------------

_TRIVIAL_BODY = b'{"model_name":"trivial","model_version":"1","outputs":[]}'
_TRIVIAL_ANSWER = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                   % len(_TRIVIAL_BODY)) + _TRIVIAL_BODY


class TrivialProtocol(asyncio.Protocol):
    """Answers every complete request (headers + Content-Length body) with the same 200."""

    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""

    def data_received(self, data):
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            length = 0
            for line in self.buffer[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length:]
            self.transport.write(_TRIVIAL_ANSWER)


async def serve_trivial(host: str, port: int) -> None:
    server = await asyncio.get_running_loop().create_server(TrivialProtocol, host, port)
    print(f"trivial server on {host}:{port}", flush=True)
    async with server:
        await server.serve_forever()


def _event_loop_policy() -> None:
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run")
    run_p.add_argument("--host", default="127.0.0.1")
    run_p.add_argument("--port", type=int, required=True)
    run_p.add_argument("--path", required=True)
    run_p.add_argument("--body", required=True, help="file holding the request body")
    run_p.add_argument("--header", action="append", default=[], help="'Name: value', repeatable")
    run_p.add_argument("--concurrency", type=int, default=1)
    run_p.add_argument("--duration", type=float, default=3.0)
    run_p.add_argument("--warmup", type=float, default=0.5)
    trivial_p = sub.add_parser("trivial-server")
    trivial_p.add_argument("--host", default="127.0.0.1")
    trivial_p.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    _event_loop_policy()
    if args.command == "trivial-server":
        asyncio.run(serve_trivial(args.host, args.port))
        return 0
    with open(args.body, "rb") as f:
        body = f.read()
    headers = dict(h.split(":", 1) for h in args.header)
    headers = {name.strip(): value.strip() for name, value in headers.items()}
    request = build_request(args.host, args.port, args.path, body, headers)
    result = asyncio.run(load(args.host, args.port, request, args.concurrency, args.duration, args.warmup))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())

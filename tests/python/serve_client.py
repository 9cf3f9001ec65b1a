"""Helpers for the end-to-end serving tests: a fast keep-alive HTTP load client (asyncio streams,
JSON v2 requests) and a way to run `aimass serve` as a child process and read its ports."""
from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time

READY_LINE = re.compile(r"HTTP on http://([\d.]+):(\d+)")


def v2_json_body(name: str, x, datatype: str = "FP32") -> bytes:
    return json.dumps({"inputs": [{"name": name, "datatype": datatype, "shape": list(x.shape),
                                   "data": x.reshape(-1).tolist()}]}).encode()


async def _one_connection(host, port, path, body, count, results, stop_at):
    reader, writer = await asyncio.open_connection(host, port)
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    try:
        for _ in range(count):
            if stop_at is not None and time.monotonic() > stop_at:
                break
            start = time.perf_counter()
            writer.write(head + body)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                key, _, value = line.decode("latin-1").partition(":")
                if key.strip().lower() == "content-length":
                    length = int(value)
            payload = await reader.readexactly(length)
            status = int(status_line.split()[1]) if status_line else 0
            results.append((status, time.perf_counter() - start, payload))
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass


def post_many(host: str, port: int, path: str, body: bytes, total: int, connections: int = 8,
              keep_payloads: bool = False, seconds: float | None = None) -> list[tuple[int, float, bytes]]:
    """Sends `total` POSTs (split over `connections` keep-alive connections, each sending its next
    request when the previous answer has arrived): (status, seconds, body) per request."""
    results: list = []
    stop_at = time.monotonic() + seconds if seconds else None

    async def run():
        per = [total // connections + (i < total % connections) for i in range(connections)]
        await asyncio.gather(*[_one_connection(host, port, path, body, n, results, stop_at) for n in per])

    asyncio.run(run())
    if not keep_payloads:
        results = [(s, t, b"" if s == 200 else p) for s, t, p in results]
    return results


class ServeProcess:
    """`python -m aimass.cli serve ...` as a child; waits for its ready line."""

    def __init__(self, *args: str, env: dict | None = None, timeout: float = 60.0):
        cmd = [sys.executable, "-m", "aimass.cli", "serve", "--http-port", "0", "--grpc-port", "0",
               "--metrics-port", "0", *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env={**os.environ, **(env or {})})
        self.lines: list[str] = []
        deadline = time.time() + timeout
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            m = READY_LINE.search(line)
            if m:
                self.host, self.port = m.group(1), int(m.group(2))
                return
        self.proc.kill()
        self.proc.wait()
        raise RuntimeError("aimass serve did not start:\n" + "".join(self.lines) + self.proc.stdout.read())

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss_kib(self) -> int:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def wait(self, timeout: float = 60.0) -> tuple[int, str]:
        out, _ = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, "".join(self.lines) + (out or "")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.communicate(timeout=30)
        except (ValueError, OSError):
            pass
        if self.proc.stdout:
            self.proc.stdout.close()

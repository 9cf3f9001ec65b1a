"""`aimass serve`: its arguments and what it runs (aimass/cli.py only wires them in).

    aimass serve --model-repository DIR [--http-port 8000] [--grpc-port 8001]
                 [--metrics-port 8002] [--host 127.0.0.1] [--model-control-mode none|poll|explicit]
                 [--repository-poll-secs N] [--load-model NAME] [--registry URL] [--token T] [--max-body-bytes N]
                 [--drain-timeout S]

It prints one line when every endpoint accepts, serves until SIGTERM / SIGINT, then stops
accepting, lets requests in flight finish (up to --drain-timeout) and exits 0.
"""
from __future__ import annotations

import argparse
import os
import sys

TOKEN_ENV = "AIMASS_SERVE_TOKEN"


def _port(text: str) -> int | None:
    # A TCP port; 0 picks a free one; "none" turns the endpoint off (gRPC, metrics).
    if text.lower() in ("none", "off"):
        return None
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0-65535, or 'none')")
    return int(text)


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {kind.__name__}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be positive")
        return value

    return parse


def _directory(text: str) -> str:
    if not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a directory")
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `aimass serve`."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model-repository", type=_directory, metavar="DIR", help="model repository: DIR/<model>/[config.json], DIR/<model>/<version>/")
    source.add_argument("--registry", metavar="URL", help="serve a model registry's aliased versions (SQLAlchemy URL, e.g. sqlite:///registry.db)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--http-port", type=_port, default=8000, help="HTTP (KServe v2 REST) port; 0: a free port (default 8000)")
    parser.add_argument("--grpc-port", type=_port, default=8001, help="gRPC port; 'none': no gRPC (default 8001)")
    parser.add_argument("--metrics-port", type=_port, default=8002, help="Prometheus /metrics port; 'none': on the HTTP port only (default 8002)")
    parser.add_argument("--model-control-mode", choices=["none", "poll", "explicit"], default="none", help="none: load all at start; poll: re-scan the repository; explicit: load/unload through the API")
    parser.add_argument("--load-model", action="append", metavar="NAME", dest="load_models",
                        help="explicit mode: a model to load at start (repeatable; '*': all)")
    parser.add_argument("--repository-poll-secs", type=_positive(float), metavar="N", help="seconds between repository scans (poll mode)")
    parser.add_argument("--token", default=os.environ.get(TOKEN_ENV), help=f"bearer token required on every route but health (default: ${TOKEN_ENV})")
    parser.add_argument("--max-body-bytes", type=_positive(int), default=64 << 20, metavar="N", help="largest request body, else 413 (default 64 MiB)")
    parser.add_argument("--drain-timeout", type=_positive(float), default=30.0, metavar="S", help="seconds to let requests in flight finish on SIGTERM (default 30)")
    parser.add_argument("--log-level", choices=["critical", "error", "warning", "info", "debug"], default="warning")


def ready_line(server) -> str:
    """The line printed once every endpoint accepts."""
    grpc = f"gRPC on {server.host}:{server.grpc_port}" if server.grpc_port is not None else "no gRPC"
    metrics_port = server.metrics_port if server.metrics_port is not None else server.http_port
    host = f"[{server.host}]" if ":" in server.host else server.host
    return f"aimass serve: HTTP on {server.url}, {grpc}, metrics on http://{host}:{metrics_port}/metrics"


def run_server(args: argparse.Namespace) -> int:
    """Serve until SIGTERM / SIGINT; returns the exit status (0)."""
    from ._errors import ServeError
    from ._server import Server

    server = Server(
        args.model_repository,
        host=args.host,
        http_port=args.http_port,
        grpc_port=args.grpc_port,
        metrics_port=args.metrics_port,
        token=args.token or None,
        max_body_bytes=args.max_body_bytes,
        drain_timeout_s=args.drain_timeout,
        control_mode=args.model_control_mode,
        poll_interval_s=args.repository_poll_secs,
        registry_url=args.registry,
        startup_models=args.load_models,
        log_level=args.log_level,
    )
    try:
        return server.serve_forever(on_ready=lambda running: print(ready_line(running), flush=True))
    except (OSError, ServeError) as error:  # a taken port, an unreadable repository
        print(f"aimass serve: error: {error}", file=sys.stderr, flush=True)
        return 1

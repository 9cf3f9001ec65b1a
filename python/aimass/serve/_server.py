"""The inference server: HTTP (uvicorn + the ASGI app of _http), gRPC (_grpc) and metrics
(_metrics) endpoints over one InferenceService, on one asyncio event loop in a daemon thread.

    with Server("models/", http_port=0, grpc_port=0, metrics_port=0) as server:
        client = tritonclient.http.InferenceServerClient(f"127.0.0.1:{server.http_port}")

start() binds every port in the calling thread (port 0: a free one; a taken port raises OSError
naming it) and returns once every endpoint accepts. stop() stops accepting, lets requests in
flight finish (up to drain_timeout_s), stops the endpoints, then closes the service when the
Server built it. serve_forever() is the CLI's: it runs until SIGTERM / SIGINT, then stops.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import errno
import functools
import logging
import os
import signal
import socket
import threading

from ._http import HttpApp
from ._metrics import metrics_endpoint

log = logging.getLogger("aimass.serve")

START_TIMEOUT_S = 60.0


class Server:
    """The KServe v2 / Triton server over `repository_or_service`: a model repository path
    (str or os.PathLike; None with registry_url: the registry alone), from which start() builds
    InferenceService.from_repository(path, control_mode=, poll_interval_s=, registry_url=), or
    an InferenceService, used as it is.

    Ports: 0 picks a free port; None disables the endpoint (grpc_port None: no gRPC;
    metrics_port None: /metrics on the HTTP port only, where it is always served too).
    token: bearer token required on every HTTP route but /v2/health/* and on every gRPC call
    but ServerLive / ServerReady. max_body_bytes: the HTTP body limit (413) and the gRPC message
    limit. body_timeout_s: time allowed for an HTTP request's headers (else the connection is
    closed) and for its body (else 408) to arrive. drain_timeout_s: how
    long stop() waits for requests in flight. close_service: whether stop() closes the service
    (default: only a service this Server built).
    """

    def __init__(
        self,
        repository_or_service,
        *,
        host: str = "127.0.0.1",
        http_port: int | None = 8000,
        grpc_port: int | None = 8001,
        metrics_port: int | None = 8002,
        token: str | None = None,
        max_body_bytes: int = 64 << 20,
        body_timeout_s: float = 30.0,
        drain_timeout_s: float = 30.0,
        control_mode: str = "none",
        poll_interval_s: float | None = None,
        registry_url: str | None = None,
        startup_models: list[str] | None = None,
        log_level: str = "warning",
        close_service: bool | None = None,
    ):
        builds = repository_or_service is None or isinstance(repository_or_service, (str, os.PathLike))
        if repository_or_service is None and registry_url is None:
            raise ValueError("Server needs a model repository path, a registry_url, or an InferenceService")
        if http_port is None:
            raise ValueError("http_port cannot be None: the HTTP endpoint is always served (0 picks a free port)")
        self._builds = builds
        self.repository = repository_or_service if builds else None
        self.service = None if builds else repository_or_service
        self.host = host
        self.ports = {"http": http_port, "grpc": grpc_port, "metrics": metrics_port}
        self.token = token
        self.max_body_bytes = int(max_body_bytes)
        self.body_timeout_s = float(body_timeout_s)
        self.drain_timeout_s = float(drain_timeout_s)
        self.control_mode = control_mode
        self.poll_interval_s = poll_interval_s
        self.registry_url = registry_url
        self.startup_models = list(startup_models) if startup_models is not None else None
        self.log_level = log_level
        self.close_service = builds if close_service is None else bool(close_service)
        self._bound: dict[str, int | None] = dict.fromkeys(self.ports)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._drain_s = self.drain_timeout_s
        self.app: HttpApp | None = None

    # -----------------------------------------------------------------------------------------
    # Ports and addresses

    @property
    def http_port(self) -> int:
        """The HTTP port (the bound one once started)."""
        return self._bound["http"] or self.ports["http"]

    @property
    def grpc_port(self) -> int | None:
        """The gRPC port (the bound one once started); None: no gRPC endpoint."""
        return self._bound["grpc"] or self.ports["grpc"]

    @property
    def metrics_port(self) -> int | None:
        """The metrics port (the bound one once started); None: /metrics on the HTTP port only."""
        return self._bound["metrics"] or self.ports["metrics"]

    @property
    def url(self) -> str:
        """http://host:port of the HTTP endpoint."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.http_port}"

    @property
    def running(self) -> bool:
        return self._thread is not None

    # -----------------------------------------------------------------------------------------
    # Start and stop

    def start(self) -> "Server":
        """Bind the ports, start every endpoint, return when all accept (a no-op when running)."""
        with self._lock:
            if self._thread is not None:
                return self
            self._bound = dict.fromkeys(self.ports)
            sockets = {}
            try:  # ports first: a taken port fails before any model is loaded
                sockets["http"] = bind_socket(self.host, self.ports["http"], "HTTP")
                if self.ports["metrics"] is not None:
                    sockets["metrics"] = bind_socket(self.host, self.ports["metrics"], "metrics")
                if self._builds:
                    self.service = self._build_service()
                self._run_loop(sockets)
            except BaseException:
                for sock in sockets.values():
                    sock.close()
                self._release_service(self.drain_timeout_s)
                raise
            log.info("aimass serve: HTTP on %s, gRPC on %s, metrics on %s", self.url, self.grpc_port, self.metrics_port)
            return self

    def stop(self, drain_timeout_s: float | None = None) -> None:
        """Stop accepting, wait for requests in flight (up to drain_timeout_s, default the
        Server's), stop the endpoints, then close the service if this Server owns it.
        Idempotent."""
        with self._lock:
            if self._thread is None:
                return
            drain = self.drain_timeout_s if drain_timeout_s is None else float(drain_timeout_s)
            self._loop.call_soon_threadsafe(self._request_stop, drain)
            self._thread.join(drain + 30.0)
            if self._thread.is_alive():
                log.error("aimass serve: the server thread did not stop within %.0f s", drain + 30.0)
            self._thread = None
            self._loop = None
            self._release_service(drain)

    def serve_forever(self, on_ready=None) -> int:
        """Start (if not running), call on_ready(self), block until SIGTERM or SIGINT, then
        stop() with the drain timeout; returns 0. Call from the main thread."""
        stopping = threading.Event()
        handlers = {sig: signal.signal(sig, lambda signum, frame: stopping.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.start()
            if on_ready is not None:
                on_ready(self)
            while not stopping.wait(0.5):
                pass
        finally:
            for sig, handler in handlers.items():  # a second signal now acts as it did before
                signal.signal(sig, handler)
            self.stop()
        return 0

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -----------------------------------------------------------------------------------------
    # The event loop thread

    def _build_service(self):
        from ._service import InferenceService  # the integrator's; imported only when needed

        return InferenceService.from_repository(
            self.repository, control_mode=self.control_mode, poll_interval_s=self.poll_interval_s,
            registry_url=self.registry_url, startup_models=self.startup_models,
        )

    def _release_service(self, drain: float) -> None:
        # Close the service if this Server owns it; one it built is built again by start().
        if self.close_service and self.service is not None:
            self.service.close(drain)
        if self._builds:
            self.service = None

    def _run_loop(self, sockets: dict) -> None:
        # Start the loop thread and wait until every endpoint accepts (or one fails).
        self._loop = asyncio.new_event_loop()
        self._stop_event = asyncio.Event()  # bound to the loop on first wait (Python 3.10+)
        ready: concurrent.futures.Future = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._thread_main, args=(sockets, ready), name="aimass-serve", daemon=True)
        self._thread.start()
        try:
            ready.result(START_TIMEOUT_S)
        except BaseException:
            # A failed start has shut itself down; a start that timed out is told to.
            try:
                self._loop.call_soon_threadsafe(self._request_stop, 0.0)
            except RuntimeError:  # the loop has already closed
                pass
            self._thread.join(30.0)
            self._thread = None
            self._loop = None
            raise

    def _thread_main(self, sockets: dict, ready: concurrent.futures.Future) -> None:
        loop = self._loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve(sockets, ready))
        except BaseException as error:  # pragma: no cover - _serve reports its own failures
            if not ready.done():
                ready.set_exception(error)
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            asyncio.set_event_loop(None)
            loop.close()

    def _request_stop(self, drain: float) -> None:
        self._drain_s = drain
        self._stop_event.set()

    async def _serve(self, sockets: dict, ready: concurrent.futures.Future) -> None:
        # Runs on the loop thread for the Server's whole life: start, wait for stop, drain.
        import uvicorn

        from ._connection import HeaderTimedProtocol

        metrics = metrics_endpoint(self.service)
        options = dict(token=self.token, max_body_bytes=self.max_body_bytes, body_timeout_s=self.body_timeout_s, metrics=metrics)
        self.app = HttpApp(self.service, **options)
        apps = {"http": self.app, "metrics": HttpApp(self.service, metrics_only=True, **options)}
        servers, tasks, grpc_server = [], [], None
        try:
            if self.ports["grpc"] is not None:
                grpc_server = await self._start_grpc()
                self._bound["grpc"] = grpc_server.bound_port
            for name, sock in sockets.items():
                config = uvicorn.Config(
                    apps[name], http=functools.partial(HeaderTimedProtocol, header_timeout_s=self.body_timeout_s), interface="asgi3", lifespan="off", ws="none", log_config=None,
                    log_level=self.log_level, access_log=False, server_header=False,
                )
                server = uvicorn.Server(config)
                servers.append(server)
                tasks.append(asyncio.create_task(server.serve(sockets=[sock])))
                self._bound[name] = sock.getsockname()[1]
            while not all(server.started for server in servers):
                failed = [task for task in tasks if task.done()]
                if failed:
                    failed[0].result()  # raises what stopped it
                    raise RuntimeError("an HTTP endpoint stopped while starting")
                await asyncio.sleep(0.005)
        except BaseException as error:
            ready.set_exception(error)
            await self._shutdown(servers, tasks, grpc_server, 0.0)
            return
        ready.set_result(None)
        await self._stop_event.wait()
        await self._shutdown(servers, tasks, grpc_server, self._drain_s)

    async def _start_grpc(self):
        from ._grpc import start_grpc_server  # imports grpc: only when gRPC is served

        try:
            return await start_grpc_server(self.service, self.host, self.ports["grpc"], token=self.token, max_message_bytes=self.max_body_bytes)
        except (OSError, RuntimeError) as error:
            raise OSError(errno.EADDRINUSE, f"cannot listen for gRPC on {self.host}:{self.ports['grpc']} (is the port taken?): {error}") from None

    async def _shutdown(self, servers, tasks, grpc_server, drain: float) -> None:
        # Stop accepting everywhere at once, let requests in flight finish (up to drain s).
        for server in servers:
            server.config.timeout_graceful_shutdown = drain
            server.should_exit = True
        waits = list(tasks)
        if grpc_server is not None:
            from ._grpc import stop_grpc_server

            waits.append(stop_grpc_server(grpc_server, grace=drain))
        for outcome in await asyncio.gather(*waits, return_exceptions=True):
            if isinstance(outcome, BaseException) and not isinstance(outcome, asyncio.CancelledError):
                log.error("aimass serve: an endpoint failed while stopping: %r", outcome)
        for server in servers:  # connections whose requests outlived the drain
            for connection in list(server.server_state.connections):
                connection.transport.abort()
        if self.app is not None and not await self.app.wait_idle(0.5):
            log.warning("aimass serve: %d HTTP requests still in flight after the drain", self.app.in_flight)


def bind_socket(host: str, port: int, what: str) -> socket.socket:
    """A listening TCP socket on host:port (0: a free port); OSError naming `what` and the
    address when it cannot be bound (EADDRINUSE: the port is taken)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as error:
        raise OSError(errno.EADDRNOTAVAIL, f"cannot listen for {what} on {host}:{port}: {error}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart at once (TIME_WAIT)
        sock.bind(address)
        sock.listen(2048)
        sock.setblocking(False)
    except OSError as error:
        sock.close()
        taken = " (the port is taken)" if error.errno == errno.EADDRINUSE else ""
        raise OSError(error.errno, f"cannot listen for {what} on {host}:{port}{taken}: {error.strerror}") from None
    return sock


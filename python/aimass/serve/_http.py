"""The KServe v2 / Triton HTTP endpoint: a raw ASGI 3 application over an InferenceService.

No framework: uvicorn (with httptools) does the HTTP; this file routes, reads bodies with limits,
checks the bearer token, and turns the service's answers and ServeErrors into responses. The
wire format of tensors is _protocol's.

Routes (KServe v2 REST plus Triton's extensions; `[/versions/{v}]` is optional):

    GET  /v2/health/live                         200, or 503 when not live
    GET  /v2/health/ready                        200, or 503 when not ready
    GET  /v2                                     server metadata
    GET  /v2/models/stats                        statistics of every model
    GET  /v2/models/{m}[/versions/{v}]           model metadata
    GET  /v2/models/{m}[/versions/{v}]/ready     200, or 503 when not ready (404 unknown)
    GET  /v2/models/{m}[/versions/{v}]/config    model config
    GET  /v2/models/{m}[/versions/{v}]/stats     statistics
    POST /v2/models/{m}[/versions/{v}]/infer     inference (JSON, binary tensors, raw binary)
    POST /v2/repository/index                    body {"ready": bool} or empty
    POST /v2/repository/models/{m}/load          body {"parameters": {...}} or empty
    POST /v2/repository/models/{m}/unload        body {"parameters": {...}} or empty
    GET  /metrics                                Prometheus text (see _metrics)

Every error answers {"error": message} with the ServeError's status: unknown route 404, wrong
method 405, bad token 401, body over max_body_bytes 413, body not received within
body_timeout_s 408, an unexpected exception 500 (logged; the server keeps serving).
"""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re

from ._errors import ServeError, bad_request, internal, too_large, unauthorized, unavailable
from ._protocol import bind_raw_input, decode_http_request, encode_error, encode_http_response, parse_header_length

log = logging.getLogger("aimass.serve")

JSON = "application/json"
OCTET_STREAM = "application/octet-stream"

_timeout_at = getattr(asyncio, "timeout_at", None)  # Python 3.11+

# Load parameters of Triton that change what is loaded; we load only from the repository.
_UNSUPPORTED_LOAD_PARAMETERS = ("config",)


class ClientDisconnected(Exception):
    """The client went away before its request body was read: nothing to answer."""


def _route(method: str, pattern: str, handler: str):
    # "{model}" / "{version}" are one path segment each; "[...]" is optional.
    regex = pattern.replace("[", "(?:").replace("]", ")?")
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", regex)
    return method, re.compile(regex + r"\Z"), handler


MODEL = "/v2/models/{model}[/versions/{version}]"

# (method, path regex, HttpApp method name), tried in order: infer first (the busy one),
# /v2/models/stats before MODEL (a model named "stats" is shadowed there, as in Triton).
ROUTES = [
    _route("POST", MODEL + "/infer", "infer"),
    _route("GET", "/v2/health/live", "health_live"),
    _route("GET", "/v2/health/ready", "health_ready"),
    _route("GET", "/v2", "server_metadata"),
    _route("GET", "/v2/models/stats", "statistics"),
    _route("GET", MODEL, "model_metadata"),
    _route("GET", MODEL + "/ready", "model_ready"),
    _route("GET", MODEL + "/config", "model_config"),
    _route("GET", MODEL + "/stats", "statistics"),
    _route("POST", "/v2/repository/index", "repository_index"),
    _route("POST", "/v2/repository/models/{model}/load", "load"),
    _route("POST", "/v2/repository/models/{model}/unload", "unload"),
    _route("GET", "/metrics", "metrics"),
]
METRICS_ROUTES = [route for route in ROUTES if route[2] == "metrics"]
PUBLIC_HANDLERS = {"health_live", "health_ready"}  # need no token


class Response:
    """An answer: status, body bytes, and headers (Content-Length is added when sent)."""

    __slots__ = ("status", "body", "headers")

    def __init__(self, status: int = 200, body: bytes = b"", headers: dict | None = None):
        self.status = status
        self.body = body
        self.headers = headers or {}

    @classmethod
    def json(cls, value, status: int = 200) -> "Response":
        return cls(status, json.dumps(value, separators=(",", ":")).encode(), {"Content-Type": JSON})

    @classmethod
    def error(cls, error: ServeError) -> "Response":
        body, headers = encode_error(error)
        return cls(error.status, body, headers)


class HttpApp:
    """The ASGI 3 application of the v2 HTTP endpoint over `service` (an InferenceService).

    token: when set, every route but /v2/health/* needs `Authorization: Bearer <token>`.
    max_body_bytes: a larger request body answers 413 (early on its Content-Length, else as
    soon as the bytes read pass the limit). body_timeout_s: the whole body must arrive within
    this many seconds of the request's headers, else 408. metrics: a callable returning
    (body, content type) for GET /metrics (None: 404). metrics_only: serve /metrics alone
    (the metrics port). `in_flight` counts requests being answered; wait_idle() waits for 0.
    """

    def __init__(self, service, *, token: str | None = None, max_body_bytes: int = 64 << 20, body_timeout_s: float = 30.0, metrics=None, metrics_only: bool = False):
        self.service = service
        self.token = token.encode() if isinstance(token, str) else token
        self.max_body_bytes = int(max_body_bytes)
        self.body_timeout_s = float(body_timeout_s)
        self.render_metrics = metrics
        self.routes = METRICS_ROUTES if metrics_only else ROUTES
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no request is in flight (up to `timeout` s); True when idle."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":  # lifespan is off; websockets are not served
            return
        self.in_flight += 1
        self._idle.clear()
        try:
            try:
                response = await self._answer(scope, receive)
            except asyncio.CancelledError:
                # uvicorn cancels requests that outlive the drain at shutdown: say so (503).
                response = Response.error(unavailable("server is shutting down: the request did not finish within the drain timeout"))
                response.headers["Connection"] = "close"
            if response is not None:
                await self._send(send, response)
        finally:
            self.in_flight -= 1
            if self.in_flight == 0:
                self._idle.set()

    async def _answer(self, scope, receive) -> Response | None:
        # The response to one request; None when the client has gone.
        try:
            handler, params = self._resolve(scope["method"], scope["path"])
            headers = _headers(scope)
            if self.token is not None and handler not in PUBLIC_HANDLERS:
                self._check_token(headers)
            return await getattr(self, handler)(scope, receive, headers, **params)
        except ClientDisconnected:
            return None
        except ServeError as error:
            response = Response.error(error)
            if error.status in (408, 413):  # the body was not read to its end
                response.headers["Connection"] = "close"
            return response
        except Exception as error:  # a bug, not the client's fault: say so, keep serving
            log.exception("HTTP %s %s failed", scope.get("method"), scope.get("path"))
            return Response.error(internal(f"internal error: {type(error).__name__}: {error}"))

    def _resolve(self, method: str, path: str) -> tuple[str, dict]:
        # (handler name, path parameters); ServeError 404 unknown path, 405 wrong method.
        allowed = []
        for route_method, regex, handler in self.routes:
            match = regex.match(path)
            if match is None:
                continue
            if route_method == method:
                return handler, {k: v for k, v in match.groupdict().items() if v is not None}
            allowed.append(route_method)
        if allowed:
            raise ServeError(405, f"method {method} is not allowed for {path} (allowed: {', '.join(sorted(set(allowed)))})")
        raise ServeError(404, f"unknown route {path}")

    def _check_token(self, headers: dict):
        expected = b"Bearer " + self.token
        given = headers.get("authorization", "").encode("latin-1")
        if not hmac.compare_digest(given, expected):
            raise unauthorized("missing or wrong bearer token (header 'Authorization: Bearer <token>')")

    @staticmethod
    async def _send(send, response: Response):
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]
        headers.append((b"content-length", str(len(response.body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})

    # -----------------------------------------------------------------------------------------
    # Request bodies

    async def read_body(self, receive, headers: dict) -> bytes:
        """The request body, read in chunks: 413 past max_body_bytes (at once on a larger
        Content-Length), 408 when it has not all arrived within body_timeout_s; works with a
        chunked body (no Content-Length)."""
        declared = headers.get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > self.max_body_bytes:
            raise too_large(f"request body of {int(declared)} bytes is over the limit of {self.max_body_bytes} bytes")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_timeout_s
        chunks: list[bytes] = []
        try:
            if _timeout_at is not None:  # Python 3.11+: one timer for the whole body
                async with _timeout_at(deadline):
                    return await self._read_chunks(receive, chunks)
            return await self._read_chunks(lambda: asyncio.wait_for(receive(), max(deadline - loop.time(), 0.0)), chunks)
        except asyncio.TimeoutError:
            arrived = sum(len(chunk) for chunk in chunks)
            raise ServeError(408, f"request body not received within {self.body_timeout_s:g} s ({arrived} bytes arrived)") from None

    async def _read_chunks(self, receive, chunks: list) -> bytes:
        # ASGI http.request messages until more_body is false, appended to `chunks`.
        total = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnected()
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.max_body_bytes:
                raise too_large(f"request body is over the limit of {self.max_body_bytes} bytes")
            if chunk:
                chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def read_json_body(self, receive, headers: dict, what: str) -> dict:
        """An optional JSON object body (empty: {}); 400 naming `what` when it is not one."""
        body = await self.read_body(receive, headers)
        if not body.strip():
            return {}
        try:
            value = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise bad_request(f"{what} body is not valid JSON: {exc}") from None
        if not isinstance(value, dict):
            raise bad_request(f"{what} body must be a JSON object, got {type(value).__name__}")
        return value

    # -----------------------------------------------------------------------------------------
    # Handlers: (scope, receive, headers, **path parameters) -> Response

    async def health_live(self, scope, receive, headers):
        if not self.service.live():
            raise unavailable("server is not live")
        return Response()

    async def health_ready(self, scope, receive, headers):
        if not self.service.ready():
            raise unavailable("server is not ready")
        return Response()

    async def server_metadata(self, scope, receive, headers):
        return Response.json(self.service.server_metadata())

    async def model_metadata(self, scope, receive, headers, model, version=None):
        return Response.json(self.service.model_metadata(model, version))

    async def model_ready(self, scope, receive, headers, model, version=None):
        if not self.service.model_ready(model, version):
            raise unavailable(f"model '{model}'" + (f" version {version}" if version else "") + " is not ready")
        return Response()

    async def model_config(self, scope, receive, headers, model, version=None):
        return Response.json(self.service.model_config(model, version))

    async def statistics(self, scope, receive, headers, model=None, version=None):
        return Response.json(self.service.statistics(model, version))

    async def infer(self, scope, receive, headers, model, version=None):
        if headers.get("content-encoding", "identity").strip().lower() != "identity":
            raise ServeError(415, f"Content-Encoding {headers['content-encoding']!r} is not supported (send the body uncompressed)")
        body = await self.read_body(receive, headers)
        header_length = parse_header_length(headers.get("inference-header-content-length"))
        if header_length is None and _media_type(headers) == OCTET_STREAM:
            header_length = 0  # binary with no JSON header: a raw binary request
        request = decode_http_request(body, header_length)
        if request.raw_binary:
            request = self._bind_raw(request, model, version)
        result = await self.service.infer(model, version, request)
        body, response_headers = encode_http_response(result, request)
        return Response(200, body, response_headers)

    def _bind_raw(self, request, model, version):
        # A raw binary request is the whole body as the model's only input.
        inputs = self.service.input_metadata(model, version)
        if len(inputs) != 1:
            names = ", ".join(f"'{i['name']}'" for i in inputs)
            raise bad_request(f"model '{model}' has {len(inputs)} inputs ({names}): a raw binary request (Inference-Header-Content-Length 0) needs exactly one")
        (only,) = inputs
        return bind_raw_input(request, only["name"], only["datatype"], only["shape"])

    async def repository_index(self, scope, receive, headers):
        body = await self.read_json_body(receive, headers, "repository index")
        ready = body.get("ready", False)
        if not isinstance(ready, bool):
            raise bad_request(f"repository index: 'ready' must be a boolean, got {ready!r}")
        return Response.json(self.service.repository_index(ready_only=ready))

    async def load(self, scope, receive, headers, model):
        parameters = _parameters(await self.read_json_body(receive, headers, "load"), "load")
        overrides = [key for key in parameters if key in _UNSUPPORTED_LOAD_PARAMETERS or key.startswith("file:")]
        if overrides:
            raise bad_request(f"model '{model}': load parameter '{overrides[0]}' (config or file override) is not supported; models load from the repository")
        # Loading reads files and builds batchers: off the event loop, so serving goes on.
        await asyncio.to_thread(self.service.load, model)
        return Response()

    async def unload(self, scope, receive, headers, model):
        _parameters(await self.read_json_body(receive, headers, "unload"), "unload")  # unload_dependents: nothing depends
        await asyncio.to_thread(self.service.unload, model)
        return Response()

    async def metrics(self, scope, receive, headers):
        if self.render_metrics is None:
            raise ServeError(404, "metrics are not served here")
        body, content_type = self.render_metrics()
        return Response(200, body, {"Content-Type": content_type})


def _headers(scope) -> dict[str, str]:
    # ASGI headers (lower-case bytes pairs) as {name: value}; repeated names keep the last.
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}


def _media_type(headers: dict) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _parameters(body: dict, what: str) -> dict:
    parameters = body.get("parameters", {})
    if not isinstance(parameters, dict):
        raise bad_request(f"{what}: 'parameters' must be a JSON object, got {type(parameters).__name__}")
    return parameters

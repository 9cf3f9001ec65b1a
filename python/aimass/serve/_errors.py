"""The one error type of the server: a request that cannot be answered, with its status.

Every layer (protocol codecs, service, repository) raises ServeError; the HTTP app answers
`{"error": str(e)}` with `e.status`, the gRPC servicer aborts with `GRPC_CODE[e.status]`.
"""
from __future__ import annotations

# HTTP status -> grpc.StatusCode name (Triton's mapping). GRPC_CODE (the grpc.StatusCode values)
# is built on first use, so that importing the HTTP side never imports grpc.
GRPC_CODE_NAME = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    404: "NOT_FOUND",
    413: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


class ServeError(Exception):
    """A request that cannot be answered: `status` is the HTTP status Triton gives
    (400 bad request, 401 unauthorized, 404 unknown model/version, 413 too large,
    503 unavailable/overloaded, 500 internal). str(e) is the message for {"error": ...}."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = int(status)

    @property
    def message(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return f"ServeError({self.status}, {str(self)!r})"


def bad_request(msg: str) -> ServeError:
    """400: the request is malformed or does not fit the model."""
    return ServeError(400, msg)


def unauthorized(msg: str) -> ServeError:
    """401: a bearer token is required and missing or wrong."""
    return ServeError(401, msg)


def not_found(msg: str) -> ServeError:
    """404: unknown model or version."""
    return ServeError(404, msg)


def too_large(msg: str) -> ServeError:
    """413: the request body is over the server's limit."""
    return ServeError(413, msg)


def unavailable(msg: str) -> ServeError:
    """503: the model is not ready, or its queue is full."""
    return ServeError(503, msg)


def internal(msg: str) -> ServeError:
    """500: the server failed while answering a valid request."""
    return ServeError(500, msg)


def grpc_code(status: int):
    """The grpc.StatusCode for an HTTP status (UNKNOWN for a status not in the table)."""
    import grpc

    return getattr(grpc.StatusCode, GRPC_CODE_NAME.get(int(status), "UNKNOWN"))


def __getattr__(name: str):
    # GRPC_CODE: {400: grpc.StatusCode.INVALID_ARGUMENT, ...}, imported lazily (PEP 562).
    if name == "GRPC_CODE":
        import grpc

        table = {status: getattr(grpc.StatusCode, code) for status, code in GRPC_CODE_NAME.items()}
        globals()["GRPC_CODE"] = table
        return table
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

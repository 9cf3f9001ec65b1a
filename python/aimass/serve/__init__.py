"""aimass.serve: the KServe v2 / Triton inference server (issue 11).

`Server` (aimass.serve._server) is imported on first use, so `import aimass.serve` stays light
(no uvicorn, grpc or prometheus_client until a server is made).
"""


def __getattr__(name: str):
    if name == "Server":
        from ._server import Server

        return Server
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

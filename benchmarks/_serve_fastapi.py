"""Anchor (a) of bench_serve.py: a FastAPI app on uvicorn (one worker, httptools, uvloop) that
answers POST /v2/models/{m}/infer by calling model.predict once per request, with no batching.

Its codec is aimass's own (aimass.serve._protocol: decode_http_request / encode_http_response),
the one aimass's server uses, so JSON and Triton's binary tensor extension cost the two servers
the same and the difference measured is serving and batching, not parsing.

    python benchmarks/_serve_fastapi.py --model-repository DIR --port P

DIR is a Triton-layout repository: DIR/<model>/<version>/model.safetensors (the newest version
of each model is served). The single input and output are whatever the request names; the output
is called "output".
"""
from __future__ import annotations

import argparse
import os

import aimass as am
from aimass.serve._errors import ServeError
from aimass.serve._protocol import InferResult, decode_http_request, encode_error, encode_http_response
from fastapi import FastAPI, Request, Response


def load_repository(repository: str) -> dict[str, tuple[str, object]]:
    """{model name: (version, model)} for the newest numeric version of every model in DIR."""
    models = {}
    for name in sorted(os.listdir(repository)):
        folder = os.path.join(repository, name)
        versions = [v for v in os.listdir(folder) if v.isdigit()] if os.path.isdir(folder) else []
        if versions:
            version = max(versions, key=int)
            models[name] = (version, am.load(os.path.join(folder, version, "model.safetensors")))
    return models


def make_app(repository: str) -> FastAPI:
    models = load_repository(repository)
    app = FastAPI()

    @app.get("/v2/health/ready")
    async def ready():
        return {"ready": True}

    @app.post("/v2/models/{model_name}/infer")
    async def infer(model_name: str, request: Request):
        try:
            if model_name not in models:
                raise ServeError(404, f"unknown model '{model_name}'")
            version, model = models[model_name]
            parsed = decode_http_request(await request.body(), request.headers.get("inference-header-content-length"))
            x = parsed.inputs[0].data                       # (N, 1, 8, 8) float32
            y = model.predict(x, batch_size=max(1, len(x)))  # (N, 10)
            body, headers = encode_http_response(InferResult(model_name, version, parsed.id, [("output", y)], {}), parsed)
            return Response(body, headers=headers)
        except ServeError as exc:
            body, headers = encode_error(exc)
            return Response(body, status_code=exc.status, headers=headers)

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-repository", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(make_app(args.model_repository), host=args.host, port=args.port, workers=1, loop="uvloop",
                http="httptools", log_level="warning", access_log=False)


if __name__ == "__main__":
    main()

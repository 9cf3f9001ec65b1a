"""Anchor (b) of bench_serve.py: MLServer's custom runtime for an aimass model file.

MLServer (pip package `mlserver`, in its own virtual environment: see bench_serve.py) imports
this module by the `implementation` of each model-settings.json that bench_serve.py writes:

    {"name": "digits_mlp", "implementation": "_serve_mlserver.AimassRuntime",
     "max_batch_size": 64, "max_batch_time": 0.001,
     "parameters": {"uri": "/abs/path/to/model.safetensors", "version": "1"}}

With max_batch_size > 1 MLServer's adaptive batching concatenates the waiting requests along
the first dimension before predict() and splits the answer after it; predict() calls
model.predict once on what it is given.
"""
from __future__ import annotations

from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse


class AimassRuntime(MLModel):
    async def load(self) -> bool:
        import aimass as am

        self._model = am.load(self.settings.parameters.uri)
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        x = NumpyCodec.decode_input(payload.inputs[0])              # (N, 1, 8, 8) float32
        y = self._model.predict(x, batch_size=max(1, len(x)))      # (N, 10)
        return InferenceResponse(model_name=self.name, model_version=self.version, id=payload.id,
                                 outputs=[NumpyCodec.encode_output("output", y)])

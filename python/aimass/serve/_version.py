"""One served model version: its model (or k-NN index and embedding model), signature, C++
dynamic batcher and statistics.

A version folder holds either

    model.safetensors                 an am.save file (read with the safe loader, compile=False)
    index.knn [+ model.safetensors]   an am.knn index, optionally fed by an embedding model

infer() checks the request against the signature (400 naming the input), submits the rows to the
batcher (503 when its queue is full or it is stopping) and awaits the answer on the caller's
event loop; the batcher calls back from its worker thread. The model runs with the GIL released.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import os
import threading
import time

import numpy as np

from .._core import serve as _core_serve
from ._config import ModelConfig
from ._errors import ServeError
from ._protocol import InferRequest
from ._signature import Signature, check_inputs, knn_signature, model_signature, resolve

MODEL_FILE = "model.safetensors"
INDEX_FILE = "index.knn"
NO_BATCHING_ROWS = 1 << 30  # max_batch_size 0: one request per execution, any number of rows
_FAILURE_STATUS = {"bad_input": 400, "timeout": 503, "stopped": 503, "internal": 500}


def _place(obj, kind: str, where: str):
    """Moves a model or index to the GPU for KIND_GPU (and KIND_AUTO when one is present)."""
    from .. import cuda

    if kind == "KIND_CPU" or (kind == "KIND_AUTO" and not cuda.is_available()):
        return obj
    cpu_only = _cpu_only_layers(obj)
    if cpu_only and kind == "KIND_AUTO":
        return obj  # the int8 / int4 kernels run on the CPU (csrc/ops/quant.h): serve it there
    if cpu_only:
        raise ServeError(400, f"{where}: instance_group asks for KIND_GPU, but the model's quantised layers "
                              f"({', '.join(sorted(cpu_only))}) run on the CPU only; use KIND_CPU or KIND_AUTO")
    if not cuda.is_available():
        raise ServeError(400, f"{where}: instance_group asks for KIND_GPU, but {cuda.unavailable_reason()}")
    moved = obj.to("cuda")
    return obj if moved is None else moved


_CPU_ONLY_LAYERS = {"QuantizedDense", "QuantizedConv2D", "QuantizedEmbedding", "WeightOnlyDense"}


def _cpu_only_layers(obj) -> set[str]:
    modules = getattr(obj, "modules", None)
    if not callable(modules):
        return set()
    return {type(m).__name__ for m in modules() if type(m).__name__ in _CPU_ONLY_LAYERS}


def _k_and_filter(parameters: dict, default_k: int, model: str) -> tuple[int, list[int], bool]:
    """A k-NN request's k and allowed ids: parameters "k" (int) and "filter" (a list of ids, or a
    string holding a JSON list or comma-separated ids, since v2 parameters are scalars)."""
    k = parameters.get("k", default_k)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 4096:
        raise ServeError(400, f"model {model!r}: parameter 'k' must be an integer in [1, 4096], got {k!r}")
    if "filter" not in parameters:
        return k, [], False
    raw = parameters["filter"]
    if isinstance(raw, str):
        text = raw.strip()
        try:
            raw = json.loads(text) if text.startswith("[") else [int(p) for p in text.split(",") if p.strip()]
        except ValueError:
            raise ServeError(400, f"model {model!r}: parameter 'filter' must list integer ids, got {text[:60]!r}") from None
    if not isinstance(raw, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in raw):
        raise ServeError(400, f"model {model!r}: parameter 'filter' must be a list of integer ids")
    return k, raw, True


def _timeout_us(parameters: dict, model: str) -> int:
    t = parameters.get("timeout", -1)  # tritonclient's infer(timeout=...) in microseconds
    if isinstance(t, bool) or not isinstance(t, int) or t < -1:
        raise ServeError(400, f"model {model!r}: parameter 'timeout' must be microseconds (an integer >= 0)")
    return t


class _Counters:
    """Request-level counters (Triton's request success / failure and request duration)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.success = self.failure = 0
        self.success_ns = self.failure_ns = 0
        self.last_inference_ms = 0

    def add(self, ok: bool, ns: int) -> None:
        with self.lock:
            if ok:
                self.success += 1
                self.success_ns += ns
            else:
                self.failure += 1
                self.failure_ns += ns
            self.last_inference_ms = int(time.time() * 1000)


class ServedVersion:
    """A loaded version, ready to answer. Loading raises ServeError(400) with the reason."""

    def __init__(self, name: str, version: int, folder: str, config: ModelConfig, fingerprint: tuple = ()):
        from .. import knn
        from ..nn.serialization import load

        self.name, self.version, self.folder, self.config = name, int(version), folder, config
        self.fingerprint = fingerprint  # the repository's record of the files it was loaded from
        where = f"model {name!r} version {version}"
        index_path, model_path = os.path.join(folder, INDEX_FILE), os.path.join(folder, MODEL_FILE)
        self.kind = "knn" if os.path.exists(index_path) else "model"
        if self.kind == "model" and not os.path.exists(model_path):
            raise ServeError(400, f"{where}: {folder} holds neither {MODEL_FILE} nor {INDEX_FILE}")
        try:
            if self.kind == "knn":
                self.index = _place(knn.load(index_path), config.instance_kind, where)
                self.model = load(model_path, compile=False) if os.path.exists(model_path) else None
            else:
                self.index, self.model = None, load(model_path, compile=False)
        except (ValueError, FileNotFoundError, TypeError, OSError) as e:
            raise ServeError(400, f"{where}: cannot load: {e}") from None
        if self.model is not None:
            self.model.eval()
            found = (model_signature(self.model, where) if self.kind == "model"
                     else knn_signature(self.index, self.model, config.knn_k, where))
            self.model = _place(self.model, config.instance_kind, where)
        else:
            found = knn_signature(self.index, None, config.knn_k, where)
        self.signature: Signature = resolve(found, config, where)
        rows = config.max_batch_size if config.max_batch_size > 0 else NO_BATCHING_ROWS
        options = dict(max_batch_size=rows, preferred_batch_sizes=list(config.preferred_batch_sizes),
                       max_queue_delay_us=config.max_queue_delay_us if config.max_batch_size > 0 else 0,
                       max_queue_size=config.max_queue_size, timeout_us=config.default_timeout_us,
                       instance_count=config.instance_count)
        try:
            if self.kind == "knn":
                self._batcher = _core_serve.DynamicBatcher.for_index(self.index._impl, self.model, **options)
            else:
                self._batcher = _core_serve.DynamicBatcher.for_model(self.model, **options)
        except ValueError as e:
            raise ServeError(400, f"{where}: {e}") from None
        self._alone = itertools.count() if config.max_batch_size == 0 else None
        self._counters = _Counters()

    # ---- answering
    def _key(self, request: InferRequest) -> str:
        if self.kind == "knn":
            k, ids, filtered = _k_and_filter(request.parameters, self.config.knn_k, self.name)
            return _core_serve.knn_key(k, ids, filtered)
        return "" if self._alone is None else f"alone-{next(self._alone)}"

    def submit(self, request: InferRequest, loop: asyncio.AbstractEventLoop | None) -> asyncio.Future | None:
        """Queues the request; a future on `loop` for its outputs (None: fire and forget, for a
        shadow copy). ServeError for a request that does not fit or a full queue."""
        check_inputs(self.signature, request.inputs, self.config.max_batch_size, self.name)
        by_name = {x.name: x.data for x in request.inputs}
        arrays = [np.ascontiguousarray(by_name[spec.name]) for spec in self.signature.inputs]
        key, timeout_us = self._key(request), _timeout_us(request.parameters, self.name)
        future = loop.create_future() if loop is not None else None

        def done(outputs, failure, error, queue_us, compute_us, batch_rows):
            if future is None:
                return
            try:
                loop.call_soon_threadsafe(_settle, future, outputs, failure, error)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                pass

        try:
            status = self._batcher.submit(arrays, done, key, timeout_us)
        except (ValueError, TypeError) as e:
            raise ServeError(400, f"model {self.name!r}: {e}") from None
        if status == "queue_full":
            raise ServeError(503, f"model {self.name!r} version {self.version}: the queue is full "
                                  f"(max_queue_size {self.config.max_queue_size}); try again")
        if status == "stopped":
            raise ServeError(503, f"model {self.name!r} version {self.version} is unloading")
        return future

    async def infer(self, request: InferRequest) -> list[tuple[str, np.ndarray]]:
        start = time.perf_counter_ns()
        ok = False
        try:
            outputs = await self.submit(request, asyncio.get_running_loop())
            if len(outputs) != len(self.signature.outputs):
                raise ServeError(500, f"model {self.name!r} gave {len(outputs)} outputs, its signature has "
                                      f"{len(self.signature.outputs)}")
            ok = True
            return [(spec.name, out) for spec, out in zip(self.signature.outputs, outputs)]
        finally:
            self._counters.add(ok, time.perf_counter_ns() - start)

    # ---- reporting
    def metadata_inputs(self) -> list[dict]:
        return [t.metadata() for t in self.signature.inputs]

    def metadata_outputs(self) -> list[dict]:
        return [t.metadata() for t in self.signature.outputs]

    def metric_row(self) -> dict:
        s, c = self._batcher.stats(), self._counters
        with c.lock:
            return {"model": self.name, "version": str(self.version), "success": c.success, "failure": c.failure,
                    "inference_count": s["inference_count"], "execution_count": s["execution_count"],
                    "pending": s["pending"], "request_duration_us": (c.success_ns + c.failure_ns) // 1000,
                    "queue_duration_us": s["queue_us"], "compute_infer_duration_us": s["compute_us"]}

    def statistics(self) -> dict:
        """Triton's statistics JSON for this version (durations in ns)."""
        s, c = self._batcher.stats(), self._counters

        def count_ns(count, ns):
            return {"count": int(count), "ns": int(ns)}

        with c.lock:
            success, failure = count_ns(c.success, c.success_ns), count_ns(c.failure, c.failure_ns)
            last = c.last_inference_ms
        answered = s["success"]
        return {"name": self.name, "version": str(self.version), "last_inference": last,
                "inference_count": s["inference_count"], "execution_count": s["execution_count"],
                "inference_stats": {"success": success, "fail": failure,
                                    "queue": count_ns(answered, s["queue_us"] * 1000),
                                    "compute_input": count_ns(0, 0),
                                    "compute_infer": count_ns(answered, s["compute_us"] * 1000),
                                    "compute_output": count_ns(0, 0),
                                    "cache_hit": count_ns(0, 0), "cache_miss": count_ns(0, 0)},
                "batch_stats": [{"batch_size": int(size), "compute_infer": count_ns(n, s["batch_compute_us"][size] * 1000)}
                                for size, n in sorted(s["batch_sizes"].items())]}

    @property
    def stopped(self) -> bool:
        return bool(self._batcher.stopped)

    @property
    def pending(self) -> int:
        return int(self._batcher.stats()["pending"])

    def close(self, drain: bool = True) -> None:
        """Stops the batcher: with drain, everything queued is answered first."""
        self._batcher.stop(drain)


def _settle(future: asyncio.Future, outputs, failure: str, error: str) -> None:
    if future.done():  # the caller went away (cancelled)
        return
    if not failure:
        future.set_result(outputs)
    else:
        future.set_exception(ServeError(_FAILURE_STATUS.get(failure, 500), error or failure))

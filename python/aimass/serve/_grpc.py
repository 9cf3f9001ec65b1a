"""Triton's gRPC protocol (inference.GRPCInferenceService) over an InferenceService, with grpc.aio.

ModelInfer takes each input from InferTensorContents (the field the datatype table names:
int_contents for INT8/16/32, fp32_contents for FP32, bytes_contents for BYTES, ...) or from
raw_input_contents (one entry per input, in input order, the binary layout of _protocol), and
answers with raw_output_contents (one entry per output, in output order), as Triton does.
Checks are those of the HTTP codec (_protocol); a ServeError aborts the call with
GRPC_CODE[status] and its message, which tritonclient raises as InferenceServerException.
"""
from __future__ import annotations

import logging

import grpc
from google.protobuf import json_format
from tritonclient.grpc import model_config_pb2, service_pb2, service_pb2_grpc

from ._errors import ServeError, bad_request, grpc_code, unauthorized
from ._protocol import (
    InferInput,
    InferRequest,
    check_shape,
    datatype_row,
    decode_requested_outputs,
    decode_tensor_bytes,
    decode_tensor_values,
    encode_tensor_bytes,
    select_outputs,
    v2_datatype,
)

log = logging.getLogger("aimass.serve")


# ---------------------------------------------------------------------------------------------
# Parameters (InferParameter / ModelRepositoryParameter oneofs) <-> Python values


def parameters_to_dict(parameters) -> dict:
    """A protobuf map<string, InferParameter> as {key: bool | int | float | str | bytes}."""
    return {key: getattr(value, value.WhichOneof("parameter_choice")) for key, value in parameters.items() if value.WhichOneof("parameter_choice")}


def dict_to_parameters(values: dict, parameters) -> None:
    """Fill a protobuf map<string, InferParameter> from {key: bool | int | float | str}."""
    for key, value in values.items():
        slot = parameters[key]
        if isinstance(value, bool):
            slot.bool_param = value
        elif isinstance(value, int):
            if value >= 2**63:
                slot.uint64_param = value
            else:
                slot.int64_param = value
        elif isinstance(value, float):
            slot.double_param = value
        else:
            slot.string_param = str(value)


# ---------------------------------------------------------------------------------------------
# ModelInferRequest -> InferRequest, InferResult -> ModelInferResponse


def decode_grpc_request(request: service_pb2.ModelInferRequest) -> InferRequest:
    """The InferRequest of a ModelInferRequest; ServeError(400) naming the input on any fault."""
    raw = request.raw_input_contents
    if raw and len(raw) != len(request.inputs):
        raise bad_request(f"raw_input_contents has {len(raw)} entries for {len(request.inputs)} inputs (one per input)")
    if not request.inputs:
        raise bad_request("request has no inputs")
    inputs, seen = [], set()
    for i, tensor in enumerate(request.inputs):
        name = tensor.name
        if not name:
            raise bad_request(f"inputs[{i}]: 'name' must be a non-empty string")
        if name in seen:
            raise bad_request(f"input '{name}' is given twice")
        seen.add(name)
        row = datatype_row(tensor.datatype, f"input '{name}'")
        count, shape = check_shape(name, list(tensor.shape))
        parameters = parameters_to_dict(tensor.parameters)
        if "shared_memory_region" in parameters:
            raise bad_request(f"input '{name}': shared memory is not supported")
        filled = [field.name for field, _ in tensor.contents.ListFields()]
        if raw:
            if filled:
                raise bad_request(f"input '{name}': both raw_input_contents and {filled[0]} given")
            data = decode_tensor_bytes(name, row, shape, count, raw[i], 0, len(raw[i]))
        else:
            if row.grpc_contents is None:
                raise bad_request(f"input '{name}': {row.name} data must be sent in raw_input_contents")
            wrong = [field for field in filled if field != row.grpc_contents]
            if wrong:
                raise bad_request(f"input '{name}': {row.name} data belongs in {row.grpc_contents}, not {wrong[0]}")
            values = list(getattr(tensor.contents, row.grpc_contents))
            data = decode_tensor_values(name, row, shape, count, values)
        inputs.append(InferInput(name, row.name, shape, data, parameters))
    outputs = decode_requested_outputs(
        [{"name": o.name, "parameters": parameters_to_dict(o.parameters)} for o in request.outputs],
        lambda name, parameters: True,  # gRPC answers are always raw
    )
    return InferRequest(request.id or None, inputs, outputs, parameters_to_dict(request.parameters))


def encode_grpc_response(result, request: InferRequest) -> service_pb2.ModelInferResponse:
    """The ModelInferResponse of an InferResult: the requested outputs (or all) in order, each
    with its data in raw_output_contents."""
    response = service_pb2.ModelInferResponse(model_name=result.model_name, model_version=str(result.model_version))
    if result.id is not None:
        response.id = result.id
    dict_to_parameters(result.parameters, response.parameters)
    for name, array, _ in select_outputs(result, request):
        datatype = v2_datatype(array.dtype)
        response.outputs.add(name=name, datatype=datatype, shape=list(array.shape))
        data = encode_tensor_bytes(array, datatype)
        response.raw_output_contents.append(data if isinstance(data, bytes) else data.tobytes())
    return response


# ---------------------------------------------------------------------------------------------
# Model config (our config JSON) -> model_config_pb2.ModelConfig


def _type_name(datatype: str) -> str:
    # v2 "FP32" -> "TYPE_FP32"; BYTES is TYPE_STRING in Triton's config.
    if datatype.startswith("TYPE_"):
        return datatype
    return "TYPE_" + ("STRING" if datatype == "BYTES" else datatype)


def config_to_proto(config: dict) -> model_config_pb2.ModelConfig:
    """Our config JSON mapped onto Triton's ModelConfig as far as it goes: name, platform,
    backend, max_batch_size, inputs/outputs ({name, datatype, shape} or Triton's
    {name, data_type, dims}), dynamic batching (nested or flat keys), instance_count or
    instance_group, version_policy, parameters. Other fields are left out."""
    proto = model_config_pb2.ModelConfig(name=str(config.get("name", "")), platform=str(config.get("platform", "aimass")))
    if "backend" in config:
        proto.backend = str(config["backend"])
    proto.max_batch_size = int(config.get("max_batch_size", 0) or 0)
    for key, field in (("input", proto.input), ("output", proto.output)):
        for tensor in config.get(key + "s", config.get(key, [])) or []:
            datatype = tensor.get("datatype", tensor.get("data_type", "TYPE_INVALID"))
            field.add(
                name=str(tensor.get("name", "")),
                data_type=model_config_pb2.DataType.Value(_type_name(str(datatype))) if _type_name(str(datatype)) in model_config_pb2.DataType.keys() else 0,
                dims=[int(d) for d in tensor.get("shape", tensor.get("dims", []))],
            )
    batching = dict(config.get("dynamic_batching") or {})
    for key in ("preferred_batch_size", "max_queue_delay_microseconds", "max_queue_size"):
        if key in config and key not in batching:
            batching[key] = config[key]
    if batching:
        dynamic = proto.dynamic_batching
        preferred = batching.get("preferred_batch_size", [])
        dynamic.preferred_batch_size.extend([int(p) for p in (preferred if isinstance(preferred, list) else [preferred])])
        dynamic.max_queue_delay_microseconds = int(batching.get("max_queue_delay_microseconds", 0) or 0)
        queue = batching.get("max_queue_size", (batching.get("default_queue_policy") or {}).get("max_queue_size"))
        if queue is not None:
            dynamic.default_queue_policy.max_queue_size = int(queue)
    groups = config.get("instance_group")
    if groups:
        for group in groups:
            kind = str(group.get("kind", "KIND_CPU"))
            proto.instance_group.add(count=int(group.get("count", 1)), kind=model_config_pb2.ModelInstanceGroup.Kind.Value(kind if kind.startswith("KIND_") else "KIND_" + kind.upper()))
    elif "instance_count" in config:
        proto.instance_group.add(count=int(config["instance_count"]), kind=model_config_pb2.ModelInstanceGroup.KIND_CPU)
    policy = config.get("version_policy")
    if isinstance(policy, dict):
        if "all" in policy:
            proto.version_policy.all.SetInParent()
        elif "specific" in policy:
            versions = policy["specific"]
            versions = versions.get("versions", []) if isinstance(versions, dict) else versions
            proto.version_policy.specific.versions.extend([int(v) for v in versions])
        elif "latest" in policy:
            latest = policy["latest"]
            proto.version_policy.latest.num_versions = int(latest.get("num_versions", 1) if isinstance(latest, dict) else latest)
    for key, value in (config.get("parameters") or {}).items():
        proto.parameters[str(key)].string_value = value if isinstance(value, str) else str(value)
    return proto


# ---------------------------------------------------------------------------------------------
# The servicer


class InferenceServicer(service_pb2_grpc.GRPCInferenceServiceServicer):
    """inference.GRPCInferenceService over an InferenceService (see SERVE_API.md). With a token,
    every call but ServerLive / ServerReady needs metadata `authorization: Bearer <token>`.
    Shared memory, trace and log settings are not implemented (UNIMPLEMENTED)."""

    def __init__(self, service, token: str | None = None):
        self.service = service
        self.token = token

    async def _answer(self, context, answer, *, public: bool = False):
        # Runs answer() (sync or async); ServeError -> abort with its status and message.
        try:
            if self.token is not None and not public:
                self._check_token(context)
            result = answer()
            if hasattr(result, "__await__"):
                result = await result
            return result
        except ServeError as error:
            await context.abort(grpc_code(error.status), str(error))
        except Exception as error:  # a bug, not the client's fault: say so, keep serving
            log.exception("gRPC call failed")
            await context.abort(grpc.StatusCode.INTERNAL, f"internal error: {type(error).__name__}: {error}")

    def _check_token(self, context):
        metadata = dict(context.invocation_metadata() or ())
        if metadata.get("authorization") != f"Bearer {self.token}":
            raise unauthorized("missing or wrong bearer token (metadata 'authorization: Bearer <token>')")

    async def ServerLive(self, request, context):
        return await self._answer(context, lambda: service_pb2.ServerLiveResponse(live=bool(self.service.live())), public=True)

    async def ServerReady(self, request, context):
        return await self._answer(context, lambda: service_pb2.ServerReadyResponse(ready=bool(self.service.ready())), public=True)

    async def ModelReady(self, request, context):
        def answer():
            try:  # an unknown model is not ready (Triton's gRPC answer), not an error
                ready = self.service.model_ready(request.name, request.version or None)
            except ServeError as error:
                if error.status != 404:
                    raise
                ready = False
            return service_pb2.ModelReadyResponse(ready=bool(ready))

        return await self._answer(context, answer)

    async def ServerMetadata(self, request, context):
        def answer():
            meta = self.service.server_metadata()
            return service_pb2.ServerMetadataResponse(name=meta.get("name", "aimass"), version=str(meta.get("version", "")), extensions=list(meta.get("extensions", [])))

        return await self._answer(context, answer)

    async def ModelMetadata(self, request, context):
        def answer():
            meta = self.service.model_metadata(request.name, request.version or None)
            response = service_pb2.ModelMetadataResponse(name=meta["name"], versions=[str(v) for v in meta.get("versions", [])], platform=meta.get("platform", "aimass"))
            for key, field in (("inputs", response.inputs), ("outputs", response.outputs)):
                for tensor in meta.get(key, []):
                    field.add(name=tensor["name"], datatype=tensor["datatype"], shape=[int(d) for d in tensor["shape"]])
            return response

        return await self._answer(context, answer)

    async def ModelConfig(self, request, context):
        def answer():
            config = self.service.model_config(request.name, request.version or None)
            return service_pb2.ModelConfigResponse(config=config_to_proto(config))

        return await self._answer(context, answer)

    async def ModelInfer(self, request, context):
        return await self._answer(context, lambda: self._infer(request))

    async def _infer(self, request):
        infer_request = decode_grpc_request(request)
        result = await self.service.infer(request.model_name, request.model_version or None, infer_request)
        return encode_grpc_response(result, infer_request)

    async def ModelStreamInfer(self, request_iterator, context):
        # One answer per request, in order; a failed request answers error_message and the
        # stream goes on (Triton's behaviour).
        async for request in request_iterator:
            try:
                if self.token is not None:
                    self._check_token(context)
                response = await self._infer(request)
                yield service_pb2.ModelStreamInferResponse(infer_response=response)
            except ServeError as error:
                yield service_pb2.ModelStreamInferResponse(error_message=str(error))
            except Exception as error:
                log.exception("gRPC stream request failed")
                yield service_pb2.ModelStreamInferResponse(error_message=f"internal error: {type(error).__name__}: {error}")

    async def ModelStatistics(self, request, context):
        def answer():
            stats = self.service.statistics(request.name or None, request.version or None)
            return json_format.ParseDict(stats, service_pb2.ModelStatisticsResponse(), ignore_unknown_fields=True)

        return await self._answer(context, answer)

    async def RepositoryIndex(self, request, context):
        def answer():
            response = service_pb2.RepositoryIndexResponse()
            for model in self.service.repository_index(ready_only=request.ready):
                response.models.add(
                    name=str(model.get("name", "")), version=str(model.get("version", "")), state=str(model.get("state", "")), reason=str(model.get("reason", ""))
                )
            return response

        return await self._answer(context, answer)

    async def RepositoryModelLoad(self, request, context):
        def answer():
            if len(request.parameters):
                raise bad_request(f"model '{request.model_name}': load parameters (config override, files) are not supported")
            self.service.load(request.model_name)
            return service_pb2.RepositoryModelLoadResponse()

        return await self._answer(context, answer)

    async def RepositoryModelUnload(self, request, context):
        def answer():
            self.service.unload(request.model_name)
            return service_pb2.RepositoryModelUnloadResponse()

        return await self._answer(context, answer)


async def start_grpc_server(service, host: str = "127.0.0.1", port: int = 8001, *, token: str | None = None, max_message_bytes: int = 64 * 2**20) -> grpc.aio.Server:
    """Start a grpc.aio server for `service` on host:port (port 0: a free one) and return it;
    the bound port is `server.bound_port`. Messages over max_message_bytes are refused
    (RESOURCE_EXHAUSTED, the gRPC form of 413)."""
    # so_reuseport 0: a port another server holds is an error, not silently shared.
    options = [("grpc.max_receive_message_length", max_message_bytes), ("grpc.max_send_message_length", max_message_bytes), ("grpc.so_reuseport", 0)]
    server = grpc.aio.server(options=options)
    service_pb2_grpc.add_GRPCInferenceServiceServicer_to_server(InferenceServicer(service, token), server)
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot bind gRPC port {host}:{port}")
    server.bound_port = bound
    await server.start()
    return server


async def stop_grpc_server(server: grpc.aio.Server, grace: float | None = 5.0) -> None:
    """Stop accepting calls, let calls in flight finish for up to `grace` seconds, then stop."""
    await server.stop(grace)

"""The gRPC servicer (aimass.serve._grpc) through the unmodified tritonclient.grpc client.

A fake InferenceService (below) answers for two models: "echo" returns every input as an output
of the same name, "double" returns y = 2 * x. A real grpc.aio server runs on a free loopback port
in a background thread; tritonclient.grpc (raw contents, what it always sends) and the raw stub
(typed InferTensorContents) call it.
"""
from __future__ import annotations

import asyncio
import threading

import ml_dtypes
import numpy as np
import pytest

grpc = pytest.importorskip("grpc")
tritonclient_grpc = pytest.importorskip("tritonclient.grpc")
from tritonclient.grpc import model_config_pb2, service_pb2, service_pb2_grpc  # noqa: E402
from tritonclient.utils import InferenceServerException  # noqa: E402

from aimass.serve._errors import ServeError, bad_request, not_found, unavailable  # noqa: E402
from aimass.serve._grpc import config_to_proto, start_grpc_server, stop_grpc_server  # noqa: E402
from aimass.serve._protocol import DATATYPES, InferResult  # noqa: E402

BF16 = np.dtype(ml_dtypes.bfloat16)


class FakeService:
    """An InferenceService holding "echo" (any inputs, echoed), "double" (FP32 x -> y = 2x) and
    "busy" (always 503)."""

    models = {"echo": ["1"], "double": ["1", "2"], "busy": ["1"]}

    def __init__(self):
        self.loaded = []

    def _check(self, name, version=None):
        if name not in self.models:
            raise not_found(f"unknown model '{name}'")
        if version is not None and version not in self.models[name]:
            raise not_found(f"unknown version '{version}' of model '{name}'")

    def live(self):
        return True

    def ready(self):
        return True

    def server_metadata(self):
        return {"name": "aimass", "version": "0.test", "extensions": ["binary_tensor_data", "model_repository", "statistics"]}

    def model_ready(self, name, version):
        self._check(name, version)
        return name != "busy"

    def model_metadata(self, name, version):
        self._check(name, version)
        return {
            "name": name,
            "versions": self.models[name],
            "platform": "aimass",
            "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 4]}],
            "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 4]}],
        }

    def model_config(self, name, version):
        self._check(name, version)
        return {
            "name": name,
            "max_batch_size": 64,
            "inputs": [{"name": "x", "datatype": "FP32", "shape": [4]}],
            "outputs": [{"name": "y", "datatype": "BYTES", "shape": [1]}],
            "dynamic_batching": {"preferred_batch_size": [8, 16], "max_queue_delay_microseconds": 500},
            "max_queue_size": 128,
            "instance_count": 2,
            "version_policy": {"latest": {"num_versions": 2}},
            "parameters": {"k": 5},
        }

    async def infer(self, name, version, request):
        self._check(name, version)
        if name == "busy":
            raise unavailable("model 'busy' queue is full")
        if name == "echo":
            outputs = [(tensor.name, tensor.data) for tensor in request.inputs]
        else:
            (x,) = request.inputs
            if x.datatype != "FP32":
                raise bad_request(f"input 'x': expected FP32, got {x.datatype}")
            outputs = [("y", x.data * 2)]
        return InferResult(name, version or self.models[name][-1], request.id, outputs, {"echoed": len(outputs)})

    def repository_index(self, ready_only=False):
        return [{"name": name, "version": versions[-1], "state": "READY", "reason": ""} for name, versions in self.models.items()]

    def load(self, name):
        if name == "broken":
            raise bad_request("model 'broken': config.json is not valid JSON")
        self.loaded.append(name)

    def unload(self, name):
        self._check(name)
        self.loaded.append("-" + name)

    def statistics(self, name, version):
        return {
            "model_stats": [
                {
                    "name": name or "echo",
                    "version": "1",
                    "inference_count": 7,
                    "execution_count": 3,
                    "inference_stats": {"success": {"count": 7, "ns": 1234}, "queue": {"count": 7, "ns": 10}},
                    "batch_stats": [{"batch_size": 4, "compute_infer": {"count": 1, "ns": 99}}],
                    "not_a_triton_field": 1,
                }
            ]
        }


class ServerThread:
    """The grpc.aio server on its own event loop in a daemon thread."""

    def __init__(self, service, **options):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = self.call(start_grpc_server(service, "127.0.0.1", 0, **options))
        self.port = self.server.bound_port

    def call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)

    def close(self):
        self.call(stop_grpc_server(self.server, grace=0.5))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


@pytest.fixture(scope="module")
def service():
    return FakeService()


@pytest.fixture(scope="module")
def server(service):
    running = ServerThread(service)
    yield running
    running.close()


@pytest.fixture(scope="module")
def client(server):
    with tritonclient_grpc.InferenceServerClient(f"127.0.0.1:{server.port}") as triton:
        yield triton


@pytest.fixture(scope="module")
def stub(server):
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    yield service_pb2_grpc.GRPCInferenceServiceStub(channel)
    channel.close()


def sample(datatype: str, shape=(2, 3)) -> np.ndarray:
    rng = np.random.default_rng(sum(map(ord, datatype)))
    count = int(np.prod(shape))
    if datatype == "BOOL":
        return (rng.integers(0, 2, count) == 1).reshape(shape)
    if datatype == "BYTES":
        return np.array(([b"", b"abc", b"\xff\x00raw", "\u00e9".encode()] * count)[:count], dtype=object).reshape(shape)
    dtype = DATATYPES[datatype].dtype
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        values = rng.integers(info.min, info.max, count, dtype=dtype, endpoint=True)
        values[:2] = [info.min, info.max][: min(2, count)]
        return values.reshape(shape)
    return rng.standard_normal(count).astype(dtype).reshape(shape)


def assert_same(got, want):
    assert got.shape == want.shape
    if want.dtype == object:
        assert got.tolist() == want.tolist()
    else:
        assert got.dtype == want.dtype
        if want.dtype == BF16:
            got, want = got.view(np.uint16), want.view(np.uint16)
        np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------------------------------------
# Health, metadata, config, repository, statistics


def test_health_and_server_metadata(client):
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("echo") and client.is_model_ready("double", "2")
    assert not client.is_model_ready("busy")
    assert not client.is_model_ready("no_such_model")  # Triton: unknown is "not ready"
    meta = client.get_server_metadata(as_json=True)
    assert meta["name"] == "aimass" and "binary_tensor_data" in meta["extensions"]


def test_model_metadata(client):
    meta = client.get_model_metadata("double", as_json=True)
    assert meta["name"] == "double" and meta["versions"] == ["1", "2"] and meta["platform"] == "aimass"
    assert meta["inputs"] == [{"name": "x", "datatype": "FP32", "shape": ["-1", "4"]}]
    with pytest.raises(InferenceServerException, match="unknown model 'nope'") as info:
        client.get_model_metadata("nope")
    assert info.value.status() == "StatusCode.NOT_FOUND"
    with pytest.raises(InferenceServerException, match="unknown version '9'"):
        client.get_model_metadata("double", "9")


def test_model_config(client):
    config = client.get_model_config("double", as_json=True)["config"]
    assert config["name"] == "double" and config["max_batch_size"] == 64 and config["platform"] == "aimass"
    assert config["input"] == [{"name": "x", "data_type": "TYPE_FP32", "dims": ["4"]}]
    assert config["output"][0]["data_type"] == "TYPE_STRING"
    assert config["dynamic_batching"]["preferred_batch_size"] == [8, 16]
    assert config["dynamic_batching"]["max_queue_delay_microseconds"] == "500"
    assert config["dynamic_batching"]["default_queue_policy"]["max_queue_size"] == 128
    assert config["instance_group"] == [{"count": 2, "kind": "KIND_CPU"}]
    assert config["version_policy"] == {"latest": {"num_versions": 2}}
    assert config["parameters"] == {"k": {"string_value": "5"}}


def test_config_to_proto_triton_spelling():
    proto = config_to_proto(
        {
            "name": "m",
            "input": [{"name": "x", "data_type": "TYPE_INT64", "dims": [3]}],
            "instance_group": [{"count": 1, "kind": "KIND_GPU"}],
            "version_policy": {"specific": {"versions": [1, 3]}},
        }
    )
    assert proto.input[0].data_type == model_config_pb2.TYPE_INT64
    assert proto.instance_group[0].kind == model_config_pb2.ModelInstanceGroup.KIND_GPU and list(proto.version_policy.specific.versions) == [1, 3]
    assert config_to_proto({"version_policy": {"all": {}}}).version_policy.HasField("all")


def test_repository_and_statistics(client, service):
    index = client.get_model_repository_index(as_json=True)["models"]
    assert {m["name"] for m in index} == {"echo", "double", "busy"} and index[0]["state"] == "READY"
    client.load_model("echo")
    client.unload_model("double")
    assert service.loaded[-2:] == ["echo", "-double"]
    with pytest.raises(InferenceServerException, match="config.json is not valid JSON") as info:
        client.load_model("broken")
    assert info.value.status() == "StatusCode.INVALID_ARGUMENT"
    with pytest.raises(InferenceServerException, match="not supported"):
        client.load_model("echo", config='{"max_batch_size": 2}')
    stats = client.get_inference_statistics("echo", as_json=True)["model_stats"][0]
    assert stats["inference_count"] == "7" and stats["inference_stats"]["success"] == {"count": "7", "ns": "1234"}
    assert stats["batch_stats"][0]["batch_size"] == "4"


# ---------------------------------------------------------------------------------------------
# Inference through tritonclient (raw contents)


def client_input(name, array, datatype):
    tensor = tritonclient_grpc.InferInput(name, list(array.shape), datatype)
    tensor.set_data_from_numpy(array)
    return tensor


@pytest.mark.parametrize("shape", [(2, 3), (0, 2), ()])
def test_infer_every_datatype(client, shape):
    arrays = {f"in_{dt.lower()}": (dt, sample(dt, shape)) for dt in DATATYPES}
    inputs = [client_input(name, array, dt) for name, (dt, array) in arrays.items()]
    result = client.infer("echo", inputs, request_id="all-types")
    response = result.get_response()
    assert response.id == "all-types" and response.model_name == "echo"
    assert [o.datatype for o in response.outputs] == list(DATATYPES)
    for name, (_, array) in arrays.items():
        assert_same(result.as_numpy(name), array)


def test_infer_requested_outputs_and_version(client):
    x = sample("FP32", (3, 4))
    result = client.infer("double", [client_input("x", x, "FP32")], model_version="1", outputs=[tritonclient_grpc.InferRequestedOutput("y")])
    np.testing.assert_array_equal(result.as_numpy("y"), x * 2)
    assert result.get_response().model_version == "1"
    echoed = client.infer("echo", [client_input("a", x, "FP32"), client_input("b", x[0], "FP32")], outputs=[tritonclient_grpc.InferRequestedOutput("b")])
    assert [o.name for o in echoed.get_response().outputs] == ["b"]
    np.testing.assert_array_equal(echoed.as_numpy("b"), x[0])
    assert echoed.get_response().parameters["echoed"].int64_param == 2


def test_infer_parameters_reach_the_service(client, service):
    seen = {}
    original = service.infer

    async def spy(name, version, request):
        seen.update(request.parameters)
        return await original(name, version, request)

    service.infer = spy
    try:
        client.infer("echo", [client_input("x", sample("INT8"), "INT8")], parameters={"k": 3, "filter": "label == 2", "exact": True, "r": 0.5})
    finally:
        del service.infer
    assert seen == {"k": 3, "filter": "label == 2", "exact": True, "r": 0.5}


@pytest.mark.parametrize(
    "model, inputs, status, fragment",
    [
        ("nope", [("x", "FP32", np.zeros((1, 4), np.float32))], "NOT_FOUND", "unknown model 'nope'"),
        ("busy", [("x", "FP32", np.zeros((1, 4), np.float32))], "UNAVAILABLE", "queue is full"),
        ("double", [("x", "INT32", np.zeros((1, 4), np.int32))], "INVALID_ARGUMENT", "input 'x': expected FP32"),
    ],
)
def test_infer_errors_through_tritonclient(client, model, inputs, status, fragment):
    with pytest.raises(InferenceServerException, match=fragment) as info:
        client.infer(model, [client_input(name, array, dt) for name, dt, array in inputs])
    assert info.value.status() == f"StatusCode.{status}"


def test_unknown_requested_output(client):
    with pytest.raises(InferenceServerException, match="unknown output 'z'") as info:
        client.infer("double", [client_input("x", np.zeros((1, 4), np.float32), "FP32")], outputs=[tritonclient_grpc.InferRequestedOutput("z")])
    assert info.value.status() == "StatusCode.INVALID_ARGUMENT"


def test_classification_is_refused(client):
    with pytest.raises(InferenceServerException, match="classification is not supported"):
        client.infer("double", [client_input("x", np.zeros((1, 4), np.float32), "FP32")], outputs=[tritonclient_grpc.InferRequestedOutput("y", class_count=2)])


# ---------------------------------------------------------------------------------------------
# Typed InferTensorContents and malformed requests through the raw stub

TYPED = {
    "BOOL": [True, False, True],
    "UINT8": [0, 255, 7],
    "UINT16": [0, 65535, 7],
    "UINT32": [0, 2**32 - 1, 7],
    "UINT64": [0, 2**64 - 1, 7],
    "INT8": [-128, 127, 0],
    "INT16": [-(2**15), 2**15 - 1, 0],
    "INT32": [-(2**31), 2**31 - 1, 0],
    "INT64": [-(2**63), 2**63 - 1, 0],
    "FP32": [1.5, -0.0, 3.25],
    "FP64": [1e300, -2.5, 0.1],
    "BYTES": [b"", b"\xffraw", b"text"],
}


def typed_request(model="echo", tensors=(), raw=()):
    request = service_pb2.ModelInferRequest(model_name=model, id="typed")
    for name, datatype, shape, field, values in tensors:
        tensor = request.inputs.add(name=name, datatype=datatype, shape=shape)
        if field is not None:
            getattr(tensor.contents, field).extend(values)
    request.raw_input_contents.extend(raw)
    return request


def test_typed_contents_every_datatype(stub):
    tensors = [(f"t_{dt}", dt, [3], DATATYPES[dt].grpc_contents, values) for dt, values in TYPED.items()]
    response = stub.ModelInfer(typed_request(tensors=tensors))
    assert len(response.raw_output_contents) == len(TYPED)  # answered raw, as Triton does
    result = tritonclient_grpc.InferResult(response)
    for dt, values in TYPED.items():
        got = result.as_numpy(f"t_{dt}")
        want = np.array(values, dtype=DATATYPES[dt].dtype)
        assert got.dtype == want.dtype and got.tolist() == want.tolist()


def test_typed_contents_nested_shape(stub):
    response = stub.ModelInfer(typed_request(tensors=[("x", "FP32", [2, 2], "fp32_contents", [1, 2, 3, 4])]))
    np.testing.assert_array_equal(tritonclient_grpc.InferResult(response).as_numpy("x"), np.array([[1, 2], [3, 4]], np.float32))


FP32_2 = np.array([1, 2], np.float32).tobytes()
MALFORMED = [
    ("no-inputs", typed_request(), "request has no inputs"),
    ("unknown-datatype", typed_request(tensors=[("x", "FP8", [1], None, [])], raw=[b"\x00"]), "input 'x': unknown datatype 'FP8'"),
    ("negative-shape", typed_request(tensors=[("x", "FP32", [-1], None, [])], raw=[FP32_2]), "input 'x': shape [-1] has a negative dimension"),
    ("huge-shape", typed_request(tensors=[("x", "FP32", [2**20, 2**20], None, [])], raw=[FP32_2]), "input 'x': shape [1048576, 1048576] has"),
    ("raw-size", typed_request(tensors=[("x", "FP32", [3], None, [])], raw=[FP32_2]), "input 'x': 8 bytes of binary data, but shape [3] of FP32 needs 12"),
    ("raw-count", typed_request(tensors=[("x", "FP32", [2], None, []), ("y", "FP32", [2], None, [])], raw=[FP32_2]), "raw_input_contents has 1 entries for 2 inputs"),
    ("raw-and-typed", typed_request(tensors=[("x", "FP32", [2], "fp32_contents", [1, 2])], raw=[FP32_2]), "input 'x': both raw_input_contents and fp32_contents"),
    ("wrong-field", typed_request(tensors=[("x", "FP32", [2], "int_contents", [1, 2])]), "input 'x': FP32 data belongs in fp32_contents, not int_contents"),
    ("fp16-typed", typed_request(tensors=[("x", "FP16", [2], "fp32_contents", [1, 2])]), "input 'x': FP16 data must be sent in raw_input_contents"),
    ("count", typed_request(tensors=[("x", "INT32", [3], "int_contents", [1, 2])]), "input 'x': 2 values for shape [3]"),
    ("int8-range", typed_request(tensors=[("x", "INT8", [2], "int_contents", [1, 300])]), "input 'x': value 300 is out of range for INT8"),
    ("uint8-range", typed_request(tensors=[("x", "UINT8", [1], "uint_contents", [256])]), "input 'x': value 256 is out of range for UINT8"),
    ("duplicate", typed_request(tensors=[("x", "INT32", [1], "int_contents", [1]), ("x", "INT32", [1], "int_contents", [2])]), "input 'x' is given twice"),
    ("no-name", typed_request(tensors=[("", "INT32", [1], "int_contents", [1])]), "inputs[0]: 'name' must be a non-empty string"),
    ("bytes-truncated", typed_request(tensors=[("s", "BYTES", [1], None, [])], raw=[b"\x09\x00\x00\x00ab"]), "input 's': BYTES element 0 of 9 bytes runs past the data"),
    ("bool-raw", typed_request(tensors=[("b", "BOOL", [1], None, [])], raw=[b"\x02"]), "input 'b': BOOL binary data must be bytes 0 or 1"),
]


@pytest.mark.parametrize("request_message, fragment", [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED])
def test_malformed_grpc_request_is_invalid_argument(stub, request_message, fragment):
    with pytest.raises(grpc.RpcError) as info:
        stub.ModelInfer(request_message)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert fragment in info.value.details()


def test_server_keeps_serving_after_errors(client):
    for _ in range(3):
        with pytest.raises(InferenceServerException):
            client.infer("nope", [client_input("x", np.zeros(1, np.float32), "FP32")])
    assert client.is_server_live()
    x = np.ones((1, 4), np.float32)
    np.testing.assert_array_equal(client.infer("double", [client_input("x", x, "FP32")]).as_numpy("y"), 2 * x)


def test_stream_infer(stub):
    requests = [typed_request(tensors=[("x", "INT32", [1], "int_contents", [i])]) for i in range(3)]
    requests.insert(1, typed_request(model="nope", tensors=[("x", "INT32", [1], "int_contents", [0])]))
    answers = list(stub.ModelStreamInfer(iter(requests)))
    assert [a.error_message for a in answers] == ["", "unknown model 'nope'", "", ""]
    assert [tritonclient_grpc.InferResult(a.infer_response).as_numpy("x").tolist() for a in answers if not a.error_message] == [[0], [1], [2]]


def test_bearer_token():
    running = ServerThread(FakeService(), token="s3cret")
    try:
        with tritonclient_grpc.InferenceServerClient(f"127.0.0.1:{running.port}") as triton:
            assert triton.is_server_live()  # health probes need no token
            with pytest.raises(InferenceServerException, match="bearer token") as info:
                triton.get_model_metadata("echo")
            assert info.value.status() == "StatusCode.UNAUTHENTICATED"
            meta = triton.get_model_metadata("echo", headers={"authorization": "Bearer s3cret"}, as_json=True)
            assert meta["name"] == "echo"
    finally:
        running.close()


def test_serve_error_carries_status():
    error = ServeError(413, "request body of 10 MiB is over the 1 MiB limit")
    assert error.status == 413 and str(error).startswith("request body")


def test_mutated_grpc_requests_raise_only_serve_error():
    """Random byte flips in a serialized ModelInferRequest (typed and raw): each one that still
    parses as protobuf decodes or raises ServeError(400), never anything else."""
    import random

    from google.protobuf.message import DecodeError

    from aimass.serve._grpc import decode_grpc_request

    typed = typed_request(tensors=[(f"t_{dt}", dt, [3], DATATYPES[dt].grpc_contents, values) for dt, values in TYPED.items()])
    raw = typed_request(tensors=[("x", "FP32", [2], None, []), ("s", "BYTES", [1], None, [])], raw=[FP32_2, b"\x02\x00\x00\x00ab"])
    rng = random.Random(5)
    for message in (typed, raw):
        wire = message.SerializeToString()
        for _ in range(1500):
            mutated = bytearray(wire)
            for _ in range(rng.randint(1, 3)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            request = service_pb2.ModelInferRequest()
            try:
                request.ParseFromString(bytes(mutated))
            except DecodeError:
                continue
            try:
                decode_grpc_request(request)
            except ServeError as error:
                assert error.status == 400

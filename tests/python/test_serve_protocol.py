"""The KServe v2 / Triton HTTP codec (aimass.serve._protocol) against tritonclient.http.

Requests are built by tritonclient.http's own request builder (InferInput.set_data_from_numpy,
InferRequestedOutput, _get_inference_request: what InferenceServerClient.infer sends) and
decoded by ours; responses are encoded by ours and parsed by tritonclient's InferResult.
Malformed requests run in one table, each answered ServeError(400) naming what is wrong.
"""
from __future__ import annotations

import json
import random

import ml_dtypes
import numpy as np
import pytest

tritonclient_http = pytest.importorskip("tritonclient.http")
from tritonclient.http._utils import _get_inference_request  # noqa: E402

from aimass.serve._errors import ServeError  # noqa: E402
from aimass.serve._protocol import (  # noqa: E402
    DATATYPES,
    InferRequest,
    InferResult,
    RequestedOutput,
    bf16_bits_to_float32,
    bf16_round_float32,
    bind_raw_input,
    decode_http_request,
    encode_error,
    encode_http_response,
    numpy_dtype,
    v2_datatype,
)

BF16 = np.dtype(ml_dtypes.bfloat16)


def sample(datatype: str, shape=(2, 3)) -> np.ndarray:
    """A seeded array of `shape` for a v2 datatype, holding each type's edge values."""
    rng = np.random.default_rng(hash(datatype) % 2**32)
    count = int(np.prod(shape))
    if datatype == "BOOL":
        return (rng.integers(0, 2, count) == 1).reshape(shape)
    if datatype == "BYTES":
        items = [b"", b"a", "h\u00e9llo".encode(), b"x" * 40, b"\x00zero", b"tail"]
        return np.array((items * count)[:count], dtype=object).reshape(shape)
    dtype = numpy_dtype(datatype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        values = rng.integers(info.min, info.max, count, dtype=dtype, endpoint=True)
        values[:2] = [info.min, info.max][: min(2, count)]
        return values.reshape(shape)
    values = rng.standard_normal(count).astype(dtype)
    values[:1] = -0.0
    return values.reshape(shape)


NUMERIC = [name for name in DATATYPES if name not in ("BYTES",)]
ALL = list(DATATYPES)


def client_request(inputs, outputs=None, request_id="", parameters=None):
    """(body, header_length) exactly as tritonclient.http's InferenceServerClient.infer sends."""
    return _get_inference_request(
        inputs=inputs,
        request_id=request_id,
        outputs=outputs,
        sequence_id=0,
        sequence_start=False,
        sequence_end=False,
        priority=0,
        timeout=None,
        custom_parameters=parameters,
    )


def client_input(name, array, datatype, binary=True):
    tensor = tritonclient_http.InferInput(name, list(array.shape), datatype)
    tensor.set_data_from_numpy(array, binary_data=binary)
    return tensor


def parse_response(body, headers):
    """tritonclient's InferResult of our (body, headers)."""
    length = headers.get("Inference-Header-Content-Length")
    return tritonclient_http.InferResult.from_response_body(body, header_length=None if length is None else int(length))


def assert_same(got: np.ndarray, want: np.ndarray):
    assert got.shape == want.shape
    if want.dtype == object:
        assert got.dtype == object
        assert got.tolist() == want.tolist()
    else:
        assert got.dtype == want.dtype
        if want.dtype == BF16:  # compare the bit patterns (-0.0 and 0.0 differ)
            got, want = got.view(np.uint16), want.view(np.uint16)
        np.testing.assert_array_equal(got, want)


def decode_one(body, length) -> np.ndarray:
    request = decode_http_request(body, length)
    assert len(request.inputs) == 1
    return request.inputs[0].data


# ---------------------------------------------------------------------------------------------
# Requests from tritonclient


@pytest.mark.parametrize("datatype", ALL)
@pytest.mark.parametrize("shape", [(2, 3), (1,), (0, 4), ()])
def test_client_binary_request_every_datatype(datatype, shape):
    array = sample(datatype, shape)
    body, length = client_request([client_input("x", array, datatype)])
    assert length is not None  # tritonclient sends binary by default
    request = decode_http_request(body, length)
    (tensor,) = request.inputs
    assert (tensor.name, tensor.datatype, tensor.shape) == ("x", datatype, shape)
    assert_same(tensor.data, array)
    assert request.parameters == {"binary_data_output": True}  # no outputs named: all binary
    assert request.outputs == []


@pytest.mark.parametrize("datatype", [d for d in ALL if d != "BF16"])  # tritonclient refuses BF16 JSON
@pytest.mark.parametrize("shape", [(2, 3), (1,), (0,)])
def test_client_json_request_every_datatype(datatype, shape):
    array = sample(datatype, shape)
    if datatype == "BYTES":
        array = np.array([b"plain", "\u00fcnicode".encode(), b""] * 2, dtype=object)[: int(np.prod(shape))].reshape(shape)
    body, length = client_request([client_input("x", array, datatype, binary=False)])
    assert length is None
    assert_same(decode_one(body, None), array)


def test_json_bf16_rounds_like_ml_dtypes():
    values = [1.0, -2.5, 3.14159, 1e30, 0.0]
    body = json.dumps({"inputs": [{"name": "x", "datatype": "BF16", "shape": [5], "data": values}]}).encode()
    got = decode_one(body, None)
    assert got.dtype == BF16
    np.testing.assert_array_equal(got.view(np.uint16), np.array(values, np.float32).astype(BF16).view(np.uint16))


@pytest.mark.parametrize(
    "data, shape",
    [
        ([[1, 2, 3], [4, 5, 6]], [2, 3]),
        ([[[1], [2]], [[3], [4]]], [4]),  # nesting need not follow the shape, only the count
        ([1, 2, 3, 4, 5, 6], [3, 2]),
    ],
)
def test_nested_json_data(data, shape):
    body = json.dumps({"inputs": [{"name": "x", "datatype": "INT32", "shape": shape, "data": data}]}).encode()
    got = decode_one(body, None)
    np.testing.assert_array_equal(got, np.array(data, np.int32).reshape(shape))


def test_nested_json_bytes_and_bool():
    body = json.dumps(
        {
            "inputs": [
                {"name": "s", "datatype": "BYTES", "shape": [2, 2], "data": [["a", "b"], ["c", ""]]},
                {"name": "b", "datatype": "BOOL", "shape": [2, 1], "data": [[True], [False]]},
            ]
        }
    ).encode()
    request = decode_http_request(body, None)
    assert request.inputs[0].data.tolist() == [[b"a", b"b"], [b"c", b""]]
    assert request.inputs[1].data.dtype == np.bool_ and request.inputs[1].data.tolist() == [[True], [False]]


def test_json_floats_accept_integers_and_specials():
    body = b'{"inputs":[{"name":"x","datatype":"FP32","shape":[4],"data":[1, 2.5, NaN, -Infinity]}]}'
    got = decode_one(body, None)
    assert got.dtype == np.float32
    assert got[0] == 1 and got[1] == 2.5 and np.isnan(got[2]) and got[3] == -np.inf


def test_json_uint64_and_int64_extremes():
    body = json.dumps(
        {
            "inputs": [
                {"name": "u", "datatype": "UINT64", "shape": [2], "data": [0, 2**64 - 1]},
                {"name": "i", "datatype": "INT64", "shape": [2], "data": [-(2**63), 2**63 - 1]},
                {"name": "f", "datatype": "FP64", "shape": [1], "data": [2**70]},
            ]
        }
    ).encode()
    u, i, f = (t.data for t in decode_http_request(body, None).inputs)
    assert u.tolist() == [0, 2**64 - 1] and i.tolist() == [-(2**63), 2**63 - 1] and f.tolist() == [2.0**70]


def test_mixed_binary_and_json_inputs_requested_outputs_id_and_parameters():
    a, b, c = sample("FP32"), sample("BYTES", (3,)), sample("INT16", (4,))
    outputs = [
        tritonclient_http.InferRequestedOutput("y", binary_data=False),
        tritonclient_http.InferRequestedOutput("z"),
    ]
    body, length = client_request(
        [client_input("a", a, "FP32"), client_input("c", c, "INT16", binary=False), client_input("b", b, "BYTES")],
        outputs,
        request_id="req-7",
        parameters={"k": 5, "filter": "label == 3"},
    )
    request = decode_http_request(body, length)
    assert request.id == "req-7"
    assert request.parameters == {"k": 5, "filter": "label == 3"}
    assert [t.name for t in request.inputs] == ["a", "c", "b"]
    assert_same(request.inputs[0].data, a)
    assert_same(request.inputs[1].data, c)
    assert_same(request.inputs[2].data, b)
    assert [(o.name, o.binary) for o in request.outputs] == [("y", False), ("z", True)]


def test_binary_numeric_data_is_a_view_on_the_body():
    array = np.arange(1000, dtype=np.float32)
    body, length = client_request([client_input("x", array, "FP32")])
    data = decode_one(body, length)
    assert data.base is not None and not data.flags.writeable  # np.frombuffer, no copy
    np.testing.assert_array_equal(data, array)


def test_header_length_as_header_string():
    array = sample("UINT8")
    body, length = client_request([client_input("x", array, "UINT8")])
    assert_same(decode_one(body, str(length)), array)
    assert_same(decode_one(bytearray(body), str(length).encode()), array)


def test_raw_binary_request_bound_to_the_model_input():
    array = np.arange(12, dtype=np.float32)
    request = decode_http_request(array.tobytes(), 0)
    assert request.raw_binary and request.inputs[0].data.nbytes == 48
    bound = bind_raw_input(request, "x", "FP32", [-1, 4])
    assert not bound.raw_binary
    assert bound.inputs[0].name == "x" and bound.inputs[0].shape == (3, 4)
    np.testing.assert_array_equal(bound.inputs[0].data, array.reshape(3, 4))
    words = bind_raw_input(decode_http_request(b"any bytes", 0), "s", "BYTES", [1])
    assert words.inputs[0].data.tolist() == [b"any bytes"]
    with pytest.raises(ServeError, match="does not fit shape"):
        bind_raw_input(decode_http_request(b"12345", 0), "x", "FP32", [-1])
    with pytest.raises(ServeError, match="needs 16"):
        bind_raw_input(request, "x", "FP32", [2, 2])


# ---------------------------------------------------------------------------------------------
# Responses parsed by tritonclient


def result_of(arrays: dict, request_id=None, parameters=None) -> InferResult:
    return InferResult("model", "3", request_id, list(arrays.items()), parameters or {})


@pytest.mark.parametrize("datatype", ALL)
@pytest.mark.parametrize("binary", [True, False])
@pytest.mark.parametrize("shape", [(2, 3), (0,), ()])
def test_response_every_datatype_parsed_by_tritonclient(datatype, binary, shape):
    array = sample(datatype, shape)
    if datatype == "BYTES" and not binary:
        array = np.array([b"ok", "\u00e9t\u00e9".encode()] * 3, dtype=object)[: int(np.prod(shape))].reshape(shape)
    request = InferRequest("r1", [], [RequestedOutput("y", binary, {"binary_data": binary})], {})
    body, headers = encode_http_response(result_of({"y": array, "unrequested": np.zeros(3)}, "r1"), request)
    assert ("Inference-Header-Content-Length" in headers) == binary
    result = parse_response(body, headers)
    got = result.as_numpy("y")
    if datatype == "BYTES":
        want = array if binary else np.array([x.decode() for x in array.reshape(-1)], dtype=object).reshape(shape)
        assert got.shape == want.shape and got.tolist() == want.tolist()
    else:
        assert_same(got, array)
    response = result.get_response()
    assert response["model_name"] == "model" and response["model_version"] == "3" and response["id"] == "r1"
    assert [o["name"] for o in response["outputs"]] == ["y"]  # outputs not requested are left out
    assert response["outputs"][0]["datatype"] == datatype


def test_response_default_binary_follows_binary_data_output():
    arrays = {"a": sample("FP32"), "b": sample("INT64", (5,))}
    binary_request = InferRequest(None, [], [], {"binary_data_output": True})
    body, headers = encode_http_response(result_of(arrays), binary_request)
    result = parse_response(body, headers)
    assert all("binary_data_size" in o["parameters"] for o in result.get_response()["outputs"])
    for name, array in arrays.items():
        assert_same(result.as_numpy(name), array)
    body, headers = encode_http_response(result_of(arrays), InferRequest(None, [], [], {}))
    assert headers == {"Content-Type": "application/json"}
    result = parse_response(body, headers)
    assert "id" not in result.get_response()
    for name, array in arrays.items():
        assert_same(result.as_numpy(name), array)


def test_response_mixes_json_and_binary_outputs_in_requested_order():
    arrays = {"a": sample("FP16"), "b": sample("BYTES", (4,)), "c": sample("UINT32", (2,))}
    request = InferRequest(
        None,
        [],
        [RequestedOutput("c", False), RequestedOutput("b", True), RequestedOutput("a", None)],
        {"binary_data_output": True},
    )
    body, headers = encode_http_response(result_of(arrays, parameters={"batch": 4}), request)
    result = parse_response(body, headers)
    assert [o["name"] for o in result.get_response()["outputs"]] == ["c", "b", "a"]
    assert "data" in result.get_output("c") and "binary_data_size" in result.get_output("a")["parameters"]
    assert result.get_response()["parameters"] == {"batch": 4}
    for name, array in arrays.items():
        assert_same(result.as_numpy(name), array)


def test_response_end_to_end_with_the_client_request():
    x = sample("FP32", (4, 8))
    outputs = [tritonclient_http.InferRequestedOutput("probs"), tritonclient_http.InferRequestedOutput("label", binary_data=False)]
    body, length = client_request([client_input("x", x, "FP32")], outputs, request_id="e2e")
    request = decode_http_request(body, length)
    data = request.inputs[0].data
    answer = {"label": data.argmax(axis=1).astype(np.int64), "probs": data * 2}
    body, headers = encode_http_response(result_of(answer, request.id), request)
    result = parse_response(body, headers)
    np.testing.assert_array_equal(result.as_numpy("probs"), x * 2)
    np.testing.assert_array_equal(result.as_numpy("label"), x.argmax(axis=1))


def test_response_errors():
    with pytest.raises(ServeError, match="unknown output 'nope'") as info:
        encode_http_response(result_of({"y": np.zeros(2)}), InferRequest(None, [], [RequestedOutput("nope")], {}))
    assert info.value.status == 400
    with pytest.raises(ServeError, match="not UTF-8"):
        encode_http_response(result_of({"s": np.array([b"\xff"], dtype=object)}), InferRequest(None, [], [], {}))
    with pytest.raises(ServeError, match="no v2 datatype") as info:
        encode_http_response(result_of({"c": np.zeros(2, np.complex64)}), InferRequest(None, [], [], {}))
    assert info.value.status == 500
    body, headers = encode_error(ServeError(404, "unknown model 'm'"))
    assert json.loads(body) == {"error": "unknown model 'm'"} and headers["Content-Type"] == "application/json"


def test_datatype_names():
    assert v2_datatype(np.float32) == "FP32" and v2_datatype(BF16) == "BF16"
    assert v2_datatype(np.dtype(object)) == "BYTES" and v2_datatype(np.dtype("S3")) == "BYTES"
    assert v2_datatype(np.dtype("U3")) == "BYTES" and v2_datatype(np.bool_) == "BOOL"
    for name, row in DATATYPES.items():
        assert v2_datatype(row.dtype) == name and numpy_dtype(name) == row.dtype
    with pytest.raises(ServeError, match="unknown datatype 'FP8'") as info:
        numpy_dtype("FP8")
    assert info.value.status == 400


def test_str_and_bytes_arrays_as_bytes_outputs():
    arrays = {"u": np.array(["ab", "c\u00e9"]), "s": np.array([b"x", b"yz"])}
    for binary in (True, False):
        request = InferRequest(None, [], [], {"binary_data_output": binary})
        result = parse_response(*encode_http_response(result_of(arrays), request))
        got_u, got_s = result.as_numpy("u").tolist(), result.as_numpy("s").tolist()
        assert got_u == ([b"ab", "c\u00e9".encode()] if binary else ["ab", "c\u00e9"])
        assert got_s == ([b"x", b"yz"] if binary else ["x", "yz"])


def test_bf16_fallback_without_ml_dtypes():
    values = np.array([1.0, -3.140625, 1.00390625, np.inf, np.nan, 3.0e38], np.float32)
    want = values.astype(BF16)
    rounded = bf16_round_float32(values)
    np.testing.assert_array_equal(rounded[~np.isnan(values)], want.astype(np.float32)[~np.isnan(values)])
    assert np.isnan(rounded[4])
    np.testing.assert_array_equal(bf16_bits_to_float32(want.view(np.uint16)), want.astype(np.float32))


# ---------------------------------------------------------------------------------------------
# Malformed requests: each one a 400 whose message names the input or field


def j(obj) -> bytes:
    return json.dumps(obj).encode()


def one(**tensor) -> bytes:
    base = {"name": "x", "datatype": "FP32", "shape": [2], "data": [1.0, 2.0]}
    base.update(tensor)
    return j({"inputs": [{k: v for k, v in base.items() if v is not DROP}]})


DROP = object()
FP32_2 = np.array([1, 2], np.float32).tobytes()
BINARY_HEADER = j({"inputs": [{"name": "x", "datatype": "FP32", "shape": [2], "parameters": {"binary_data_size": 8}}]})

MALFORMED = [
    # (id, body, header_length, message fragment)
    ("not-json", b"{inputs: oops", None, "not valid JSON"),
    ("empty-body", b"", None, "not valid JSON"),
    ("not-utf8", b'{"inputs": "\xff"}', None, "not valid JSON"),
    ("json-array", b"[1, 2]", None, "must be an object"),
    ("deep-json", b"[" * 100000 + b"]" * 100000, None, "JSON"),
    ("no-inputs", j({"outputs": []}), None, "'inputs' must be a non-empty list"),
    ("empty-inputs", j({"inputs": []}), None, "'inputs' must be a non-empty list"),
    ("input-not-object", j({"inputs": [3]}), None, "inputs[0] must be an object"),
    ("no-name", one(name=DROP), None, "inputs[0]: 'name'"),
    ("name-not-string", one(name=5), None, "inputs[0]: 'name'"),
    ("no-datatype", one(datatype=DROP), None, "input 'x': missing 'datatype'"),
    ("no-shape", one(shape=DROP), None, "input 'x': missing 'shape'"),
    ("unknown-datatype", one(datatype="FP8"), None, "input 'x': unknown datatype 'FP8'"),
    ("datatype-not-string", one(datatype=32), None, "input 'x': unknown datatype"),
    ("shape-not-list", one(shape="2"), None, "input 'x': shape must be a list of integers"),
    ("shape-float", one(shape=[2.0]), None, "input 'x': shape must be a list of integers"),
    ("shape-bool", one(shape=[True, True]), None, "input 'x': shape must be a list of integers"),
    ("negative-shape", one(shape=[-2]), None, "input 'x': shape [-2] has a negative dimension"),
    ("huge-shape", one(shape=[2**20, 2**20]), None, "input 'x': shape [1048576, 1048576] has 1099511627776 elements"),
    ("too-many-dims", one(shape=[1] * 40), None, "input 'x': shape has 40 dimensions"),
    ("count-mismatch", one(shape=[3]), None, "input 'x': 2 values for shape [3]"),
    ("ragged", one(shape=[2, 2], data=[[1.0, 2.0], [3.0]]), None, "input 'x': data is not a regular"),
    ("no-data", one(data=DROP), None, "input 'x': no 'data' and no binary_data_size"),
    ("data-not-list", one(data=1.0, shape=[1]), None, "input 'x': 'data' must be a JSON array"),
    ("strings-for-fp32", one(data=["1", "2"]), None, "input 'x': FP32 data must be numbers, got strings"),
    ("bools-for-fp32", one(data=[True, False]), None, "input 'x': FP32 data must be numbers, got booleans"),
    ("null-in-data", one(data=[1.0, None]), None, "input 'x': FP32 data must be numbers"),
    ("object-in-data", one(data=[{}, 1]), None, "input 'x': FP32 data must be numbers"),
    ("float-for-int", one(datatype="INT32", data=[1.5, 2]), None, "input 'x': INT32 data must be integers, got non-integer"),
    ("int8-overflow", one(datatype="INT8", data=[1, 128]), None, "input 'x': value 128 is out of range for INT8"),
    ("uint-negative", one(datatype="UINT16", data=[-1, 2]), None, "input 'x': value -1 is out of range for UINT16"),
    ("int64-overflow", one(datatype="INT64", data=[0, 2**63]), None, "input 'x': value 9223372036854775808 is out of range for INT64"),
    ("bigint-for-int", one(datatype="UINT64", data=[0, 2**65]), None, "input 'x': value 36893488147419103232 is out of range for UINT64"),
    ("mixed-sign-int64", one(datatype="INT64", data=[-1, 2**63]), None, "input 'x': value 9223372036854775808 is out of range for INT64"),
    ("mixed-sign-float", one(datatype="INT64", data=[-1, 2**63, 0.5], shape=[3]), None, "input 'x': INT64 data must be integers, got non-integer"),
    ("bigint-for-fp16", one(datatype="FP16", data=[0, 2**70]), None, "input 'x': a value is out of range for FP16"),
    ("huge-bigint-for-fp64", one(datatype="FP64", data=[0, 10**400]), None, "input 'x': a value is out of range for FP64"),
    ("fp16-overflow", one(datatype="FP16", data=[1.0, 70000.0]), None, "input 'x': a value is out of range for FP16"),
    ("ints-for-bool", one(datatype="BOOL", data=[0, 1]), None, "input 'x': BOOL data must be booleans, got integers"),
    ("numbers-for-bytes", one(datatype="BYTES", data=["a", 3]), None, "input 'x': BYTES data must be strings, got int"),
    ("duplicate-input", j({"inputs": [json.loads(one())["inputs"][0]] * 2}), None, "input 'x' is given twice"),
    ("id-not-string", j({"id": 5, "inputs": json.loads(one())["inputs"]}), None, "request 'id' must be a string"),
    ("parameters-not-object", j({"parameters": [1], "inputs": json.loads(one())["inputs"]}), None, "request 'parameters' must be an object"),
    ("binary-output-flag", j({"parameters": {"binary_data_output": "yes"}, "inputs": json.loads(one())["inputs"]}), None, "'binary_data_output' must be a boolean"),
    ("input-parameters", one(parameters=3), None, "input 'x': 'parameters' must be an object"),
    ("shared-memory-input", one(parameters={"shared_memory_region": "r"}), None, "input 'x': shared memory is not supported"),
    ("binary-without-header", one(data=DROP, parameters={"binary_data_size": 8}), None, "input 'x': binary_data_size 8 but the request has no binary part"),
    ("binary-size-negative", one(data=DROP, parameters={"binary_data_size": -8}), None, "input 'x': binary_data_size must be a non-negative integer"),
    ("binary-size-string", one(data=DROP, parameters={"binary_data_size": "8"}), None, "input 'x': binary_data_size must be a non-negative integer"),
    ("binary-and-data", one(parameters={"binary_data_size": 8}), None, "input 'x': both 'data' and binary_data_size"),
    ("truncated-binary", BINARY_HEADER + FP32_2[:5], len(BINARY_HEADER), "input 'x': binary_data_size 8 runs past the end of the body"),
    ("extra-bytes", BINARY_HEADER + FP32_2 + b"zz", len(BINARY_HEADER), "2 bytes after the inputs' binary data"),
    ("header-length-too-big", BINARY_HEADER + FP32_2, 10_000, "Inference-Header-Content-Length 10000 is larger than the body"),
    ("header-length-text", BINARY_HEADER + FP32_2, "12a", "Inference-Header-Content-Length must be a non-negative integer"),
    ("header-length-cuts-json", BINARY_HEADER + FP32_2, 10, "not valid JSON"),
    (
        "binary-size-vs-shape",
        j({"inputs": [{"name": "x", "datatype": "FP32", "shape": [3], "parameters": {"binary_data_size": 8}}]}) + FP32_2,
        len(j({"inputs": [{"name": "x", "datatype": "FP32", "shape": [3], "parameters": {"binary_data_size": 8}}]})),
        "input 'x': 8 bytes of binary data, but shape [3] of FP32 needs 12",
    ),
    (
        "huge-shape-small-binary",
        j({"inputs": [{"name": "x", "datatype": "FP32", "shape": [2**15, 2**15], "parameters": {"binary_data_size": 8}}]}) + FP32_2,
        len(j({"inputs": [{"name": "x", "datatype": "FP32", "shape": [2**15, 2**15], "parameters": {"binary_data_size": 8}}]})),
        "but shape [32768, 32768] of FP32 needs 4294967296",
    ),
    (
        "bool-binary-not-0-1",
        j({"inputs": [{"name": "b", "datatype": "BOOL", "shape": [2], "parameters": {"binary_data_size": 2}}]}) + b"\x01\x07",
        len(j({"inputs": [{"name": "b", "datatype": "BOOL", "shape": [2], "parameters": {"binary_data_size": 2}}]})),
        "input 'b': BOOL binary data must be bytes 0 or 1",
    ),
    (
        "bytes-too-many-elements",
        j({"inputs": [{"name": "s", "datatype": "BYTES", "shape": [2**30], "parameters": {"binary_data_size": 5}}]}) + b"\x01\x00\x00\x00a",
        len(j({"inputs": [{"name": "s", "datatype": "BYTES", "shape": [2**30], "parameters": {"binary_data_size": 5}}]})),
        "input 's': 5 bytes cannot hold 1073741824 BYTES elements",
    ),
    (
        "bytes-element-overruns",
        j({"inputs": [{"name": "s", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": 5}}]}) + b"\xff\x00\x00\x00a",
        len(j({"inputs": [{"name": "s", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": 5}}]})),
        "input 's': BYTES element 0 of 255 bytes runs past the data",
    ),
    (
        "bytes-leftover",
        j({"inputs": [{"name": "s", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": 7}}]}) + b"\x01\x00\x00\x00abc",
        len(j({"inputs": [{"name": "s", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": 7}}]})),
        "input 's': 2 bytes left after 1 BYTES elements",
    ),
    (
        "bytes-cut-length",
        j({"inputs": [{"name": "s", "datatype": "BYTES", "shape": [2], "parameters": {"binary_data_size": 8}}]}) + b"\x00\x00\x00\x00\x01\x00\x00\x00",
        len(j({"inputs": [{"name": "s", "datatype": "BYTES", "shape": [2], "parameters": {"binary_data_size": 8}}]})),
        "input 's': BYTES element 1 of 1 bytes runs past the data",
    ),
    ("outputs-not-list", j({"inputs": json.loads(one())["inputs"], "outputs": {"name": "y"}}), None, "request 'outputs' must be a list"),
    ("output-no-name", j({"inputs": json.loads(one())["inputs"], "outputs": [{}]}), None, "outputs[0]: 'name'"),
    ("output-twice", j({"inputs": json.loads(one())["inputs"], "outputs": [{"name": "y"}, {"name": "y"}]}), None, "output 'y' is requested twice"),
    ("classification", j({"inputs": json.loads(one())["inputs"], "outputs": [{"name": "y", "parameters": {"classification": 3}}]}), None, "output 'y': classification is not supported"),
    ("output-binary-flag", j({"inputs": json.loads(one())["inputs"], "outputs": [{"name": "y", "parameters": {"binary_data": 1}}]}), None, "output 'y': binary_data must be a boolean"),
    ("shared-memory-output", j({"inputs": json.loads(one())["inputs"], "outputs": [{"name": "y", "parameters": {"shared_memory_region": "r"}}]}), None, "output 'y': shared memory is not supported"),
    ("bigint-digits", b'{"inputs":[{"name":"x","datatype":"INT64","shape":[1],"data":[' + b"9" * 5000 + b"]}]}", None, "not valid JSON"),
]


@pytest.mark.parametrize("body, header_length, fragment", [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED])
def test_malformed_request_is_400(body, header_length, fragment):
    with pytest.raises(ServeError) as info:
        decode_http_request(body, header_length)
    assert info.value.status == 400
    assert fragment in str(info.value)


def test_malformed_table_is_large_enough():
    assert len(MALFORMED) >= 25


def test_mutated_requests_raise_only_serve_error():
    """Random byte flips, cuts and header lengths over a valid mixed request: each decodes or
    raises ServeError(400), never anything else."""
    inputs = [
        client_input("a", sample("FP32"), "FP32"),
        client_input("s", sample("BYTES", (3,)), "BYTES"),
        client_input("j", sample("INT16", (2, 2)), "INT16", binary=False),
        client_input("b", sample("BOOL", (4,)), "BOOL"),
    ]
    body, length = client_request(inputs, [tritonclient_http.InferRequestedOutput("y")])
    rng = random.Random(11)
    for _ in range(3000):
        mutated = bytearray(body)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        if rng.random() < 0.2:
            mutated = mutated[: rng.randrange(len(mutated))]
        header = length if rng.random() < 0.8 else rng.choice([None, 0, rng.randrange(len(body) + 5)])
        try:
            decode_http_request(bytes(mutated), header)
        except ServeError as error:
            assert error.status == 400

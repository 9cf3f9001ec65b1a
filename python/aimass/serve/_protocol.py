"""The KServe v2 / Triton inference protocol: request and response values, the datatype table,
and the HTTP codec (JSON tensors and Triton's binary tensor data extension).

HTTP request body (Triton's binary extension), `H` = the Inference-Header-Content-Length header:

    body[:H]   JSON  {"id"?, "parameters"?, "inputs": [...], "outputs"?: [...]}
    body[H:]   the binary inputs, one after another in the order of "inputs", each input i
               taking inputs[i].parameters.binary_data_size bytes

With no header the whole body is JSON; with H == 0 the whole body is the raw binary data of the
model's only input (a "raw binary request": `InferRequest.raw_binary`, see bind_raw_input).

Binary tensor layout: little-endian, row-major, no padding; BOOL one byte 0/1; BYTES each element
a 4-byte little-endian length followed by its bytes. The same layout is gRPC's raw contents.

JSON tensor data: a flat or nested array of numbers (booleans for BOOL, strings for BYTES) whose
element count equals the shape's; the nesting itself is not checked (Triton flattens it).

Every malformed request raises ServeError(400) naming the input or field. Sizes are checked
before anything is allocated: a declared shape is never trusted beyond the body it came with.
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field

import numpy as np

from ._errors import ServeError, bad_request

try:  # optional: numpy's own dtype for BF16
    import ml_dtypes

    _BF16 = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover - ml_dtypes is installed with the test extras
    _BF16 = None

try:  # optional: a faster JSON codec
    import orjson
except ImportError:
    orjson = None

# A request may not declare more elements than this per tensor (Triton's limit too).
MAX_ELEMENTS = 2**31
MAX_DIMS = 32


# ---------------------------------------------------------------------------------------------
# The datatype table: one row per v2 datatype, used by the HTTP and the gRPC codecs alike.


@dataclass(frozen=True)
class Datatype:
    """One v2 datatype. `dtype` is the numpy dtype of decoded data (BF16: ml_dtypes.bfloat16,
    or float32 where ml_dtypes is missing); `itemsize` the bytes per element on the wire
    (0 for BYTES: variable); `json_kinds` the numpy kinds that JSON data may infer to
    (b bool, i/u integers, f floats, U strings); `grpc_contents` the InferTensorContents field
    (None: raw contents only)."""

    name: str
    dtype: np.dtype
    itemsize: int
    json_kinds: str
    grpc_contents: str | None


def _row(name, dtype, itemsize, json_kinds, grpc_contents):
    return name, Datatype(name, np.dtype(dtype), itemsize, json_kinds, grpc_contents)


DATATYPES: dict[str, Datatype] = dict(
    [
        _row("BOOL", np.bool_, 1, "b", "bool_contents"),
        _row("UINT8", np.uint8, 1, "iu", "uint_contents"),
        _row("UINT16", np.uint16, 2, "iu", "uint_contents"),
        _row("UINT32", np.uint32, 4, "iu", "uint_contents"),
        _row("UINT64", np.uint64, 8, "iu", "uint64_contents"),
        _row("INT8", np.int8, 1, "iu", "int_contents"),
        _row("INT16", np.int16, 2, "iu", "int_contents"),
        _row("INT32", np.int32, 4, "iu", "int_contents"),
        _row("INT64", np.int64, 8, "iu", "int64_contents"),
        _row("FP16", np.float16, 2, "iuf", None),
        _row("BF16", _BF16 if _BF16 is not None else np.float32, 2, "iuf", None),
        _row("FP32", np.float32, 4, "iuf", "fp32_contents"),
        _row("FP64", np.float64, 8, "iuf", "fp64_contents"),
        _row("BYTES", np.object_, 0, "U", "bytes_contents"),
    ]
)

# numpy dtype -> v2 name for outputs (BYTES also from numpy bytes_ / str_ arrays).
_V2_NAME = {row.dtype: name for name, row in DATATYPES.items() if name != "BF16" or _BF16 is not None}


def numpy_dtype(datatype: str) -> np.dtype:
    """The numpy dtype of data decoded for a v2 datatype; ServeError(400) on an unknown name."""
    return datatype_row(datatype).dtype


def datatype_row(datatype, what: str = "datatype") -> Datatype:
    """The table row of a v2 datatype name; ServeError(400) naming `what` when unknown."""
    row = DATATYPES.get(datatype) if isinstance(datatype, str) else None
    if row is None:
        raise bad_request(f"{what}: unknown datatype {datatype!r} (expected one of {', '.join(DATATYPES)})")
    return row


def v2_datatype(dtype) -> str:
    """The v2 datatype name of a numpy dtype: float32 -> "FP32", object/bytes_/str_ -> "BYTES",
    ml_dtypes.bfloat16 -> "BF16". ServeError(500) for a dtype v2 has no name for."""
    dtype = np.dtype(dtype)
    name = _V2_NAME.get(dtype)
    if name is not None:
        return name
    if dtype.kind in "SU":
        return "BYTES"
    raise ServeError(500, f"output dtype {dtype} has no v2 datatype")


# ---------------------------------------------------------------------------------------------
# Request / response values


@dataclass
class InferInput:
    """One input tensor. data.shape == shape, data.dtype == numpy_dtype(datatype); BYTES data is
    an object array of bytes. Binary data is a read-only view on the request body."""

    name: str
    datatype: str  # v2 name
    shape: tuple[int, ...]
    data: np.ndarray
    parameters: dict = field(default_factory=dict)


@dataclass
class RequestedOutput:
    """An output the client asked for; binary None: the request's default
    (parameters.binary_data_output over HTTP)."""

    name: str
    binary: bool | None = None
    parameters: dict = field(default_factory=dict)


@dataclass
class InferRequest:
    """A decoded request. outputs empty: all outputs. raw_binary: a raw binary request
    (HTTP header length 0): inputs[0] is the whole body as UINT8, named "", until
    bind_raw_input gives it the model's only input's name, datatype and shape."""

    id: str | None
    inputs: list[InferInput]
    outputs: list[RequestedOutput] = field(default_factory=list)
    parameters: dict = field(default_factory=dict)
    raw_binary: bool = False


@dataclass
class InferResult:
    """A model's answer: outputs are (name, array) in the model's order; any numpy dtype
    v2_datatype knows (BYTES as an object array of bytes or str)."""

    model_name: str
    model_version: str
    id: str | None
    outputs: list[tuple[str, np.ndarray]]
    parameters: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Tensors: shape checks, decoding from bytes or values, encoding to bytes. Shared by HTTP and gRPC.


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_shape(name: str, shape) -> tuple[int, tuple[int, ...]]:
    """(element count, shape) of a declared shape: a list of non-negative ints of at most
    MAX_DIMS dims and MAX_ELEMENTS elements; ServeError(400) naming the input otherwise."""
    if not isinstance(shape, (list, tuple)) or not all(_is_int(d) for d in shape):
        raise bad_request(f"input '{name}': shape must be a list of integers, got {_short(shape)}")
    if len(shape) > MAX_DIMS:
        raise bad_request(f"input '{name}': shape has {len(shape)} dimensions (at most {MAX_DIMS})")
    count = 1
    for d in shape:
        if d < 0:
            raise bad_request(f"input '{name}': shape {list(shape)} has a negative dimension")
        count *= d
    if count > MAX_ELEMENTS:
        raise bad_request(f"input '{name}': shape {list(shape)} has {count} elements (at most {MAX_ELEMENTS})")
    return count, tuple(shape)


def decode_tensor_bytes(name: str, row: Datatype, shape: tuple, count: int, buffer, offset: int, size: int) -> np.ndarray:
    """The tensor in buffer[offset:offset + size] (binary layout above) as an array of `shape`
    (count elements). Numeric data is a zero-copy view. The caller has checked that the buffer
    holds `size` bytes from `offset`."""
    if row.name == "BYTES":
        return decode_bytes_elements(name, buffer, offset, size, count).reshape(shape)
    if size != count * row.itemsize:
        raise bad_request(
            f"input '{name}': {size} bytes of binary data, but shape {list(shape)} of {row.name} "
            f"needs {count * row.itemsize}"
        )
    if row.name == "BF16" and _BF16 is None:
        bits = np.frombuffer(buffer, np.dtype("<u2"), count, offset)
        return bf16_bits_to_float32(bits).reshape(shape)
    data = np.frombuffer(buffer, row.dtype.newbyteorder("<"), count, offset)
    if row.name == "BOOL" and count and data.view(np.uint8).max() > 1:
        raise bad_request(f"input '{name}': BOOL binary data must be bytes 0 or 1")
    return data.reshape(shape)


def decode_bytes_elements(name: str, buffer, offset: int, size: int, count: int) -> np.ndarray:
    """`count` BYTES elements (each a 4-byte LE length then its bytes) filling exactly
    buffer[offset:offset + size], as a flat object array of bytes."""
    if count * 4 > size:  # checked before allocating `count` slots
        raise bad_request(f"input '{name}': {size} bytes cannot hold {count} BYTES elements")
    view = memoryview(buffer)
    out = np.empty(count, dtype=object)
    pos, end = offset, offset + size
    unpack = struct.Struct("<I").unpack_from
    for i in range(count):
        if pos + 4 > end:
            raise bad_request(f"input '{name}': BYTES data ends inside the length of element {i}")
        (length,) = unpack(view, pos)
        pos += 4
        if pos + length > end:
            raise bad_request(f"input '{name}': BYTES element {i} of {length} bytes runs past the data")
        out[i] = bytes(view[pos : pos + length])
        pos += length
    if pos != end:
        raise bad_request(f"input '{name}': {end - pos} bytes left after {count} BYTES elements")
    return out


def decode_tensor_values(name: str, row: Datatype, shape: tuple, count: int, values) -> np.ndarray:
    """The tensor from a flat or nested list of values (JSON data, or gRPC typed contents)
    checked against the datatype: booleans for BOOL, integers in range for the integer
    types, numbers for the floats, strings (or bytes) for BYTES."""
    if row.name == "BYTES":
        return _decode_bytes_values(name, shape, count, values)
    try:
        inferred = np.asarray(values)
    except (ValueError, TypeError, OverflowError, RecursionError):
        raise bad_request(f"input '{name}': data is not a regular (flat or nested) array of {row.name} values") from None
    if inferred.size != count:
        raise bad_request(f"input '{name}': {inferred.size} values for shape {list(shape)} ({count} elements)")
    if count == 0:
        return np.empty(shape, dtype=row.dtype)
    kind = inferred.dtype.kind
    if kind == "O" or (kind == "f" and row.dtype.kind in "iu"):
        # numpy gave objects (an integer beyond 64 bits) or floats (integers mixing signs
        # beyond int64): check each value in Python, on this rare path only.
        return _decode_numbers_one_by_one(name, row, values).reshape(shape)
    if kind not in row.json_kinds:
        raise bad_request(f"input '{name}': {row.name} data must be {_KIND_WORDS[row.json_kinds]}, got {_kind_word(inferred)}")
    if kind in "iu" and row.dtype.kind in "iu" and not np.can_cast(inferred.dtype, row.dtype):
        info = np.iinfo(row.dtype)
        low, high = int(inferred.min()), int(inferred.max())
        if low < info.min or high > info.max:
            bad = low if low < info.min else high
            raise bad_request(f"input '{name}': value {bad} is out of range for {row.name}")
    if row.name == "BF16" and _BF16 is None:
        return bf16_round_float32(inferred.astype(np.float32)).reshape(shape)
    with np.errstate(over="ignore", invalid="ignore"):
        data = inferred.astype(row.dtype).reshape(shape)
    if row.dtype.kind == "f" and row.dtype.itemsize < 8 and not np.isfinite(data).all():
        if (np.isfinite(inferred) & ~np.isfinite(data.reshape(inferred.shape))).any():
            raise bad_request(f"input '{name}': a value is out of range for {row.name}")
    return data


def _decode_bytes_values(name, shape, count, values) -> np.ndarray:
    # JSON strings are sent as their UTF-8 bytes; gRPC bytes_contents are already bytes.
    try:
        items = np.asarray(values, dtype=object)
    except (ValueError, TypeError, RecursionError):
        raise bad_request(f"input '{name}': data is not a regular (flat or nested) array of BYTES values") from None
    if items.size != count:
        raise bad_request(f"input '{name}': {items.size} values for shape {list(shape)} ({count} elements)")
    flat = items.reshape(-1)
    out = np.empty(count, dtype=object)
    for i, item in enumerate(flat):
        if isinstance(item, str):
            out[i] = item.encode("utf-8", "surrogatepass")
        elif isinstance(item, bytes):
            out[i] = item
        else:
            raise bad_request(f"input '{name}': BYTES data must be strings, got {type(item).__name__} at element {i}")
    return out.reshape(shape)


def _decode_numbers_one_by_one(name, row, values) -> np.ndarray:
    # The flat values (Python objects, as parsed) as row.dtype, checked one by one.
    flat = np.asarray(values, dtype=object).reshape(-1).tolist()
    allowed = (int, float) if "f" in row.json_kinds else (int,)
    for item in flat:
        if isinstance(item, float) and allowed == (int,) and item.is_integer() and abs(item) >= 2**63:
            # orjson reads integer literals beyond 64 bits as floats: the value is out of range
            raise bad_request(f"input '{name}': value {int(item)} is out of range for {row.name}")
        if isinstance(item, bool) or not isinstance(item, allowed):
            got = "non-integer numbers" if isinstance(item, float) else type(item).__name__
            raise bad_request(f"input '{name}': {row.name} data must be {_KIND_WORDS[row.json_kinds]}, got {got}")
    if row.dtype.kind in "iu":
        info = np.iinfo(row.dtype)
        for item in flat:
            if not info.min <= item <= info.max:
                raise bad_request(f"input '{name}': value {item} is out of range for {row.name}")
        return np.array(flat, dtype=row.dtype)
    try:
        values = np.array(flat, dtype=np.float64)
    except OverflowError:
        raise bad_request(f"input '{name}': a value is out of range for {row.name}") from None
    return decode_tensor_values(name, row, values.shape, values.size, values)


_KIND_WORDS = {"b": "booleans", "iu": "integers", "iuf": "numbers", "U": "strings"}


def _kind_word(array: np.ndarray) -> str:
    return {"b": "booleans", "i": "integers", "u": "integers", "f": "non-integer numbers", "U": "strings"}.get(
        array.dtype.kind, "mixed or non-numeric values"
    )


def bf16_bits_to_float32(bits: np.ndarray) -> np.ndarray:
    """BF16 bit patterns (uint16) as the float32 values they hold exactly."""
    return (bits.astype(np.uint32) << 16).view(np.float32)


def bf16_round_float32(values: np.ndarray) -> np.ndarray:
    """float32 values rounded (to nearest even) to BF16 precision, kept as float32."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    nan = np.isnan(values)
    out = rounded.astype(np.uint32).view(np.float32)
    out[nan] = np.nan
    return out


def encode_tensor_bytes(array: np.ndarray, datatype: str):
    """The binary layout of an output: a bytes-like object (a contiguous array for numeric
    data, bytes for BYTES)."""
    if datatype == "BYTES":
        return encode_bytes_elements(array)
    array = np.ascontiguousarray(array)
    if array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("<"))
    return array.reshape(-1).view(np.uint8)


def encode_bytes_elements(array: np.ndarray) -> bytes:
    """BYTES elements (bytes, or str as UTF-8) each as a 4-byte LE length then its bytes."""
    parts = []
    pack = struct.Struct("<I").pack
    for item in np.asarray(array).reshape(-1).tolist():
        if isinstance(item, str):
            item = item.encode("utf-8", "surrogatepass")
        elif not isinstance(item, bytes):
            item = str(item).encode("utf-8")
        parts.append(pack(len(item)))
        parts.append(item)
    return b"".join(parts)


def _short(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------------------------------------
# HTTP requests

if orjson is not None:

    def _loads(text):
        # orjson for speed; what it refuses (NaN, integers beyond 64 bits, lone surrogates)
        # is parsed again by the stdlib, so both paths accept the same requests.
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return json.loads(text)

    def _dumps(obj) -> bytes:
        return orjson.dumps(obj)

else:
    _loads = json.loads

    def _dumps(obj) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()


def parse_header_length(value) -> int | None:
    """The Inference-Header-Content-Length header (str, int or None) as an int or None."""
    if value is None or _is_int(value):
        return value
    try:
        text = value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else str(value)
        text = text.strip()
        if not text.isdigit():
            raise ValueError
        return int(text)
    except (ValueError, TypeError):
        raise bad_request(f"Inference-Header-Content-Length must be a non-negative integer, got {_short(value)}") from None


def decode_http_request(body: bytes, header_length: int | None) -> InferRequest:
    """The InferRequest of an HTTP infer body. header_length: the Inference-Header-Content-Length
    header (None when absent: the whole body is JSON; 0: a raw binary request)."""
    header_length = parse_header_length(header_length)
    if not isinstance(body, (bytes, bytearray)):
        body = bytes(body)
    has_binary = header_length is not None
    if header_length is None:
        header_length = len(body)
    elif header_length > len(body):
        raise bad_request(f"Inference-Header-Content-Length {header_length} is larger than the body ({len(body)} bytes)")
    elif header_length == 0:
        data = np.frombuffer(body, np.uint8)
        raw = InferInput("", "UINT8", data.shape, data, {"binary_data_size": len(body)})
        return InferRequest(None, [raw], [], {}, raw_binary=True)

    header = _parse_json_header(body, header_length)
    request_id = header.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise bad_request(f"request 'id' must be a string, got {_short(request_id)}")
    parameters = _parameters(header.get("parameters"), "request 'parameters'")
    binary_output = parameters.get("binary_data_output")
    if binary_output is not None and not isinstance(binary_output, bool):
        raise bad_request(f"request parameter 'binary_data_output' must be a boolean, got {_short(binary_output)}")

    inputs_json = header.get("inputs")
    if not isinstance(inputs_json, list) or not inputs_json:
        raise bad_request("request 'inputs' must be a non-empty list of tensors")
    inputs, offset, seen = [], header_length, set()
    for i, tensor in enumerate(inputs_json):
        item, offset = _decode_http_input(tensor, i, body, has_binary, offset)
        if item.name in seen:
            raise bad_request(f"input '{item.name}' is given twice")
        seen.add(item.name)
        inputs.append(item)
    if offset != len(body):
        raise bad_request(f"{len(body) - offset} bytes after the inputs' binary data (binary_data_size sums to {offset - header_length})")
    outputs = decode_requested_outputs(header.get("outputs"), _http_binary_flag)
    return InferRequest(request_id, inputs, outputs, parameters)


def _parse_json_header(body, header_length) -> dict:
    text = body if header_length == len(body) else body[:header_length]
    try:
        header = _loads(text)
    except RecursionError:
        raise bad_request("request JSON is nested too deeply") from None
    except (ValueError, TypeError) as exc:  # JSONDecodeError, UnicodeDecodeError, int digit limit
        raise bad_request(f"request body is not valid JSON: {exc}") from None
    if not isinstance(header, dict):
        raise bad_request(f"request JSON must be an object, got {type(header).__name__}")
    return header


def _parameters(value, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad_request(f"{what} must be an object, got {_short(value)}")
    return value


def _decode_http_input(tensor, index, body, has_binary, offset) -> tuple[InferInput, int]:
    if not isinstance(tensor, dict):
        raise bad_request(f"inputs[{index}] must be an object, got {_short(tensor)}")
    name = tensor.get("name")
    if not isinstance(name, str) or not name:
        raise bad_request(f"inputs[{index}]: 'name' must be a non-empty string, got {_short(name)}")
    for key in ("datatype", "shape"):
        if key not in tensor:
            raise bad_request(f"input '{name}': missing '{key}'")
    row = datatype_row(tensor["datatype"], f"input '{name}'")
    count, shape = check_shape(name, tensor["shape"])
    parameters = _parameters(tensor.get("parameters"), f"input '{name}': 'parameters'")
    if "shared_memory_region" in parameters:
        raise bad_request(f"input '{name}': shared memory is not supported")
    size = parameters.get("binary_data_size")
    if size is None:
        if "data" not in tensor:
            raise bad_request(f"input '{name}': no 'data' and no binary_data_size")
        values = tensor["data"]
        if not isinstance(values, list):
            raise bad_request(f"input '{name}': 'data' must be a JSON array, got {_short(values)}")
        return InferInput(name, row.name, shape, decode_tensor_values(name, row, shape, count, values), parameters), offset
    if "data" in tensor:
        raise bad_request(f"input '{name}': both 'data' and binary_data_size given")
    if not _is_int(size) or size < 0:
        raise bad_request(f"input '{name}': binary_data_size must be a non-negative integer, got {_short(size)}")
    if not has_binary and size > 0:
        raise bad_request(f"input '{name}': binary_data_size {size} but the request has no binary part (Inference-Header-Content-Length missing)")
    if offset + size > len(body):
        raise bad_request(
            f"input '{name}': binary_data_size {size} runs past the end of the body "
            f"({len(body) - offset} bytes left): truncated request"
        )
    data = decode_tensor_bytes(name, row, shape, count, body, offset, size)
    return InferInput(name, row.name, shape, data, parameters), offset + size


def _http_binary_flag(name, parameters):
    binary = parameters.get("binary_data")
    if binary is not None and not isinstance(binary, bool):
        raise bad_request(f"output '{name}': binary_data must be a boolean, got {_short(binary)}")
    return binary


def decode_requested_outputs(outputs_json, binary_flag) -> list[RequestedOutput]:
    """RequestedOutputs from a list of {"name", "parameters"?} (HTTP JSON, or gRPC messages
    turned into dicts); binary_flag(name, parameters) -> bool | None."""
    if outputs_json is None:
        return []
    if not isinstance(outputs_json, list):
        raise bad_request(f"request 'outputs' must be a list, got {_short(outputs_json)}")
    outputs, seen = [], set()
    for i, tensor in enumerate(outputs_json):
        if not isinstance(tensor, dict):
            raise bad_request(f"outputs[{i}] must be an object, got {_short(tensor)}")
        name = tensor.get("name")
        if not isinstance(name, str) or not name:
            raise bad_request(f"outputs[{i}]: 'name' must be a non-empty string, got {_short(name)}")
        if name in seen:
            raise bad_request(f"output '{name}' is requested twice")
        seen.add(name)
        parameters = _parameters(tensor.get("parameters"), f"output '{name}': 'parameters'")
        if parameters.get("classification"):
            raise bad_request(f"output '{name}': classification is not supported")
        if "shared_memory_region" in parameters:
            raise bad_request(f"output '{name}': shared memory is not supported")
        outputs.append(RequestedOutput(name, binary_flag(name, parameters), parameters))
    return outputs


def bind_raw_input(request: InferRequest, name: str, datatype: str, shape) -> InferRequest:
    """A raw binary request (request.raw_binary) bound to the model's only input: `shape` is the
    model's (one dimension may be -1, found from the byte count); BYTES: the whole body is one
    element, of shape [1] * len(shape). Other requests are returned unchanged."""
    if not request.raw_binary:
        return request
    raw = request.inputs[0]
    row = datatype_row(datatype, f"input '{name}'")
    body = raw.data
    if row.name == "BYTES":
        data = np.empty(1, dtype=object)
        data[0] = body.tobytes()
        shape = (1,) * max(len(shape), 1)
        return InferRequest(None, [InferInput(name, "BYTES", shape, data.reshape(shape), {})], request.outputs, request.parameters)
    shape = list(shape)
    variable = [i for i, d in enumerate(shape) if d < 0]
    if len(variable) > 1:
        raise bad_request(f"input '{name}': a raw binary request needs a shape with at most one variable dimension, model has {shape}")
    if variable:
        fixed = int(np.prod([d for d in shape if d >= 0], dtype=np.int64)) * row.itemsize
        if fixed == 0 or body.size % fixed:
            raise bad_request(f"input '{name}': raw binary data of {body.size} bytes does not fit shape {shape} of {row.name}")
        shape[variable[0]] = body.size // fixed
    count, shape = check_shape(name, shape)
    data = decode_tensor_bytes(name, row, shape, count, body, 0, body.size)
    return InferRequest(None, [InferInput(name, row.name, shape, data, {})], request.outputs, request.parameters)


# ---------------------------------------------------------------------------------------------
# HTTP responses


def select_outputs(result: InferResult, request: InferRequest) -> list[tuple[str, np.ndarray, RequestedOutput | None]]:
    """(name, array, requested) for the outputs to send: the requested ones in the request's
    order, or all of the result's. ServeError(400) for a requested output the result lacks."""
    if not request.outputs:
        return [(name, array, None) for name, array in result.outputs]
    arrays = dict(result.outputs)
    chosen = []
    for wanted in request.outputs:
        if wanted.name not in arrays:
            raise bad_request(f"unknown output '{wanted.name}' (the model has {', '.join(arrays) or 'none'})")
        chosen.append((wanted.name, arrays[wanted.name], wanted))
    return chosen


def encode_http_response(result: InferResult, request: InferRequest) -> tuple[bytes, dict[str, str]]:
    """(body, headers) of the HTTP answer. An output is binary when its request says
    binary_data, else when the request's parameters.binary_data_output does; binary outputs
    carry parameters.binary_data_size, follow the JSON in order, and the
    Inference-Header-Content-Length header gives the JSON's length."""
    default_binary = bool(request.parameters.get("binary_data_output", False))
    outputs_json, buffers = [], []
    for name, array, wanted in select_outputs(result, request):
        array = np.asarray(array)
        datatype = v2_datatype(array.dtype)
        entry = {"name": name, "datatype": datatype, "shape": list(array.shape)}
        binary = wanted.binary if wanted is not None and wanted.binary is not None else default_binary
        if binary:
            data = encode_tensor_bytes(array, datatype)
            entry["parameters"] = {"binary_data_size": len(data) if isinstance(data, bytes) else data.nbytes}
            buffers.append(data)
        else:
            entry["data"] = _json_values(name, array, datatype)
        outputs_json.append(entry)
    response = {"model_name": result.model_name, "model_version": result.model_version}
    if result.id is not None:
        response["id"] = result.id
    if result.parameters:
        response["parameters"] = result.parameters
    response["outputs"] = outputs_json
    header = _dumps(response)
    if not buffers:
        return header, {"Content-Type": "application/json"}
    headers = {"Content-Type": "application/octet-stream", "Inference-Header-Content-Length": str(len(header))}
    return b"".join([header, *buffers]), headers


def _json_values(name: str, array: np.ndarray, datatype: str) -> list:
    # A flat list (v2 JSON data is row-major); BF16 and FP16 as the floats they hold exactly.
    flat = array.reshape(-1)
    if datatype == "BYTES":
        values = []
        for item in flat.tolist():
            if isinstance(item, bytes):
                try:
                    item = item.decode("utf-8")
                except UnicodeDecodeError:
                    raise bad_request(f"output '{name}' holds bytes that are not UTF-8; request it with binary_data") from None
            elif not isinstance(item, str):
                item = str(item)
            values.append(item)
        return values
    if datatype == "BF16":
        flat = flat.astype(np.float32)
    return flat.tolist()


def encode_error(error: ServeError) -> tuple[bytes, dict[str, str]]:
    """The {"error": message} body of an error answer (status: error.status)."""
    return _dumps({"error": str(error)}), {"Content-Type": "application/json"}

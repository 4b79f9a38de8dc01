"""padl's packed BNN model file: one versioned, checksummed file per engine.

Layout (little-endian):
    magic      8 bytes  b"PADLBNN\\0"
    version    uint32   FORMAT_VERSION
    header_len uint32   bytes of the JSON header
    data_len   uint64   bytes of the array payload
    sha256     32 bytes of header + payload
    header     JSON: {"input_shape", "meta", "ops": [{"type", scalar fields, arrays by reference}]}
    payload    the arrays, each 8-byte aligned; binary layers' weights as sign bits (1 bit each)

A binary layer's latent weights are stored as their signs only (all the engine uses); they load
back as +-1. Anything wrong with a file raises `ModelFileError` (a ValueError) naming the problem.
"""
from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import fields
from pathlib import Path

import numpy as np

from padl_lib.bnn import engine as ir
from padl_lib.io import write_bytes_atomic

__all__ = ["MAGIC", "FORMAT_VERSION", "ModelFileError", "save", "load", "to_bytes", "from_bytes"]

MAGIC = b"PADLBNN\0"
FORMAT_VERSION = 1
_PREFIX = struct.Struct("<8sIIQ32s")
_OPS = {cls.__name__: cls for cls in ir.OP_TYPES}
_DTYPES = {"float32": np.float32, "bits": np.uint8}


class ModelFileError(ValueError):
    """A padl BNN model file that is not one, is truncated, corrupt or of another version."""


class _Writer:
    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.size = 0

    def add(self, data: bytes) -> int:
        offset = self.size
        pad = (-len(data)) % 8
        self.chunks.append(data + b"\0" * pad)
        self.size += len(data) + pad
        return offset

    def array(self, value: np.ndarray, binary: bool) -> dict:
        if binary:
            data = np.packbits((value < 0).ravel(), bitorder="little").tobytes()
            return {"dtype": "bits", "shape": list(value.shape), "offset": self.add(data), "nbytes": len(data)}
        data = np.ascontiguousarray(value, dtype="<f4").tobytes()
        return {"dtype": "float32", "shape": list(value.shape), "offset": self.add(data), "nbytes": len(data)}


def _encode_op(op: ir.Op, writer: _Writer) -> dict:
    entry: dict = {"type": type(op).__name__}
    for f in fields(op):
        value = getattr(op, f.name)
        if isinstance(op, ir.Residual):
            entry[f.name] = [_encode_op(inner, writer) for inner in value]
        elif isinstance(value, np.ndarray):
            binary = f.name == "weight" and isinstance(op, (ir.BinaryConv2d, ir.BinaryLinear))
            entry[f.name] = {"array": writer.array(value, binary)}
        elif isinstance(value, tuple):
            entry[f.name] = list(value)
        else:
            entry[f.name] = value
    return entry


def to_bytes(engine: ir.Engine) -> bytes:
    """The engine as the bytes of a model file."""
    writer = _Writer()
    header = {"input_shape": list(engine.input_shape) if engine.input_shape else None, "meta": engine.meta,
              "ops": [_encode_op(op, writer) for op in engine.ops]}
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    payload = b"".join(writer.chunks)
    digest = hashlib.sha256(header_bytes + payload).digest()
    return _PREFIX.pack(MAGIC, FORMAT_VERSION, len(header_bytes), len(payload), digest) + header_bytes + payload


def save(engine: ir.Engine, path: str | Path) -> Path:
    """Write `engine` to `path` atomically; return the path."""
    return write_bytes_atomic(path, to_bytes(engine))


def _decode_array(ref: dict, payload: memoryview, where: str) -> np.ndarray:
    try:
        dtype, shape, offset, nbytes = ref["dtype"], [int(v) for v in ref["shape"]], int(ref["offset"]), int(ref["nbytes"])
    except (KeyError, TypeError, ValueError):
        raise ModelFileError(f"malformed array reference in {where}") from None
    count = int(np.prod(shape)) if shape else 1
    expected = (count + 7) // 8 if dtype == "bits" else count * 4
    if dtype not in _DTYPES or nbytes != expected or offset < 0 or offset + nbytes > len(payload):
        raise ModelFileError(f"array of {where} does not fit the file (dtype {dtype!r}, shape {shape})")
    raw = np.frombuffer(payload[offset:offset + nbytes], dtype=np.uint8)
    if dtype == "bits":
        negative = np.unpackbits(raw, count=count, bitorder="little").astype(bool)
        return np.where(negative, np.float32(-1), np.float32(1)).reshape(shape)
    return raw.view("<f4").astype(np.float32).reshape(shape)


def _decode_op(entry: dict, payload: memoryview) -> ir.Op:
    if not isinstance(entry, dict) or entry.get("type") not in _OPS:
        kind = entry.get("type") if isinstance(entry, dict) else entry
        raise ModelFileError(f"unknown op {kind!r} in model file")
    cls = _OPS[entry["type"]]
    kwargs = {}
    for f in fields(cls):
        if f.name not in entry:
            continue
        value = entry[f.name]
        if cls is ir.Residual:
            if not isinstance(value, list):
                raise ModelFileError(f"Residual.{f.name} must be a list of ops")
            value = [_decode_op(inner, payload) for inner in value]
        elif isinstance(value, dict) and "array" in value:
            value = _decode_array(value["array"], payload, f"{cls.__name__}.{f.name}")
        kwargs[f.name] = value
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"invalid {cls.__name__} in model file: {exc}") from None


def from_bytes(data: bytes) -> ir.Engine:
    """An engine from the bytes of a model file (checked: magic, version, sizes, checksum)."""
    if len(data) < len(MAGIC) or data[:len(MAGIC)] != MAGIC:
        raise ModelFileError("not a padl BNN model file (bad magic bytes)")
    if len(data) < _PREFIX.size:
        raise ModelFileError("model file is truncated (incomplete header)")
    _, version, header_len, data_len, digest = _PREFIX.unpack_from(data)
    if version != FORMAT_VERSION:
        raise ModelFileError(f"model file has format version {version}; this padl reads version {FORMAT_VERSION}")
    body = memoryview(data)[_PREFIX.size:]
    if len(body) < header_len + data_len:
        raise ModelFileError(f"model file is truncated ({len(body)} of {header_len + data_len} bytes after the header)")
    if len(body) > header_len + data_len:
        raise ModelFileError("model file has trailing bytes after its payload")
    if hashlib.sha256(body).digest() != digest:
        raise ModelFileError("model file is corrupt (checksum mismatch)")
    try:
        header = json.loads(bytes(body[:header_len]).decode("utf-8"))
        ops = header["ops"]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
        raise ModelFileError("model file header is malformed") from None
    if not isinstance(ops, list):
        raise ModelFileError("model file header is malformed (ops must be a list)")
    payload = body[header_len:]
    try:
        engine = ir.Engine([_decode_op(entry, payload) for entry in ops], header.get("input_shape"), header.get("meta"))
        if engine.input_shape is not None:
            engine.check()
    except ModelFileError:
        raise
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"model file describes an invalid engine: {exc}") from None
    return engine


def load(path: str | Path) -> ir.Engine:
    """Read an engine written by `Engine.save`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no BNN model file at {path}")
    return from_bytes(path.read_bytes())

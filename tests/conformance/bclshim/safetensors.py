"""Minimal safetensors writer / reader (F32, and the integer and bool dtypes of
buffers), written from the format description: u64 little-endian header length, JSON
header, raw data."""
import json
import struct

import numpy as np


_CODES = {"int64": ("I64", "<i8"), "int32": ("I32", "<i4"), "int16": ("I16", "<i2"), "int8": ("I8", "i1"),
          "uint8": ("U8", "u1"), "bool": ("BOOL", "?")}


def save(path, tensors, metadata=None):
    """tensors: list of (name, ndarray), kept in this order on disk; integer and bool
    arrays keep their dtype (an index buffer), everything else is written as F32."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    blobs = []
    for name, arr in tensors:
        code = _CODES.get(np.asarray(arr).dtype.name, ("F32", "<f4"))
        a = np.ascontiguousarray(arr, dtype=code[1])
        data = a.tobytes()
        header[name] = {"dtype": code[0], "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * (-len(hb) % 8)   # keep the data 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)


def load(path):
    """{name: ndarray} in header order (F32, or the integer and bool dtypes save writes)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = {"F32": "<f4"}.get(info["dtype"]) or next(c[1] for c in _CODES.values() if c[0] == info["dtype"])
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(raw[base + a:base + b], dtype=dt).reshape(info["shape"]).copy()
    return out

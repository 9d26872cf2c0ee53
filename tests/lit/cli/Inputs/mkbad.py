"""Writes one bad (or oddly shaped but valid) input file for the bclc CLI lit tests.

usage: mkbad.py KIND OUT

Safetensors files are written by hand (json + struct) so that every field can be
wrong; the tensors are the digits example's, so the valid ones run that model."""
import io
import json
import os
import pickle
import struct
import sys
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DIGITS = os.path.join(HERE, "..", "..", "..", "..", "examples", "digits")


def digits_tensors():
    """The digits weights as an ordered list of (name, float32 array)."""
    raw = open(os.path.join(DIGITS, "digits.safetensors"), "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = []
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        out.append((name, np.frombuffer(data[b:end], "<f4").reshape(e["shape"]).copy()))
    return out


def st_bytes(header, data, header_text=None):
    """A safetensors file: u64 little-endian header length, JSON header, data."""
    h = (header_text if header_text is not None else json.dumps(header)).encode()
    return struct.pack("<Q", len(h)) + h + data


def st_of(tensors, dtype="F32"):
    """A well-formed safetensors file of (name, array) pairs."""
    np_dtype = {"F32": "<f4", "F16": "<f2", "F64": "<f8"}[dtype]
    header, data = {}, b""
    for name, a in tensors:
        blob = np.ascontiguousarray(a, np_dtype).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    return st_bytes(header, data)


def one(dtype="F32", shape=(4,), offsets=(0, 16), data=b"\0" * 16, name="w"):
    return st_bytes({name: {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}}, data)


def npy(header_dict_text, data, magic=b"\x93NUMPY", version=b"\x01\x00"):
    """A .npy file with a header text of our choosing (padded as NumPy does)."""
    h = header_dict_text.encode("latin1")
    pad = 64 - (10 + len(h) + 1) % 64
    h = h + b" " * (pad % 64) + b"\n"
    return magic + version + struct.pack("<H", len(h)) + h + data


def npy_of(a):
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=True)
    return buf.getvalue()


def sample():
    return np.load(os.path.join(DIGITS, "sample_3.npy"))


def make(kind):
    t = digits_tensors()
    good = st_of(t)
    # --- safetensors: malformed / hostile
    if kind == "st-empty":
        return b""
    if kind == "st-short":
        return b"\x10\0\0"
    if kind == "st-hdrlen-huge":
        return struct.pack("<Q", 1 << 63) + b"{}"
    if kind == "st-hdrlen-past-eof":
        return struct.pack("<Q", 1000) + b'{"w": {}}'
    if kind == "st-not-json":
        return st_bytes(None, b"", header_text="this is not json")
    if kind == "st-json-list":
        return st_bytes(None, b"", header_text="[1, 2, 3]")
    if kind == "st-json-trailing":
        return st_bytes(None, b"", header_text='{"w": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}} x')
    if kind == "st-offsets-oob":
        return one(offsets=(0, 1 << 40))
    if kind == "st-offsets-reversed":
        return one(offsets=(16, 0))
    if kind == "st-size-mismatch":
        return one(shape=(5,))
    if kind == "st-overlap":
        return st_bytes({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                         "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}, b"\0" * 24)
    if kind == "st-bad-dtype":
        return one(dtype="C64", shape=(2,))
    if kind == "st-dtype-not-string":
        return one(dtype=7)
    if kind == "st-huge-shape":
        return one(shape=(1 << 40, 1 << 40, 1 << 40))
    if kind == "st-negative-dim":
        return one(shape=(-4,))
    if kind == "st-rank-9":
        return one(shape=(1,) * 8 + (4,))
    if kind == "st-missing-field":
        return st_bytes({"w": {"dtype": "F32", "shape": [4]}}, b"\0" * 16)
    if kind == "st-duplicate-key":
        e = '{"dtype": "F32", "shape": [4], "data_offsets": [%d, %d]}'
        return st_bytes(None, b"\0" * 32, header_text='{"w": %s, "w": %s}' % (e % (0, 16), e % (16, 32)))
    if kind == "st-truncated":
        return good[: len(good) - 1000]
    if kind == "st-deep-json":
        return st_bytes(None, b"", header_text="[" * 100000 + "]" * 100000)
    # --- other formats
    if kind == "pickle":  # what torch.save(..., _use_new_zipfile_serialization=False) / MegEngine write
        return pickle.dumps({n: a for n, a in t}, protocol=2)
    if kind == "pth-zip":  # the layout of torch.save's zip archives
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("archive/data.pkl", pickle.dumps({"x": 1}, protocol=2))
            z.writestr("archive/version", "3\n")
        return buf.getvalue()
    if kind == "npz":
        buf = io.BytesIO()
        np.savez(buf, **{n: a for n, a in t})
        return buf.getvalue()
    if kind == "npz-compressed":
        buf = io.BytesIO()
        np.savez_compressed(buf, **{n: a for n, a in t})
        return buf.getvalue()
    if kind == "npz-flipped":  # one data bit of a stored entry changed: only the CRC shows it
        buf = io.BytesIO()
        np.savez(buf, **{n: a for n, a in t})
        b = bytearray(buf.getvalue())
        b[b.index(b"head.fc.bias.npy") + len("head.fc.bias.npy") + 128 + 4] ^= 0x40
        return bytes(b)
    if kind == "npz-object":
        buf = io.BytesIO()
        np.savez(buf, w=np.array([{"a": 1}], dtype=object))
        return buf.getvalue()
    if kind == "zip-garbage":
        return b"PK\x03\x04" + b"\xff" * 40
    # --- safetensors: valid files that do not fit the model
    if kind == "st-missing-key":
        return st_of([(n, a) for n, a in t if n != "head.fc.bias"])
    if kind == "st-unexpected-key":
        return st_of(t + [("head.extra.weight", np.zeros((3,), np.float32))])
    if kind == "st-shape-mismatch":
        return st_of([(n, a[:, :32] if n == "head.fc.weight" else a) for n, a in t])
    if kind == "st-all-wrong":
        return st_of([(n, a) for n, a in t if n != "head.fc.bias"] + [("head.extra.weight", np.zeros((3,), np.float32))])
    if kind == "st-megengine":  # MegEngine's layouts: BN tensors and biases (1, C, 1, 1)
        return st_of([(n, a.reshape(1, -1, 1, 1) if n.startswith("features.") and a.ndim == 1 else a) for n, a in t]
                     + [("features.1.num_batches_tracked", np.zeros((1,), np.float32))])
    if kind == "st-scaled":  # valid, other values: the head's weights times 1.5
        return st_of([(n, a * 1.5 if n == "head.fc.weight" else a) for n, a in t])
    if kind == "st-f16":
        return st_of(t, "F16")
    if kind == "st-f64":
        return st_of(t, "F64")
    # --- .npy inputs
    x = sample()
    if kind == "npy-empty":
        return b""
    if kind == "npy-bad-magic":
        return b"\x93NUMPX\x01\x00" + b"\0" * 100
    if kind == "npy-bad-header":
        return npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 8, 8), ", b"\0" * 256)
    if kind == "npy-header-not-dict":
        return npy("[1, 2, 3]", b"")
    if kind == "npy-version-9":
        return npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 8, 8), }", b"\0" * 256, version=b"\x09\x00")
    if kind == "npy-header-truncated":
        return npy_of(x)[:30]
    if kind == "npy-truncated":
        return npy_of(x)[:-4]
    if kind == "npy-huge-shape":
        return npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 4294967296, 4294967296), }", b"\0" * 16)
    if kind == "npy-overflow-shape":
        return npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776, 1099511627776, 1), }", b"")
    if kind == "npy-big-endian":
        return npy_of(x.astype(">f4"))
    if kind == "npy-fortran":
        return npy_of(np.asfortranarray(np.tile(x, (2, 1, 1, 1))))
    if kind == "npy-object":
        return npy_of(np.array([[1, "a"]], dtype=object))
    if kind == "npy-complex":
        return npy_of(x.astype(np.complex64))
    if kind == "npy-f64":
        return npy_of(x.astype(np.float64))
    if kind == "npy-f16":
        return npy_of(x.astype(np.float16))
    if kind == "npy-int":  # the digits in sklearn's 0..16 ints: a different image, still valid
        return npy_of((x * 16).round().astype(np.int64))
    if kind == "npy-uint8":
        return npy_of((x * 16).round().astype(np.uint8))
    if kind == "npy-bool":
        return npy_of(x > 0.5)
    if kind == "npy-3ch":
        return npy_of(np.tile(x, (1, 3, 1, 1)))
    if kind == "npy-rank3":
        return npy_of(x[0])
    if kind == "npy-rank2":
        return npy_of(x[0, 0])
    if kind == "npy-rank5":
        return npy_of(x[None])
    if kind == "npy-rank0":
        return npy_of(np.float32(1.0))
    if kind == "npy-zero-batch":
        return npy_of(x[:0])
    if kind == "npy-batch2":
        return npy_of(np.concatenate([x, x]))
    if kind == "npy-tiny-image":  # 1x1 pixels: the stride-2 convs still fit, pooling sees 1x1
        return npy_of(x[:, :, :1, :1])
    raise SystemExit("mkbad.py: unknown kind '%s'" % kind)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    with open(sys.argv[2], "wb") as f:
        f.write(make(sys.argv[1]))

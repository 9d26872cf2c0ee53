"""usage: intbuf_ckpt.py KIND OUT: writes a checkpoint for Inputs/intbuf.py's IdxNet.
KIND: st-i64 (PyTorch's dtypes: an int64 index, bool mask), pkl-i32 (MegEngine's .pkl:
numpy int32 index), st-f32 (every entry float32, whole numbers), st-frac (an index of
2.5), st-big (an int64 index of 2^40), st-boolidx (a bool index), st-mask2 (a mask
holding 2), st-perm (another permutation, int64)."""
import json
import pickle
import struct
import sys

import numpy as np

kind, out = sys.argv[1], sys.argv[2]
scale = np.full((4,), 2.0, dtype=np.float32)
index = np.array([3, 2, 1, 0], dtype=np.int64)
keep = np.array([True, False, True, True])
if kind == "st-perm":
    index = np.array([0, 1, 2, 3], dtype=np.int64)
elif kind == "st-f32":
    index, keep = index.astype(np.float32), keep.astype(np.float32)
elif kind == "st-frac":
    index = np.array([3, 2.5, 1, 0], dtype=np.float32)
elif kind == "st-big":
    index = np.array([3, 2, 1, 2 ** 40], dtype=np.int64)
elif kind == "st-boolidx":
    index = np.array([True, False, True, False])
elif kind == "st-mask2":
    keep = np.array([1, 0, 2, 1], dtype=np.int32)
sd = {"scale": scale, "index": index, "keep": keep}

if kind == "pkl-i32":
    sd["index"] = index.astype(np.int32)
    with open(out, "wb") as f:
        pickle.dump(sd, f, protocol=4)
    sys.exit(0)

codes = {"float32": ("F32", "<f4"), "int64": ("I64", "<i8"), "int32": ("I32", "<i4"), "bool": ("BOOL", "?")}
header, blobs, off = {}, [], 0
for k, a in sd.items():
    code, dt = codes[a.dtype.name]
    b = np.ascontiguousarray(a, dtype=dt).tobytes()
    header[k] = {"dtype": code, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
    off += len(b)
    blobs.append(b)
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
with open(out, "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))

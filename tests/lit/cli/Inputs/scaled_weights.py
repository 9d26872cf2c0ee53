"""usage: scaled_weights.py OUT SEED: writes random weights for Inputs/scaled.bcl
(fc.weight [10, 64], fc.bias [10], gamma [10]) as a safetensors file; each seed gives
a file of the same size."""
import json
import struct
import sys

import numpy as np

out, seed = sys.argv[1], int(sys.argv[2])
rs = np.random.RandomState(seed)
tensors = [("fc.weight", rs.uniform(-0.2, 0.2, (10, 64))), ("fc.bias", rs.uniform(-1, 1, (10,))),
           ("gamma", rs.uniform(0.5, 1.5, (10,)))]
header, data, at = {}, b"", 0
for name, a in tensors:
    raw = a.astype("<f4").tobytes()
    header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [at, at + len(raw)]}
    data += raw
    at += len(raw)
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
with open(out, "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + data)

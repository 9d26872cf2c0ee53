"""nan.test: writes weights with NaN and infinities and an input, or compares bclc's
output with PyTorch's (NaN where PyTorch has NaN: ReLU of NaN is NaN).

usage: nan_check.py write DIR | nan_check.py compare DIR OUT.npy
"""
import json
import struct
import sys

import numpy as np
import torch


def weights():
    w = np.array([[np.nan, 1, 1, 1],      # NaN -> NaN through ReLU
                  [np.inf, 0, 0, 0],      # inf -> inf
                  [-1, -1, -1, -1],       # negative -> 0
                  [1, 2, 3, 4]], dtype=np.float32)
    b = np.array([0, 0, 0, -np.inf], dtype=np.float32)   # -inf -> 0
    return w, b


def main():
    d = sys.argv[2]
    w, b = weights()
    x = np.array([[0.5, 1.0, 1.5, 2.0]], dtype=np.float32)
    if sys.argv[1] == "write":
        header = {"fc.weight": {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 64]},
                  "fc.bias": {"dtype": "F32", "shape": [4], "data_offsets": [64, 80]}}
        h = json.dumps(header).encode()
        with open(d + "/nan.safetensors", "wb") as f:
            f.write(struct.pack("<Q", len(h)) + h + w.tobytes() + b.tobytes())
        np.save(d + "/x.npy", x)
        return
    y = np.load(sys.argv[3])
    ref = torch.relu(torch.nn.functional.linear(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b))).numpy()
    print("bclc", " ".join(map(str, y.ravel())), "torch", " ".join(map(str, ref.ravel())), "equal",
          np.array_equal(y, ref, equal_nan=True))


if __name__ == "__main__":
    main()

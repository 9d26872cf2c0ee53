"""Writes files bclc must recognise and name rather than misread as safetensors:
PREFIX.onnx (torch.onnx.export), PREFIX.ts.pt and PREFIX.traced.pt (torch.jit.save),
PREFIX.h5 (an HDF5 signature), and arrays PREFIX.nhwc.npy / PREFIX.c3.npy of the
digits sample in the wrong layout / with three channels."""
import sys

import numpy as np
import torch

prefix, sample = sys.argv[1], sys.argv[2]
m = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU())
x = torch.zeros(1, 1, 8, 8)
torch.onnx.export(m, x, prefix + ".onnx")
torch.jit.script(m).save(prefix + ".ts.pt")
torch.jit.trace(m, x).save(prefix + ".traced.pt")
with open(prefix + ".h5", "wb") as f:
    f.write(b"\x89HDF\r\n\x1a\n" + bytes(64))
a = np.load(sample)
np.save(prefix + ".nhwc.npy", np.ascontiguousarray(a.transpose(0, 2, 3, 1)))
np.save(prefix + ".c3.npy", np.zeros((2, 3, 8, 8), np.float32))

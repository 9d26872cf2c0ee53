#!/usr/bin/python3
"""A stand-in for bclc built on the shim (`run` and `params` only), used to test
the conformance runner itself; it also checks that the MegEngine-layout weight
file holds the same elements as the PyTorch one.

  shim_bclc.py run FILE --weights W --input X --output Y [-o k=v]...
  shim_bclc.py params FILE [-o k=v]...
BCL_SHIM_FAULT=scale|params makes it wrong on purpose (runner self-test).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from bclshim import build_from_file  # noqa: E402
from bclshim import safetensors  # noqa: E402
from bclshim.reference import entries, params_text  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["run", "params"])
    ap.add_argument("file")
    ap.add_argument("--weights")
    ap.add_argument("--input")
    ap.add_argument("--output")
    ap.add_argument("--input-shape")   # shapes do not depend on it in the shim
    ap.add_argument("-o", dest="overrides", action="append", default=[])
    a = ap.parse_args(argv)
    fault = os.environ.get("BCL_SHIM_FAULT", "")
    model, _ = build_from_file(a.file, a.overrides)
    if a.cmd == "params":
        text = params_text(model)
        if fault == "params":
            text = text.replace("weight", "wieght", 1)
        sys.stdout.write(text)
        return 0
    w = safetensors.load(a.weights)
    ents = entries(model)
    keys = [k for k, _, _, _ in ents]
    if sorted(w) != sorted(keys):
        print(f"error: weight keys differ: {sorted(set(w) ^ set(keys))}", file=sys.stderr)
        return 1
    for k, t, _, _ in ents:
        if w[k].size != t.numel():
            print(f"error: {k}: {w[k].shape} does not fit {tuple(t.shape)}", file=sys.stderr)
            return 1
        t.copy_(torch.from_numpy(w[k].reshape(tuple(t.shape))))
    y = model(torch.from_numpy(np.load(a.input))).numpy()
    if fault == "scale":
        y = y * 1.01 + 0.01
    np.save(a.output, y)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Writes the PyTorch reference for one .bcl model into a directory:
weights.safetensors (PyTorch layouts), weights_mge.safetensors (MegEngine
layouts), input.npy, expected.npy, params.txt.

usage: gen_reference.py MODEL.bcl --out DIR --input-shape N,C,H,W [--seed S]
                        [-o key=value]... [--cfg NAME] [-I DIR]...
Run with Debian's /usr/bin/python3 (torch, numpy).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bclshim import build_from_file  # noqa: E402
from bclshim.reference import write_case  # noqa: E402
from bclshim.registry import ShimError  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--out", required=True)
    ap.add_argument("--input-shape", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", dest="overrides", action="append", default=[])
    ap.add_argument("--cfg", default="_cfg")
    ap.add_argument("-I", dest="include", action="append", default=[])
    a = ap.parse_args(argv)
    shape = tuple(int(v) for v in a.input_shape.split(","))
    os.makedirs(a.out, exist_ok=True)
    try:
        model, _ = build_from_file(a.model, a.overrides, a.cfg, a.include)
    except ShimError as e:
        print(f"{a.model}: error: {e}", file=sys.stderr)
        return 1
    y = write_case(model, shape, a.seed, a.out, {"model": os.path.basename(a.model)})
    print(f"{a.model}: output {tuple(y.shape)}, max|y| = {abs(y).max():.4g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

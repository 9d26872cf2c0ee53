#!/usr/bin/env python3
"""Held-out accuracy of the digits example as computed by bclc.

    python3 tools/digits_accuracy.py --bclc build/bclc [-- EXTRA BCLC ARGS]

Runs `bclc run examples/digits/digits.bcl --weights examples/digits/digits.safetensors
--input examples/digits/heldout.npy --output TMP.npy`, takes the argmax of each row of
logits and compares it with examples/digits/heldout_labels.txt. Needs only the standard
library. With --torch (and Debian's /usr/bin/python3, which has torch), it also runs the
same file and weights in PyTorch (see tools/train_digits.py) and reports the largest
difference between the two sets of logits. Exit status: 0 on success, 1 if bclc fails,
its output is malformed, or (with --torch) the logits differ beyond tolerance.
"""

import argparse
import array
import ast
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EX = os.path.join(ROOT, "examples", "digits")


def read_npy_f32(path):
    """A float32 C-order .npy file as (shape, flat array('f')); the format's v1-v3 headers."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:6] != b"\x93NUMPY":
        raise ValueError(f"{path}: not a .npy file")
    major = raw[6]
    if major == 1:
        hlen, start = int.from_bytes(raw[8:10], "little"), 10
    elif major in (2, 3):
        hlen, start = int.from_bytes(raw[8:12], "little"), 12
    else:
        raise ValueError(f"{path}: unknown .npy version {major}")
    header = ast.literal_eval(raw[start:start + hlen].decode("latin1"))
    descr, fortran, shape = header["descr"], header["fortran_order"], tuple(header["shape"])
    if descr not in ("<f4", ">f4") or fortran:
        raise ValueError(f"{path}: expected C-order float32, got {descr} fortran={fortran}")
    data = array.array("f")
    data.frombytes(raw[start + hlen:])
    if (descr == ">f4") == (sys.byteorder == "little"):
        data.byteswap()
    count = 1
    for d in shape:
        count *= d
    if len(data) != count:
        raise ValueError(f"{path}: {len(data)} values for shape {shape}")
    return shape, data


def argmax_rows(shape, data):
    if len(shape) != 2:
        raise ValueError(f"expected N x classes logits, got shape {shape}")
    n, k = shape
    return [max(range(k), key=lambda j: data[i * k + j]) for i in range(n)]


def torch_logits():
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import numpy as np
    import torch
    import train_digits
    model = train_digits.load_trained_model(os.path.join(EX, "digits.safetensors"))
    x = torch.from_numpy(np.load(os.path.join(EX, "heldout.npy")))
    with torch.no_grad():
        return model(x).numpy()


def main():
    ap = argparse.ArgumentParser(description="Held-out accuracy of examples/digits by bclc.")
    ap.add_argument("--bclc", default=os.path.join(ROOT, "build", "bclc"),
                    help="path of the bclc binary (default: %(default)s)")
    ap.add_argument("--torch", action="store_true",
                    help="also compare bclc's logits with PyTorch's (needs torch)")
    ap.add_argument("extra", nargs="*", help="extra bclc arguments, after --")
    args = ap.parse_args()

    with open(os.path.join(EX, "heldout_labels.txt")) as f:
        labels = [int(line) for line in f if line.strip()]

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "logits.npy")
        cmd = [args.bclc, "run", os.path.join(EX, "digits.bcl"),
               "--weights", os.path.join(EX, "digits.safetensors"),
               "--input", os.path.join(EX, "heldout.npy"), "--output", out] + args.extra
        try:
            proc = subprocess.run(cmd)
        except OSError as e:
            print(f"error: cannot run {args.bclc}: {e.strerror} (build it, or pass --bclc)",
                  file=sys.stderr)
            return 1
        if proc.returncode != 0:
            print(f"error: bclc exited with status {proc.returncode}: {' '.join(cmd)}",
                  file=sys.stderr)
            return 1
        shape, logits = read_npy_f32(out)

    if len(shape) != 2 or shape[0] != len(labels) or shape[1] != 10:
        print(f"error: expected logits of shape ({len(labels)}, 10), got {shape}",
              file=sys.stderr)
        return 1
    pred = argmax_rows(shape, logits)
    wrong = [i for i, (p, t) in enumerate(zip(pred, labels)) if p != t]
    n, ok = len(labels), len(labels) - len(wrong)
    print(f"accuracy: {ok}/{n} = {100.0 * ok / n:.2f}%")
    if wrong:
        print("misclassified: " + ", ".join(f"#{i} ({labels[i]} as {pred[i]})" for i in wrong))

    if args.torch:
        ref = torch_logits()
        ref_pred = ref.argmax(1).tolist()
        diff = max(abs(logits[i * 10 + j] - float(ref[i, j]))
                   for i in range(n) for j in range(10))
        scale = float(abs(ref).max())
        tol = 1e-4 + 1e-3 * scale     # the conformance tests' tolerance
        agree = sum(p == q for p, q in zip(pred, ref_pred))
        print(f"torch: accuracy {sum(p == t for p, t in zip(ref_pred, labels))}/{n}, "
              f"same prediction on {agree}/{n}, max |bclc - torch| = {diff:.3g} "
              f"(tolerance {tol:.3g})")
        if diff > tol:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

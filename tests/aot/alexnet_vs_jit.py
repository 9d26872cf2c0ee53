"""examples/aot/run_alexnet (AlexNet, --random-weights 1, weights in a blob): built
here (bclc compile --weights-out, then plain cc) and run against `bclc run --engine
jit` on the same fixed input: the logits agree within 1e-4 relative and the printed
top-5 classes are the JIT's. The 240 MB blob is removed afterwards.
Run by ctest (aot_alexnet_example); needs /usr/bin/python3 with numpy."""
import os
import re
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aotlib import parse_args, run  # noqa: E402

args = parse_args(__doc__.splitlines()[0])
W = args.workdir
model = os.path.join(args.root, "examples", "alexnet.bcl")
blob, obj, exe = (os.path.join(W, f) for f in ("alexnet.bin", "alexnet.o", "run_alexnet"))

run([args.bclc, "compile", model, "--random-weights", "1", "--name", "alexnet", "--weights-out", blob,
     "--output", obj, "--header", os.path.join(W, "alexnet.h")])
run([args.cc, *args.cflags.replace(";", " ").split(), "-I", W, "-I", os.path.join(args.root, "examples", "aot"),
     "-o", exe, os.path.join(args.root, "examples", "aot", "run_alexnet.c"), obj, args.bclrt, "-lm", "-lpthread"])
print(f"alexnet.o {os.path.getsize(obj)} bytes, alexnet.bin {os.path.getsize(blob)} bytes")

# run_alexnet's built-in fixed image, rebuilt here: x[i] = ((i * 7919) % 255) / 255 - 0.5
i = np.arange(3 * 224 * 224, dtype=np.int64)
x = (((i * 7919) % 255).astype(np.float32) / np.float32(255.0) - np.float32(0.5)).reshape(1, 3, 224, 224)
x_path, aot_path, jit_path = (os.path.join(W, f) for f in ("x.npy", "aot.f32", "jit.npy"))
np.save(x_path, x)

r = subprocess.run([exe, blob], capture_output=True, text=True)   # the built-in image
r2 = subprocess.run([exe, blob, x_path, aot_path], capture_output=True, text=True)
os.remove(blob)
if r.returncode or r2.returncode:
    sys.exit(f"FAILED: run_alexnet: {r.stderr}{r2.stderr}")
if r.stdout != r2.stdout:
    sys.exit(f"FAILED: the built-in image and its .npy give different output:\n{r.stdout}\n{r2.stdout}")
j = subprocess.run([args.bclc, "run", model, "--random-weights", "1", "--engine", "jit", "--input", x_path,
                    "--output", jit_path], capture_output=True, text=True)
if j.returncode:
    sys.exit(f"FAILED: bclc run --engine jit: {j.stderr}")
ref = np.load(jit_path).reshape(-1)
y = np.fromfile(aot_path, dtype=np.float32)
failures = []
if y.shape != ref.shape:
    sys.exit(f"FAILED: {y.shape} logits, the JIT gives {ref.shape}")
scale = np.abs(ref).max()
err = np.abs(y - ref).max()
print(f"max |aot - jit| = {err:.3g} (max |jit| {scale:.3g})")
if not err <= 1e-4 * scale or scale == 0:
    failures.append(f"logits differ beyond 1e-4 relative: {err} vs scale {scale}")
printed = [int(m) for m in re.findall(r"^top\d class (\d+) ", r.stdout, re.M)]
expect = [int(k) for k in np.argsort(-ref, kind="stable")[:5]]
if printed != expect:
    failures.append(f"top-5 printed {printed}, the JIT's {expect}")
if failures:
    sys.exit("FAIL\n" + "\n".join(failures))
print(r.stdout, end="")
print("PASS")

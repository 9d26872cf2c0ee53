"""bclc compile against the JIT: an object gives the JIT's output bit for bit for
the same target CPU (native; x86-64-v3 and x86-64 through BCL_JIT_TARGET_CPU) and
thread count; objects for x86-64-v3 (AVX2) and baseline x86-64 (SSE2) run here
and agree with the host JIT within float tolerance; every undefined symbol of an
object is libbclrt.a's or libc/libm's.
Run by ctest (aot_vs_jit); needs /usr/bin/python3 with numpy."""
import glob
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aotlib import parse_args, run  # noqa: E402

args = parse_args(__doc__.splitlines()[0])
W = args.workdir
failures = []



def defined_symbols(path, dynamic=False):
    out = run(["nm", "-D" if dynamic else "-g", "--defined-only", path])
    return {line.split()[-1].split("@")[0] for line in out.splitlines() if len(line.split()) >= 3}


libc_syms = set()
for lib in ("/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/libm.so.6"):
    if os.path.exists(lib):
        libc_syms |= defined_symbols(lib, dynamic=True)
rt_syms = defined_symbols(args.bclrt)


def compile_model(tag, model_args, cpu):
    obj, hdr, exe = (os.path.join(W, f"{tag}.{e}") for e in ("o", "h", "exe"))
    # the harness includes "model.h": one directory per object
    d = os.path.join(W, tag)
    os.makedirs(d, exist_ok=True)
    hdr = os.path.join(d, "model.h")
    run([args.bclc, "compile", *model_args, "--name", "model", "--threads", "2", "--target-cpu", cpu,
         "--output", obj, "--header", hdr])
    undefined = {l.split()[-1] for l in run(["nm", "-u", obj]).splitlines() if l.strip()}
    stray = sorted(s for s in undefined if s not in rt_syms and s not in libc_syms)
    if stray or not libc_syms:
        failures.append(f"{tag}: undefined symbols outside libbclrt/libc/libm: {stray}")
    run([args.cc, *args.cflags.replace(";", " ").split(), "-I", d, "-I", os.path.join(args.root, "examples", "aot"), "-o", exe,
         os.path.join(args.root, "tests", "aot", "aot_harness.c"), obj, args.bclrt, "-lm", "-lpthread"])
    return exe


def aot_output(exe, x_path, shape):
    out = os.path.join(W, "y.f32")
    run([exe, x_path, out])
    return np.fromfile(out, dtype=np.float32).reshape(shape)


def jit_output(model_args, x_path, cpu=None):
    out = os.path.join(W, "jit.npy")
    env = dict(os.environ)
    env.pop("BCL_JIT_TARGET_CPU", None)
    # An object runs the whole batch in each step; the JIT may lower a batch of
    # independent images for one image and run it per image (sub-batching, plan.c),
    # which sums a few dot products in another order: compare like with like.
    env["BCL_JIT_SUB_BATCH"] = "0"
    if cpu:
        env["BCL_JIT_TARGET_CPU"] = cpu
    r = subprocess.run([args.bclc, "run", *model_args, "--engine", "jit", "--threads", "2", "--input", x_path,
                        "--output", out], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit(f"FAILED: bclc run (JIT, cpu {cpu}): {r.stderr}")
    return np.load(out)


root = args.root
cases = [
    ("digits", [os.path.join(root, "examples/digits/digits.bcl"), "--input-shape", "1,1,8,8",
                "--weights", os.path.join(root, "examples/digits/digits.safetensors")],
     os.path.join(root, "examples/digits/sample_3.npy")),
    ("resnet_basic", [os.path.join(root, "tests/conformance/models/resnet_basic.bcl"), "--input-shape", "2,3,32,32",
                      "--random-weights", "7"], None),
]
# every conformance model (its first configuration), native only: bit for bit
for path in sorted(glob.glob(os.path.join(root, "tests/conformance/models/*.bcl"))):
    lines = [l.split(":", 1)[1].split() for l in open(path) if l.startswith("# conformance:")]
    if not lines:
        continue   # an error case (# conformance-error:)
    a = lines[0]
    if "--name" in a:
        i = a.index("--name")
        a = a[:i] + a[i + 2:]
    cases.append(("conf_" + os.path.basename(path)[:-4], [path, *a, "--random-weights", "5"], None))

for tag, margs, x_path in cases:
    if x_path is None:
        x_path = os.path.join(W, f"{tag}_x.npy")
        shape = [int(s) for s in margs[margs.index("--input-shape") + 1].split(",")]
        np.save(x_path, np.random.default_rng(3).standard_normal(shape).astype(np.float32))
    ref = jit_output(margs, x_path)
    for cpu in ("native",) if tag.startswith("conf_") else ("native", "x86-64-v3", "x86-64"):
        y = aot_output(compile_model(f"{tag}_{cpu}", margs, cpu), x_path, ref.shape)
        if cpu == "native":
            if not np.array_equal(y.view(np.uint32), ref.view(np.uint32)):
                failures.append(f"{tag} native: AOT differs from the JIT, max |diff| {np.abs(y - ref).max()}")
        else:
            tol = 1e-4 * (1 + np.abs(ref))
            if not (np.abs(y - ref) <= tol).all():
                failures.append(f"{tag} {cpu}: max |diff| {np.abs(y - ref).max()} beyond 1e-4 (1 + |ref|)")
        print(f"{tag} {cpu}: max |aot - jit| = {np.abs(y - ref).max():.3g}")
        if cpu != "native":   # the JIT for the same CPU level: bit for bit
            ref_cpu = jit_output(margs, x_path, cpu)
            if not np.array_equal(y.view(np.uint32), ref_cpu.view(np.uint32)):
                failures.append(f"{tag} {cpu}: AOT differs from the JIT for {cpu}, "
                                f"max |diff| {np.abs(y - ref_cpu).max()}")

# a sanity check that the comparison can fail: other weights give other outputs
other = aot_output(compile_model("digits_other", cases[0][1][:3] + ["--random-weights", "1"], "native"),
                   cases[0][2], (1, 10))
if np.array_equal(other, jit_output(cases[0][1], cases[0][2])):
    failures.append("random weights gave the trained model's output")

# --weights-out: the same code reading the weights from a blob gives the embedded
# object's output bit for bit; a missing, truncated or corrupt blob, or one of
# another compile, makes create fail with a reason
d = os.path.join(W, "blob")
os.makedirs(d, exist_ok=True)
bobj, blob, bexe = (os.path.join(W, f) for f in ("blob.o", "digits.bin", "blob.exe"))
run([args.bclc, "compile", *cases[0][1], "--name", "model", "--threads", "2", "--target-cpu", "native",
     "--weights-out", blob, "--output", bobj, "--header", os.path.join(d, "model.h")])
run([args.cc, *args.cflags.replace(";", " ").split(), "-I", d, "-I", os.path.join(args.root, "examples", "aot"), "-o",
     bexe, os.path.join(args.root, "tests", "aot", "aot_blob_harness.c"), bobj, args.bclrt, "-lm", "-lpthread"])
if "MODEL_WEIGHTS_EXTERNAL 1" not in open(os.path.join(d, "model.h")).read():
    failures.append("--weights-out: the header does not say the weights are external")
emb = aot_output(compile_model("digits_native", cases[0][1], "native"), cases[0][2], (1, 10))
yb = os.path.join(W, "yb.f32")
run([bexe, blob, cases[0][2], yb])
if not np.array_equal(np.fromfile(yb, dtype=np.float32).reshape(1, 10).view(np.uint32), emb.view(np.uint32)):
    failures.append("--weights-out: the blob object's output differs from the embedded object's")
if os.path.getsize(bobj) * 4 > os.path.getsize(os.path.join(W, "digits_native.o")):
    failures.append("--weights-out: the object is not much smaller than the embedded one")
raw = open(blob, "rb").read()
other_blob = os.path.join(W, "other.bin")
run([args.bclc, "compile", *cases[0][1][:3], "--random-weights", "1", "--name", "model", "--weights-out", other_blob,
     "--output", os.path.join(W, "other.o")])
bad_blobs = {"truncated": (raw[:len(raw) // 2], "truncated"),
             "corrupt": (raw[:200] + bytes([raw[200] ^ 1]) + raw[201:], "corrupt"),
             "not_a_blob": (b"hello" * 20, "not a bclc weight blob"),
             "other": (open(other_blob, "rb").read(), "another compile")}
for name, (data, why) in bad_blobs.items():
    p = os.path.join(W, f"{name}.bin")
    open(p, "wb").write(data)
    r = subprocess.run([bexe, p, cases[0][2], yb], capture_output=True, text=True)
    if r.returncode != 1 or why not in r.stderr:
        failures.append(f"--weights-out, {name} blob: exit {r.returncode}, stderr {r.stderr!r}")
r = subprocess.run([bexe, os.path.join(W, "missing.bin"), cases[0][2], yb], capture_output=True, text=True)
if r.returncode != 1 or "cannot open" not in r.stderr:
    failures.append(f"--weights-out, missing blob: exit {r.returncode}, stderr {r.stderr!r}")

# the driver's errors, and the other output kinds
digits_args = cases[0][1]
r = subprocess.run([args.bclc, "compile", *digits_args, "--target-cpu", "pentium9"], capture_output=True, text=True)
if r.returncode != 1 or "unknown target CPU 'pentium9'" not in r.stderr:
    failures.append(f"unknown CPU: exit {r.returncode}, stderr {r.stderr!r}")
r = subprocess.run([args.bclc, "compile", *digits_args, "-o", "x.o"], capture_output=True, text=True)
if r.returncode != 2 or "--output" not in r.stderr:
    failures.append(f"-o x.o: exit {r.returncode}, stderr {r.stderr!r}")
ll = os.path.join(W, "d.ll")
run([args.bclc, "compile", *digits_args, "--emit=llvm", "--name", "dg", "--output", ll])
text = open(ll).read()
for sig in ("define ptr @dg_create()", "define i32 @dg_run(ptr", "define void @dg_destroy(ptr",
            "define internal void @dg_entry(ptr"):
    if sig not in text:
        failures.append(f"--emit=llvm: no '{sig}'")
asm = os.path.join(W, "d.s")
run([args.bclc, "compile", *digits_args, "--emit=asm", "--name", "dg", "--target-cpu", "x86-64-v3", "--output", asm])
text = open(asm).read()
if "dg_run:" not in text or "ymm" not in text or "zmm" in text:
    failures.append("--emit=asm for x86-64-v3: expected dg_run with AVX2 (ymm) code and no AVX-512")
asm = os.path.join(W, "d4.s")
run([args.bclc, "compile", *digits_args, "--emit=asm", "--target-cpu", "x86-64-v4", "--output", asm])
text = open(asm).read()
if "digitsnet_run:" not in text or "zmm" not in text:   # default prefix: the model's name lowercased
    failures.append("--emit=asm for x86-64-v4: expected digitsnet_run with AVX-512 (zmm) code")

if failures:
    sys.exit("FAIL\n" + "\n".join(failures))
print("PASS")

#!/usr/bin/python3
"""Conformance of bclc against the PyTorch reference (bclshim).

For every case (a `# conformance: ARGS` line in tests/conformance/models/*.bcl,
plus the shipped examples in EXTRA): generate the reference once (cached in the workdir),
then check
  run      bclc run with PyTorch-layout weights      vs expected.npy
  run-mge  bclc run with MegEngine-layout weights    vs expected.npy
  params   `bclc params --input-shape S` output      == params.txt
A `# conformance-error:` line is a model that MegEngine / BaseCls reject: the
shim must fail and `bclc params` must exit 1 with an error (check `rejected`).
A run passes when max|bclc - torch| <= 1e-4 + 1e-3 * max|torch|.

usage: run_conformance.py --bclc PATH --workdir DIR [-k FILTER] [--regen] [-v]
                          [--bclc-arg=ARG]... [--fuzz N [--fuzz-seed S]]
Exit status 1 if any check fails. Run with /usr/bin/python3 (torch, numpy).
"""
import argparse
import hashlib
import os
import shlex
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
ROOT = os.path.dirname(os.path.dirname(HERE))
MODELS = os.path.join(HERE, "models")
GEN = os.path.join(HERE, "gen_reference.py")
SEED = 1234
TIMEOUT = 600

# The shipped examples, when present (AlexNet with a narrow head: the default
# 4096-wide one would need 230 MB of weights per case).
EXTRA = [("examples/alexnet.bcl",
          "--name example --input-shape 1,3,224,224 -o model.head.width=48 -o num_classes=11"),
         ("examples/models/resnet_small.bcl", "--name example --input-shape 2,3,32,32"),
         ("examples/digits/digits.bcl", "--name example --input-shape 3,1,8,8")]


class Case:
    def __init__(self, path, argline, expect_error=False):
        ap = argparse.ArgumentParser(prog="conformance-case", add_help=False)
        ap.add_argument("--name", default=None)
        ap.add_argument("--input-shape", required=True)
        ap.add_argument("-o", dest="overrides", action="append", default=[])
        a = ap.parse_args(shlex.split(argline))
        self.path = path
        stem = os.path.splitext(os.path.basename(path))[0]
        self.name = stem + ("@" + a.name if a.name else "")
        self.input_shape = a.input_shape
        self.overrides = a.overrides
        self.expect_error = expect_error

    def ovr_args(self):
        out = []
        for o in self.overrides:
            out += ["-o", o]
        return out


def discover(dirs=(MODELS,)):
    cases = []
    files = [os.path.join(d, fn) for d in dirs for fn in sorted(os.listdir(d)) if fn.endswith(".bcl")]
    for p in files:
        with open(p, encoding="utf-8") as f:
            for line in f:
                s = line.strip()
                if s.startswith("# conformance:"):
                    cases.append(Case(p, s[len("# conformance:"):]))
                elif s.startswith("# conformance-error:"):
                    cases.append(Case(p, s[len("# conformance-error:"):], expect_error=True))
    for rel, args in EXTRA:
        p = os.path.join(ROOT, rel)
        if os.path.isfile(p):
            cases.append(Case(p, args))
    return cases


def _stamp(case):
    """Hash of everything the reference depends on: model sources, args, shim."""
    h = hashlib.sha256()
    files = [case.path]
    files += [os.path.join(MODELS, f) for f in sorted(os.listdir(MODELS)) if f.endswith(".bcl")]
    shim = os.path.join(HERE, "bclshim")
    files += [os.path.join(shim, f) for f in sorted(os.listdir(shim)) if f.endswith(".py")]
    files.append(GEN)
    for p in files:
        with open(p, "rb") as f:
            h.update(p.encode() + b"\0" + f.read())
    h.update(repr((case.input_shape, case.overrides, SEED)).encode())
    return h.hexdigest()


def generate(case, d, regen):
    stamp = _stamp(case)
    sp = os.path.join(d, "stamp")
    if not regen and os.path.isfile(sp) and open(sp).read() == stamp:
        return None
    os.makedirs(d, exist_ok=True)
    if os.path.exists(sp):
        os.remove(sp)
    cmd = [sys.executable, GEN, case.path, "--out", d, "--input-shape", case.input_shape,
           "--seed", str(SEED)] + case.ovr_args()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return f"reference generation timed out after {TIMEOUT}s"
    if r.returncode != 0:
        return "reference generation failed:\n" + r.stdout + r.stderr
    with open(sp, "w") as f:
        f.write(stamp)
    return None


def _tail(text, n=15):
    lines = text.strip().splitlines()
    return "\n".join("    " + ln for ln in lines[-n:])


def check_run(bclc, case, d, weights, tag, extra=()):
    out = os.path.join(d, f"out_{tag}.npy")
    if os.path.exists(out):
        os.remove(out)
    cmd = [bclc, "run", case.path, "--weights", os.path.join(d, weights),
           "--input", os.path.join(d, "input.npy"), "--output", out] + case.ovr_args() + list(extra)
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return False, f"timed out after {TIMEOUT}s"
    except OSError as e:
        return False, f"cannot run bclc: {e}"
    if r.returncode != 0:
        return False, f"bclc exited {r.returncode}\n" + _tail(r.stderr + r.stdout)
    if not os.path.isfile(out):
        return False, "bclc wrote no output"
    try:
        got = np.load(out)
    except Exception as e:  # a malformed file is a failure, not a crash of the runner
        return False, f"unreadable output: {e}"
    want = np.load(os.path.join(d, "expected.npy"))
    if got.shape != want.shape:
        return False, f"shape {got.shape}, expected {want.shape}"
    if not np.all(np.isfinite(got)):
        return False, "output has NaN or Inf"
    err = float(np.max(np.abs(got.astype(np.float64) - want))) if want.size else 0.0
    scale = float(np.max(np.abs(want))) if want.size else 0.0
    tol = 1e-4 + 1e-3 * scale
    msg = f"max|diff| {err:.3g} (tol {tol:.3g}, max|ref| {scale:.3g})"
    return err <= tol, msg


def check_params(bclc, case, d):
    # params needs the input shape too: bclc traces forward to build the model
    cmd = [bclc, "params", case.path, "--input-shape", case.input_shape] + case.ovr_args()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, f"cannot run bclc: {e}"
    if r.returncode != 0:
        return False, f"bclc exited {r.returncode}\n" + _tail(r.stderr + r.stdout)
    got = [ln.rstrip() for ln in r.stdout.splitlines() if ln.strip()]
    want = [ln.rstrip() for ln in open(os.path.join(d, "params.txt")).read().splitlines() if ln.strip()]
    if got == want:
        return True, f"{len(want)} tensors"
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            return False, f"line {i + 1}: got '{g}', expected '{w}'"
    return False, f"{len(got)} lines, expected {len(want)}"


def check_rejects(bclc, case, d):
    """A model MegEngine / BaseCls reject: the shim must fail, and bclc must
    exit 1 with a diagnostic (never a crash, never an answer)."""
    os.makedirs(d, exist_ok=True)
    cmd = [sys.executable, GEN, case.path, "--out", d, "--input-shape", case.input_shape] + case.ovr_args()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return False, f"the reference timed out after {TIMEOUT}s"
    if r.returncode == 0:
        return False, "the reference accepted it (the case is wrong)"
    shim_msg = (r.stderr.strip().splitlines() or ["?"])[-1]
    cmd = [bclc, "params", case.path, "--input-shape", case.input_shape] + case.ovr_args()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, f"cannot run bclc: {e}"
    if r.returncode != 1 or "error:" not in r.stderr:
        return False, f"bclc exited {r.returncode} (expected 1 with an error)\n" + _tail(r.stderr + r.stdout)
    first = next((ln for ln in r.stderr.splitlines() if "error:" in ln), "")
    return True, f"bclc: {first.split('error:', 1)[1].strip()} | shim: {shim_msg}"


def main(argv=None):
    ap = argparse.ArgumentParser(description="bclc vs PyTorch conformance")
    ap.add_argument("--bclc", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("-k", dest="filter", default=None, help="only cases whose name contains this")
    ap.add_argument("--regen", action="store_true", help="regenerate references even if cached")
    ap.add_argument("-v", action="store_true", help="print full details")
    ap.add_argument("--bclc-arg", action="append", default=[],
                    help="extra argument for every `bclc run` (e.g. --bclc-arg=--engine=interp)")
    ap.add_argument("--fuzz", type=int, default=0, metavar="N", help="also test N random networks")
    ap.add_argument("--fuzz-seed", type=int, default=1)
    a = ap.parse_args(argv)
    bclc = os.path.abspath(a.bclc)
    dirs = [MODELS]
    if a.fuzz:
        import fuzz_models
        fdir = os.path.join(a.workdir, f"fuzz_models_{a.fuzz_seed}")
        fuzz_models.write(fdir, a.fuzz, a.fuzz_seed)
        dirs.append(fdir)
    cases = [c for c in discover(dirs) if not a.filter or a.filter in c.name]
    passed = failed = 0

    def report(ok, what, detail):
        nonlocal passed, failed
        passed += ok
        failed += not ok
        first, _, rest = detail.partition("\n")
        print(f"{'PASS' if ok else 'FAIL'}: {what}: {first}")
        if rest and (a.v or not ok):
            print(rest)
        sys.stdout.flush()

    # the reference must itself be right before it judges bclc
    import selftest
    bad = [f"{n}: {e}" for n, e in selftest.run_unit_checks() if e]
    report(not bad, "shim self-test", "; ".join(bad) if bad else f"{len(selftest.CHECKS)} checks")

    for c in cases:
        d = os.path.join(a.workdir, c.name.replace("@", "_"))
        if c.expect_error:
            ok, msg = check_rejects(bclc, c, d)
            report(ok, f"{c.name} rejected", msg)
            continue
        err = generate(c, d, a.regen)
        if err:
            report(False, f"{c.name} reference", err)
            continue
        ok, msg = check_run(bclc, c, d, "weights.safetensors", "pt", a.bclc_arg)
        report(ok, f"{c.name} run", msg)
        ok, msg = check_run(bclc, c, d, "weights_mge.safetensors", "mge", a.bclc_arg)
        report(ok, f"{c.name} run-mge", msg)
        ok, msg = check_params(bclc, c, d)
        report(ok, f"{c.name} params", msg)
    print(f"conformance: {passed} passed, {failed} failed")
    return 1 if failed or not cases else 0


if __name__ == "__main__":
    sys.exit(main())

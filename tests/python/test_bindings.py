#!/usr/bin/python3
"""The Python bindings (python/bclc) as a user gets them: `pip install` of python/
into a fresh target directory, then, against libbcl.so:
  - every small conformance model (tests/conformance/models) and the digits example,
    compiled from its file with its overrides and input shape, weights from the
    PyTorch shim (PyTorch and MegEngine layouts), equals the shim's output
    (|bclc - torch| <= 1e-4 + 1e-3 max|torch|), with the JIT and the interpreter;
  - a source text, a weight file's bytes, a zoo model by name, threads sharing a model,
    errors as BclError with the located diagnostic, wrong input shapes named.
usage: test_bindings.py --lib build/libbcl.so.0 --workdir DIR
"""
import argparse
import os
import shutil
import subprocess
import sys
import threading

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CONF = os.path.join(ROOT, "tests", "conformance")
MAX_INPUT = 2 * 3 * 32 * 32     # larger cases stay with the CLI conformance test
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def pip_install(workdir):
    """pip install of a copy of python/ (the build writes into the source directory)."""
    src = os.path.join(workdir, "python-src")
    site = os.path.join(workdir, "site")
    shutil.rmtree(src, ignore_errors=True)
    shutil.rmtree(site, ignore_errors=True)
    shutil.copytree(os.path.join(ROOT, "python"), src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    # no network on CI runners: build with the installed setuptools, numpy is Debian's
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--root-user-action=ignore", "--no-build-isolation", "--no-deps",
                    "--target", site, src], check=True)
    check(os.path.isfile(os.path.join(site, "bclc", "__init__.py")), "pip install ./python puts bclc in the target")
    sys.path.insert(0, site)


def close(got, want):
    return got.shape == want.shape and float(np.max(np.abs(got - want))) <= 1e-4 + 1e-3 * float(np.max(np.abs(want)))


def conformance_cases(workdir, bclc):
    sys.path.insert(0, CONF)
    import run_conformance
    from bclshim import build_from_file
    from bclshim.reference import write_case
    cases = [c for c in run_conformance.discover() if not c.expect_error and "alexnet" not in c.path
             and int(np.prod([int(d) for d in c.input_shape.split(",")])) <= MAX_INPUT]
    check(len(cases) >= 10, f"{len(cases)} conformance cases small enough for this test")
    for i, case in enumerate(cases):
        d = os.path.join(workdir, "ref", case.name)
        os.makedirs(d, exist_ok=True)
        shape = tuple(int(s) for s in case.input_shape.split(","))
        torch_model, _ = build_from_file(case.path, case.overrides)
        expected = write_case(torch_model, shape, 1234, d)
        x = np.load(os.path.join(d, "input.npy"))
        overrides = [o for o in case.overrides]       # "key=value" strings, as the CLI takes them
        engines = ["jit", "interp"] if i % 3 == 0 else ["jit"]
        for engine in engines:
            if not bclc.engine_available(engine):
                continue
            m = bclc.compile(case.path, overrides=overrides, input_shape=shape, engine=engine)
            m.load_weights(os.path.join(d, "weights.safetensors"))
            y = m(x)
            check(close(y, expected), f"{case.name} ({engine}) equals the PyTorch shim, max diff "
                  f"{float(np.max(np.abs(y - expected))) if y.shape == expected.shape else y.shape}")
            m.close()
        # the MegEngine layout of the same weights
        m = bclc.compile(case.path, overrides=overrides, input_shape=shape)
        m.load_weights(os.path.join(d, "weights_mge.safetensors"))
        check(close(m.run(x), expected), f"{case.name}: MegEngine-layout weights equal the shim")


def api_cases(workdir, bclc):
    digits = os.path.join(ROOT, "examples", "digits")
    path = os.path.join(digits, "digits.bcl")
    weights = os.path.join(digits, "digits.safetensors")
    m = bclc.compile(path, input_shape=(1, 1, 8, 8))
    m.load_weights(weights)
    x3 = np.load(os.path.join(digits, "sample_3.npy"))
    y = m(x3)
    check(y.shape == (1, 10) and y.dtype == np.float32 and int(y.argmax()) == 3, "digits: sample_3 is class 3")
    check(m.name == "DigitsNet" and m.input_shapes == [(1, 1, 8, 8)] and m.output_shapes == [(1, 10)],
          f"model queries: {m!r}")
    check(m.params[0] == ("features.0.weight", (16, 1, 3, 3)), f"params: {m.params[0]}")

    # the same model from its text, weights from bytes, float64 input converted
    src = open(path, encoding="utf-8").read()
    m2 = bclc.compile(src, name="digits_copy.bcl", input_shape=(1, 1, 8, 8), engine="interp")
    m2.load_weights(open(weights, "rb").read(), name="digits.safetensors")
    check(close(m2(x3.astype(np.float64)), y), "source text + weight bytes + float64 input = the file's result")

    # threads: one model, 4 threads, each its own context, results equal a serial run
    inputs = [np.load(os.path.join(digits, f"sample_{k}.npy")) for k in (0, 2, 3, 7, 9)]
    serial = [m(x) for x in inputs]
    results = {}

    def worker(t):
        results[t] = [[m(x) for x in inputs] for _ in range(5)]
    ts = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    check(all(np.array_equal(r, s) for rs in results.values() for rep in rs for r, s in zip(rep, serial)),
          "4 threads x 5 runs on one model equal the serial results")
    check(len(m._contexts) == 5, f"one context per thread that ran the model ({len(m._contexts)})")

    # errors
    try:
        bclc.compile("class Net(M.Module):\n    def forward(self, x):\n        return x +\n", name="bad.bcl")
        check(False, "a syntax error raises BclError")
    except bclc.BclError as e:
        check(e.status == "BCL_ERR_COMPILE" and "bad.bcl:3:" in e.message and "^" in e.message,
              f"syntax error: BclError with file:line:col and a caret: {e.message.splitlines()[0]}")
    try:
        bclc.compile(os.path.join(workdir, "missing.bcl"))
        check(False, "a missing file raises BclError")
    except bclc.BclError as e:
        check(e.status == "BCL_ERR_IO" and "missing.bcl" in e.message, f"missing file: {e}")
    try:
        bclc.compile(path, overrides={"num_classes.x": 1})
        check(False, "a bad override raises BclError")
    except bclc.BclError as e:
        check(e.status == "BCL_ERR_COMPILE" and "num_classes.x" in e.message, f"bad override: {e.message.splitlines()[0]}")
    m3 = bclc.compile(path, input_shape=(1, 1, 8, 8))
    try:
        m3.load_weights(os.path.join(ROOT, "examples", "digits", "labels.txt"))
        check(False, "a text file as weights raises BclError")
    except bclc.BclError as e:
        check(e.status in ("BCL_ERR_WEIGHTS", "BCL_ERR_IO") and "labels.txt" in e.message, f"bad weights: {e}")
    try:
        m3(x3)
        check(False, "running without weights raises BclError")
    except bclc.BclError as e:
        check(e.status == "BCL_ERR_STATE", f"no weights: {e.message.splitlines()[0]}")
    try:
        m(np.transpose(x3, (0, 2, 3, 1)).copy().reshape(1, 8, 8, 1))
        check(False, "an NHWC input raises ValueError")
    except ValueError as e:
        check("(1, 1, 8, 8)" in str(e) and "NHWC?" in str(e), f"NHWC input: {e}")
    try:
        m(np.zeros((2, 1, 8, 8), np.float32))
        check(False, "a wrong batch raises ValueError")
    except ValueError as e:
        check("(2, 1, 8, 8)" in str(e) and "NHWC" not in str(e), f"wrong shape: {e}")

    # a model the file registers, by name (bcl_compiler_set_model), and a misspelt one
    alexnet = os.path.join(ROOT, "examples", "alexnet.bcl")
    check(bclc.compile(alexnet, model="AlexNet", input_shape=(1, 3, 224, 224)).name == "AlexNet",
          "model= picks a model the file registers")
    try:
        bclc.compile(alexnet, model="AlexNt")
        check(False, "an unknown model= raises BclError")
    except bclc.BclError as e:
        check("unknown model 'AlexNt'" in e.message and "'AlexNet'" in e.message, f"unknown model: {e.message.splitlines()[0]}")

    # a zoo model by name, with a dict override
    z = bclc.compile(model="resnet18", overrides={"num_classes": 7}, input_shape=(1, 3, 32, 32), engine="interp")
    z.random_weights(3)
    check(z(np.zeros((1, 3, 32, 32), np.float32)).shape == (1, 7), "zoo resnet18 with num_classes=7")
    m.close()
    try:
        m(x3)
        check(False, "a closed model raises")
    except ValueError:
        check(True, "a closed model raises ValueError")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    os.environ["BCL_LIBRARY"] = os.path.abspath(a.lib)
    os.environ.setdefault("BCL_NUM_THREADS", "2")
    pip_install(a.workdir)
    import bclc
    check(os.path.dirname(bclc.__file__).startswith(os.path.join(a.workdir, "site")), "bclc imported from the pip target")
    api_cases(a.workdir, bclc)
    conformance_cases(a.workdir, bclc)
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

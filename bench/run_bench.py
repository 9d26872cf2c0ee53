#!/usr/bin/python3
"""Side-by-side benchmark: the same model (same .bcl file, same seeded random weights)
through bclc, ONNX Runtime (onnxruntime-node, on an ONNX export of the PyTorch model)
and PyTorch, printed as a markdown table with the latency ratios.

usage: run_bench.py [--models resnet50,resnet18,mbnetv2,alexnet,vgg11,effnet_b0,regnetx_016]
                    [--batches 1,8] [--threads 1,2] [--iters K] [--rounds R] [--bclc PATH]
                    [--target-cpu CPU] [--workdir DIR] [--interp] [--torch-mode eager|jit]
                    [--spin] [--check-only | --no-check] [--no-compile-times] [--compile-runs R] [--no-torch]
                    [--rtol R]
                    [--json FILE]
The PyTorch model comes from the conformance shim (tests/conformance/bclshim), which
runs the .bcl file as Python; its weights are written to a .safetensors file that
bclc reads, and it is exported to ONNX for ONNX Runtime. Before timing, the outputs
of bclc (JIT), ONNX Runtime and the timed PyTorch process on one input are compared
with the shim's, so that the table compares equal work.
Needs Debian's /usr/bin/python3 (torch, numpy), node, and `npm install` in bench/.
See bench/README.md.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import benchlib  # noqa: E402

# Bump when the files Prepared writes change (the key also hashes their inputs).
CACHE_VERSION = 2
# bclc bench prints "latency: p50 X ms, ..." and "... min Y ms, ..." (older: "median X ms, min Y ms")
LATENCY_RE = re.compile(r"latency:\s+(?:p50|median) ([0-9.]+) ms")
MIN_RE = re.compile(r"\bmin ([0-9.]+) ms")
COMPILE_RE = re.compile(r"compile:\s+([0-9.]+) s \(build ([0-9.]+) s, passes ([0-9.]+) s, engine ([0-9.]+) s\)")


class BenchError(Exception):
    pass


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def int_list(text):
    try:
        vals = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of integers")
    if not vals or any(v < 1 for v in vals):
        raise argparse.ArgumentTypeError(f"'{text}': values must be positive integers")
    return vals


SPIN = False  # set from --spin


TARGET_CPU = None  # set from --target-cpu: bclc's JIT compiles for it (BCL_JIT_TARGET_CPU)
BCL_CACHE_DIR = None  # set in main: bclc's JIT cache for this run (under --workdir)


def thread_env(threads):
    """Environment for a timed subprocess: every runtime's pool sized to `threads`
    (OpenMP / MKL / OpenBLAS are sized when the library loads, hence a process each).
    Without --spin, OpenMP's idle workers sleep (as bclc's pool's do): on cores shared
    with other processes, spinning workers steal the time the working ones need."""
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "BCL_NUM_THREADS"):
        env[k] = str(threads)
    if not SPIN:
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    if TARGET_CPU:
        env["BCL_JIT_TARGET_CPU"] = TARGET_CPU
    if BCL_CACHE_DIR:
        env["BCL_CACHE_DIR"] = BCL_CACHE_DIR
    return env


def cpu_model():
    """The CPU's model name and its widest vector ISA (from /proc/cpuinfo)."""
    name, flags = "?", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k.strip() == "model name" and name == "?":
                    name = v.strip()
                elif k.strip() == "flags" and not flags:
                    flags = set(v.split())
    except OSError:
        pass
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE"
    return f"{name} ({isa})"


def run_cmd(cmd, env=None, what=""):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if p.returncode != 0:
        tail = "\n".join((p.stderr or p.stdout).strip().splitlines()[-15:])
        raise BenchError(f"{what or cmd[0]} failed (exit {p.returncode}):\n  "
                         f"{' '.join(cmd)}\n{tail}")
    return p.stdout


def last_json(text, what):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise BenchError(f"{what}: no result line in its output")


# ---------------------------------------------------------------- preparation


def cache_key(name):
    """Changes when the model, the zoo, the shim, benchlib.py, CACHE_VERSION or torch change."""
    import torch

    h = hashlib.sha256()
    files = [benchlib.model_path(name), os.path.join(HERE, "benchlib.py")]
    for d in (os.path.join(benchlib.STDLIB, "basecls", "models"),
              os.path.join(benchlib.SHIM_DIR, "bclshim")):
        files += sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith((".bcl", ".py")))
    for f in files:
        h.update(f.encode())
        with open(f, "rb") as fh:
            h.update(fh.read())
    h.update(f"v{CACHE_VERSION} seed={benchlib.SEED} torch={torch.__version__}".encode())
    return h.hexdigest()[:12]


class Prepared:
    """Per model: weights.safetensors, and per batch size N: input_bN.npy, expected_bN.npy
    (the shim's own output, before native_ops) and model_bN.onnx."""

    def __init__(self, name, workdir):
        self.name = name
        self.dir = os.path.join(workdir, f"{name}-{cache_key(name)}")
        # one cached version per model: the weights and exports are large
        if os.path.isdir(workdir):
            for d in os.listdir(workdir):
                old = os.path.join(workdir, d)
                if re.fullmatch(re.escape(name) + r"-[0-9a-f]{12}", d) and old != self.dir:
                    shutil.rmtree(old, ignore_errors=True)
        self.weights = os.path.join(self.dir, "weights.safetensors")
        self._model = None

    def input(self, batch):
        return os.path.join(self.dir, f"input_b{batch}.npy")

    def expected(self, batch):
        return os.path.join(self.dir, f"expected_b{batch}.npy")

    def onnx(self, batch):
        return os.path.join(self.dir, f"model_b{batch}.onnx")

    def model(self):
        if self._model is None:
            from bclshim import reference

            t0 = time.time()
            m = benchlib.build_torch_model(self.name)
            reference.randomize(m, benchlib.SEED)
            self._model = m
            log(f"  {self.name}: torch model built and randomized ({time.time() - t0:.1f}s)")
        return self._model

    def ensure(self, batches):
        import numpy as np
        import torch

        benchlib.shim_loader()  # puts bclshim on sys.path
        os.makedirs(self.dir, exist_ok=True)
        from bclshim import reference, safetensors

        if not os.path.exists(self.weights):
            tensors = [(k, t.detach().numpy().copy())
                       for k, t, _, _ in reference.entries(self.model())]
            safetensors.save(self.weights + ".tmp", tensors, {"model": self.name})
            os.replace(self.weights + ".tmp", self.weights)
        for b in batches:
            if os.path.exists(self.expected(b)):
                continue
            x = reference.make_input((b,) + benchlib.IMAGE, benchlib.SEED)
            with torch.no_grad():
                y = self.model()(torch.from_numpy(x)).numpy().astype(np.float32)
            np.save(self.input(b), x)
            np.save(self.expected(b) + ".tmp.npy", y)
            os.replace(self.expected(b) + ".tmp.npy", self.expected(b))
        for b in batches:
            if os.path.exists(self.onnx(b)):
                continue
            import warnings

            t0 = time.time()
            x = torch.zeros((b,) + benchlib.IMAGE)
            with warnings.catch_warnings(), benchlib.native_ops():
                warnings.simplefilter("ignore")  # tracer warnings about the shim's shape checks
                # a static batch size: ORT plans memory and picks kernels for it
                torch.onnx.export(self.model(), x, self.onnx(b) + ".tmp", opset_version=13,
                                  input_names=["input"], output_names=["output"],
                                  do_constant_folding=True)
            os.replace(self.onnx(b) + ".tmp", self.onnx(b))
            log(f"  {self.name}: ONNX export, batch {b} ({time.time() - t0:.1f}s)")

    def release(self):
        self._model = None


# ---------------------------------------------------------------- engines


def bclc_bench(opt, prep, batch, threads, engine, iters):
    cmd = [opt.bclc, "bench", benchlib.model_path(prep.name), "--weights", prep.weights,
           "--batch", str(batch), "--threads", str(threads), "--engine", engine,
           "--iters", str(iters)]
    out = run_cmd(cmd, thread_env(threads), f"bclc bench ({engine})")
    m, mn = LATENCY_RE.search(out), MIN_RE.search(out)
    if not m:
        raise BenchError(f"bclc bench ({engine}): no latency line in:\n{out}")
    return {"median_ms": float(m.group(1)), "min_ms": float(mn.group(1)) if mn else None}


def bclc_compile_time(opt, prep, threads, cache):
    """One `bclc bench --iters 1` at batch 1: the compile line's times (s): total,
    and the engine's part (JIT: plan, packing, LLVM; or the cache load)."""
    cmd = [opt.bclc, "bench", benchlib.model_path(prep.name), "--weights", prep.weights,
           "--batch", "1", "--threads", str(threads), "--iters", "1"] + ([] if cache else ["--no-cache"])
    out = run_cmd(cmd, thread_env(threads), "bclc bench (compile time)")
    m = COMPILE_RE.search(out)
    if not m:
        raise BenchError(f"bclc bench: no compile line in:\n{out}")
    return {"total_s": float(m.group(1)), "engine_s": float(m.group(4))}


def ort_cmd(opt, onnx, batch, threads, iters, warmup, extra=()):
    return ([opt.node, os.path.join(HERE, "ort_bench.js"), onnx, "--batch", str(batch),
             "--threads", str(threads), "--iters", str(iters), "--warmup", str(warmup)]
            + ([] if opt.spin else ["--no-spin"]) + list(extra))


def ort_bench(opt, prep, batch, threads, iters):
    out = run_cmd(ort_cmd(opt, prep.onnx(batch), batch, threads, iters, opt.warmup),
                  thread_env(threads), "ort_bench.js")
    return last_json(out, "ort_bench.js")


def torch_cmd(opt, prep, batch, threads, iters, warmup, extra=()):
    return ([sys.executable, os.path.join(HERE, "torch_bench.py"), prep.name, "--weights",
             prep.weights, "--batch", str(batch), "--threads", str(threads), "--iters",
             str(iters), "--warmup", str(warmup), "--mode", opt.torch_mode] + list(extra))


def torch_bench(opt, prep, batch, threads, iters):
    out = run_cmd(torch_cmd(opt, prep, batch, threads, iters, opt.warmup), thread_env(threads),
                  "torch_bench.py")
    return last_json(out, "torch_bench.py")


# ---------------------------------------------------------------- output check


def check_outputs(opt, prep, batch):
    """Runs each engine once on input_bN.npy (with the most threads benchmarked) and
    compares with the shim's expected_bN.npy: {engine: (max|diff|, tolerance, ok, why)}.
    The tolerance is the conformance tests' (1e-4 + 1e-3 max|ref|) scaled by --rtol."""
    import numpy as np

    ref = np.load(prep.expected(batch))
    tol = opt.rtol * (0.1 + float(np.abs(ref).max()))
    threads = max(opt.threads)
    x = prep.input(batch)
    env = thread_env(threads)
    cmds = {}
    for eng in ["jit"] + (["interp"] if opt.interp and batch == 1 else []):
        y = os.path.join(prep.dir, f"out_bclc_{eng}_b{batch}.npy")
        cmds[f"bclc {eng}"] = (y, [opt.bclc, "run", benchlib.model_path(prep.name), "--weights",
                                   prep.weights, "--input", x, "--output", y, "--engine", eng,
                                   "--threads", str(threads)])
    y = os.path.join(prep.dir, f"out_ort_b{batch}.npy")
    cmds["ORT"] = (y, ort_cmd(opt, prep.onnx(batch), batch, threads, 1, 0,
                              ["--input", x, "--output", y]))
    y = os.path.join(prep.dir, f"out_torch_b{batch}.npy")
    cmds["torch"] = (y, torch_cmd(opt, prep, batch, threads, 1, 0,
                                  ["--input", x, "--output", y]))
    res = {}
    for eng, (path, cmd) in cmds.items():
        if os.path.exists(path):
            os.remove(path)
        try:
            run_cmd(cmd, env, eng)
        except BenchError as e:
            log(f"  {e}")
            res[eng] = (float("inf"), tol, False, "failed")
            continue
        out = np.load(path)
        if out.shape != ref.shape:
            res[eng] = (float("inf"), tol, False, f"shape {out.shape} != {ref.shape}")
            continue
        err = float(np.abs(out.astype(np.float64) - ref).max()) if np.isfinite(out).all() \
            else float("inf")
        res[eng] = (err, tol, err <= tol, "")
    return res


# ---------------------------------------------------------------- table


def fmt_ms(v):
    if v is None:
        return "–"
    if isinstance(v, str):
        return v
    return f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def fmt_ratio(a, b):
    if not isinstance(a, float) or not isinstance(b, float) or b <= 0:
        return "–"
    return f"{a / b:.2f}"


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(benchlib.MODELS))
    ap.add_argument("--batches", type=int_list, default=[1, 8])
    ap.add_argument("--threads", type=int_list, default=[1, 2])
    ap.add_argument("--iters", type=int, default=10, help="timed iterations per run (default 10)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed runs first (ORT, torch)")
    ap.add_argument("--tune", action="store_true",
                    help="first run `bclc bench --tune` for every model, batch and thread count: "
                         "the JIT's measured per-shape choices, kept in this run's cache "
                         "(WORKDIR/bclc-cache/tune.txt), are used by every later bclc run")
    ap.add_argument("--rounds", type=int, default=1,
                    help="repeat every measurement R times, interleaved, and report the median "
                         "of the runs' medians (smooths out load from other processes)")
    ap.add_argument("--torch-mode", choices=("eager", "jit"), default="eager",
                    help="time PyTorch eager (default) or traced and frozen (torch.jit)")
    ap.add_argument("--spin", action="store_true",
                    help="let ORT's and OpenMP's idle workers spin (their default; best on an "
                         "otherwise idle machine). Default: they sleep, as bclc's do")
    ap.add_argument("--bclc", default=None, help="bclc binary (default: build/bclc)")
    ap.add_argument("--target-cpu", default=None,
                    help="bclc's JIT compiles for this CPU (x86-64-v3: the AVX2 path on an "
                         "AVX-512 machine; sets BCL_JIT_TARGET_CPU)")
    ap.add_argument("--no-torch", action="store_true",
                    help="do not time PyTorch (its output is still checked): less load on a shared machine")
    ap.add_argument("--no-compile-times", action="store_true",
                    help="skip measuring bclc's compile time (cold and from its cache)")
    ap.add_argument("--compile-runs", type=int, default=3,
                    help="compile each model R times cold and R times from the cache, and report "
                         "the median of each (default 3: one process's start-up is noisy)")
    ap.add_argument("--node", default=shutil.which("node") or "node")
    ap.add_argument("--workdir", default=os.path.join(benchlib.ROOT, "build", "bench"),
                    help="weights, inputs and ONNX files are cached here")
    ap.add_argument("--interp", action="store_true",
                    help="also time bclc's interpreter (batch 1 only; single-threaded, slow)")
    ap.add_argument("--interp-iters", type=int, default=3)
    ap.add_argument("--no-check", action="store_true", help="skip the output comparison")
    ap.add_argument("--check-only", action="store_true", help="only compare the outputs")
    ap.add_argument("--rtol", type=float, default=1e-3,
                    help="outputs agree when max|y - torch| <= RTOL * (0.1 + max|torch|)")
    ap.add_argument("--json", default=None, help="also write the raw results here")
    opt = ap.parse_args(argv)

    global SPIN, TARGET_CPU, BCL_CACHE_DIR
    SPIN = opt.spin
    TARGET_CPU = opt.target_cpu
    BCL_CACHE_DIR = os.path.join(opt.workdir, "bclc-cache")
    models = [m.strip() for m in opt.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in benchlib.MODELS]
    if unknown or not models:
        ap.error(f"unknown model(s) {unknown}; known: {', '.join(benchlib.MODELS)}")
    if opt.no_check and opt.check_only:
        ap.error("--no-check and --check-only exclude each other")
    if opt.iters < 1 or opt.rounds < 1 or opt.warmup < 0 or opt.interp_iters < 1 or opt.compile_runs < 1:
        ap.error("--iters, --rounds, --interp-iters and --compile-runs must be >= 1, --warmup >= 0")
    if opt.bclc is None:
        opt.bclc = os.path.join(benchlib.ROOT, "build", "bclc")
    if not os.access(opt.bclc, os.X_OK):
        ap.error(f"bclc not found at {opt.bclc} (build it, or pass --bclc PATH)")
    if not os.path.isdir(os.path.join(HERE, "node_modules", "onnxruntime-node")):
        ap.error("onnxruntime-node is not installed: "
                 "cd bench && ONNXRUNTIME_NODE_INSTALL=skip npm install")

    try:
        return bench(opt, models)
    except BenchError as e:
        log(f"run_bench: error: {e}")
        return 1


def bench(opt, models):
    import torch

    cores = os.cpu_count()
    cpu = cpu_model()
    log(f"run_bench: models {','.join(models)}, batches {opt.batches}, threads {opt.threads}, "
        f"{opt.iters} iterations x {opt.rounds} round(s); {cores} cores, {cpu}, "
        f"load average {os.getloadavg()[0]:.1f}"
        + (f"; bclc JIT target {opt.target_cpu}" if opt.target_cpu else ""))
    preps = {}
    for name in models:
        log(f"preparing {name}")
        p = Prepared(name, opt.workdir)
        p.ensure(opt.batches)
        p.release()
        preps[name] = p

    if opt.tune and not opt.check_only:
        for (m, b, t) in ((m, b, t) for m in models for b in opt.batches for t in opt.threads):
            log(f"tuning {m} batch {b}, {t} thread(s)")
            try:
                run_cmd([opt.bclc, "bench", benchlib.model_path(m), "--weights", preps[m].weights, "--batch", str(b),
                         "--threads", str(t), "--iters", "1", "--tune"], thread_env(t), "bclc bench --tune")
            except BenchError as e:
                log(f"  {e}")

    checks = {}
    if not opt.no_check:
        for name, b in ((n, b) for n in models for b in opt.batches):
            log(f"checking outputs of {name}, batch {b}")
            checks[(name, b)] = check_outputs(opt, preps[name], b)
            for eng, (err, tol, ok, why) in checks[(name, b)].items():
                log(f"  {eng:12s} max|diff| {err:.3g} (tolerance {tol:.3g}) "
                    f"{'ok' if ok else 'MISMATCH ' + why}")

    compile_times = {}  # model -> {"cold": ..., "cached": ...}
    if not opt.check_only and not opt.no_compile_times:
        t = max(opt.threads)
        for name in models:
            log(f"compile time of {name} (batch 1, {t} threads): cold, then from the cache")
            try:
                n = opt.compile_runs
                colds = [bclc_compile_time(opt, preps[name], t, cache=False) for _ in range(n)]
                bclc_compile_time(opt, preps[name], t, cache=True)  # fills the cache
                cacheds = [bclc_compile_time(opt, preps[name], t, cache=True) for _ in range(n)]
                med = lambda runs: sorted(runs, key=lambda r: r["total_s"])[len(runs) // 2]
                compile_times[name] = {"cold": med(colds), "cached": med(cacheds),
                                       "cold_runs": [r["total_s"] for r in colds],
                                       "cached_runs": [r["total_s"] for r in cacheds]}
                log(f"  cold {' '.join(f'{x:.3f}' for x in compile_times[name]['cold_runs'])} s, "
                    f"cached {' '.join(f'{x:.3f}' for x in compile_times[name]['cached_runs'])} s")
            except BenchError as e:
                log(f"  {e}")

    configs = [(m, b, t) for m in models for b in opt.batches for t in opt.threads]
    samples = {}  # (model, batch, threads, engine) -> [median_ms per round]

    def measure(key, fn):
        try:
            r = fn()
            samples.setdefault(key, []).append(r["median_ms"])
        except BenchError as e:
            log(f"  {key}: {e}")
            samples.setdefault(key, []).append("error")

    for r in range(0 if opt.check_only else opt.rounds):
        for (m, b, t) in configs:
            prep = preps[m]
            log(f"round {r + 1}/{opt.rounds}: {m} batch {b}, {t} thread(s)")
            measure((m, b, t, "jit"), lambda: bclc_bench(opt, prep, b, t, "jit", opt.iters))
            if opt.interp and b == 1 and t == min(opt.threads):  # it is single-threaded
                measure((m, b, t, "interp"),
                        lambda: bclc_bench(opt, prep, b, 1, "interp", opt.interp_iters))
            measure((m, b, t, "ort"), lambda: ort_bench(opt, prep, b, t, opt.iters))
            if not opt.no_torch:
                measure((m, b, t, "torch"), lambda: torch_bench(opt, prep, b, t, opt.iters))

    def value(key):
        xs = samples.get(key)
        if not xs:
            return None
        nums = [x for x in xs if isinstance(x, float)]
        return median(nums) if nums else "error"

    head = ["model", "batch", "threads", "bclc jit ms"]
    if opt.interp:
        head.append("bclc interp ms")
    head += ["ORT ms", "torch ms", "bclc/ORT", "bclc/torch"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    rows = []
    for (m, b, t) in configs:
        jit, ort, tch = (value((m, b, t, e)) for e in ("jit", "ort", "torch"))
        mark = ""
        if (m, b) in checks and not checks[(m, b)]["bclc jit"][2]:
            failed_run = checks[(m, b)]["bclc jit"][3] == "failed"
            mark = " (run failed)" if failed_run else " (outputs differ!)"
        cells = [m, str(b), str(t), fmt_ms(jit) + mark]
        if opt.interp:
            cells.append(fmt_ms(value((m, b, t, "interp"))))
        cells += [fmt_ms(ort), fmt_ms(tch), fmt_ratio(jit, ort), fmt_ratio(jit, tch)]
        lines.append("| " + " | ".join(cells) + " |")
        rows.append({"model": m, "batch": b, "threads": t,
                     "samples": {e: samples.get((m, b, t, e))
                                 for e in ("jit", "interp", "ort", "torch")}})

    if not opt.check_only:
        print("\n".join(lines))
        print()
        print(f"Median latency of one batch (ms); a ratio below 1 means bclc is faster. "
              f"{opt.iters} iterations x {opt.rounds} round(s), {cores} cores, "
              f"torch {torch.__version__} ({opt.torch_mode}), onnxruntime-node {ort_version()}, "
              f"idle workers {'spin' if opt.spin else 'sleep'}, "
              f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.")
        ratios = [jv / ov for jv, ov in ((value((m, b, t, "jit")), value((m, b, t, "ort")))
                                         for (m, b, t) in configs)
                  if isinstance(jv, float) and isinstance(ov, float) and ov > 0]
        if ratios:
            import math

            geo = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
            print(f"Geometric mean of bclc/ORT over {len(ratios)} rows: {geo:.2f}; worst "
                  f"{max(ratios):.2f}.")
        print(f"CPU: {cpu}" + (f"; bclc's JIT compiled for --target-cpu {opt.target_cpu}."
                               if opt.target_cpu else "."))
        if opt.interp:
            print("bclc interp: the reference interpreter, single-threaded, batch 1 only.")
    if compile_times:
        print()
        print(f"bclc compile time, batch 1, {max(opt.threads)} threads (s, the run with the median "
              f"total of {opt.compile_runs}; `engine`: the JIT's part, after graph build and passes):")
        print()
        print("| model | cold total | cold engine | cached total | cached engine |")
        print("|---|---|---|---|---|")
        for name, ct in compile_times.items():
            c, w = ct["cold"], ct["cached"]
            print(f"| {name} | {c['total_s']:.3f} | {c['engine_s']:.3f} | {w['total_s']:.3f} | "
                  f"{w['engine_s']:.3f} |")
    failed = []
    if checks:
        engs = ["bclc jit"] + (["bclc interp"] if opt.interp else []) + ["ORT", "torch"]
        print()
        print("Outputs against the PyTorch shim's (max|diff| on one seeded input):")
        print()
        print("| model | batch | " + " | ".join(engs) + " | tolerance |")
        print("|" + "---|" * (len(engs) + 3))
        for (m, b), res in checks.items():
            cells = []
            for eng in engs:
                if eng not in res:
                    cells.append("–")
                    continue
                err, _, ok, why = res[eng]
                note = "" if ok else " DIFFERS" + (f" ({why})" if why else "")
                cells.append(f"{err:.2g}{note}")
                if not ok:
                    failed.append(f"{m} batch {b} {eng}")
            tol = next(iter(res.values()))[1]
            print(f"| {m} | {b} | " + " | ".join(cells) + f" | {tol:.2g} |")
        if failed:
            print()
            print("OUTPUTS DIFFER: " + ", ".join(failed))
    if opt.json:
        with open(opt.json, "w") as f:
            json.dump({"rows": rows, "cpu": cpu, "compile_times": compile_times, "checks": {f"{m}@{b}": {e: list(v) for e, v in r.items()}
                                                 for (m, b), r in checks.items()}}, f, indent=1)
    errors = any(v == "error" for xs in samples.values() for v in xs)
    return 1 if failed or errors else 0


def ort_version():
    try:
        with open(os.path.join(HERE, "node_modules", "onnxruntime-node", "package.json")) as f:
            return json.load(f).get("version", "?")
    except (OSError, ValueError):
        return "?"


if __name__ == "__main__":
    sys.exit(main())

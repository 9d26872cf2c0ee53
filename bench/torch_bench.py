#!/usr/bin/python3
"""Times one benchmark model on PyTorch (eager, CPU), built from its .bcl file by the
conformance shim, with the weights run_bench.py wrote.

usage: torch_bench.py MODEL --weights W.safetensors [--batch N] [--threads T]
                      [--iters K] [--warmup W] [--input X.npy] [--output Y.npy]
Prints one JSON line: {"median_ms", "min_ms", "iters", "threads", "batch"}.
Set OMP_NUM_THREADS / MKL_NUM_THREADS to T before starting it (run_bench.py does):
the OpenMP pool is sized when torch loads.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import benchlib  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", choices=sorted(benchlib.MODELS))
    ap.add_argument("--weights", required=True)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--input", default=None, help="run on this .npy instead of a random input")
    ap.add_argument("--output", default=None, help="write the output of the last run here")
    ap.add_argument("--mode", choices=("eager", "jit"), default="eager",
                    help="eager: the nn.Module as built; jit: torch.jit.trace + torch.jit.freeze "
                         "(folds BatchNorm into the convolutions)")
    ap.add_argument("--shim-ops", action="store_true",
                    help="keep the shim's composite batch_norm / adaptive pooling "
                         "(default: native torch ops, see benchlib.native_ops)")
    a = ap.parse_args(argv)

    import numpy as np
    import torch

    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    try:
        model = benchlib.build_torch_model(a.model)
        benchlib.load_weights(model, a.weights)
    except (OSError, RuntimeError, ValueError) as e:
        print(f"torch_bench: error: {e}", file=sys.stderr)
        return 1
    if a.input:
        x = torch.from_numpy(np.load(a.input).astype(np.float32))
        if x.shape[0] != a.batch:
            print(f"torch_bench: error: {a.input} has batch {x.shape[0]}, --batch {a.batch}",
                  file=sys.stderr)
            return 1
    else:
        x = torch.from_numpy(np.random.default_rng(0).standard_normal(
            (a.batch,) + benchlib.IMAGE).astype(np.float32))

    ops = benchlib.no_patch() if a.shim_ops else benchlib.native_ops()
    times = []
    with ops:
        if a.mode == "jit":
            with torch.no_grad():
                model = torch.jit.freeze(torch.jit.trace(model, x, check_trace=False).eval())
        with torch.inference_mode():
            for _ in range(a.warmup):
                y = model(x)
            for _ in range(a.iters):
                t0 = time.perf_counter()
                y = model(x)
                times.append((time.perf_counter() - t0) * 1e3)
    if a.output:
        np.save(a.output, y.numpy().astype(np.float32))
    print(json.dumps({"median_ms": float(np.median(times)), "min_ms": min(times),
                      "iters": a.iters, "threads": torch.get_num_threads(), "batch": a.batch,
                      "mode": a.mode}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

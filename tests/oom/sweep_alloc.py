"""Allocation-failure sweep (issue 16): with BCL_FAIL_ALLOC=N the Nth checked
allocation of the process fails (support/oom.h). For N over a sample of the
allocations of a compile, a run on each engine (the JIT compiling and loading from
its cache), the interpreter without a memory plan (`run --check` runs the unoptimised
graph that way), the image readers (`run --image` on JPEG, PNG, BMP, PNM and WebP
files), `bclc eval` over an image folder (two decoding threads) and the C API
example, every run must end in success or a clean error:
exit status 0, or 1 with an "out of memory" message; never a signal (abort, crash),
never another status, never silence, and under ASan never a leak.
BCL_FAIL_ALLOC=count first says how many checked allocations each run makes.

usage: sweep_alloc.py --bclc BCLC --classify BCL_CLASSIFY --root SRC [--full] [--stride K] [--jobs J]
                      [--only NAME,...]
"""
import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile


def count_allocations(cmd, env):
    """How many checked allocations the run makes when none fails."""
    p = subprocess.run(cmd, env=dict(env, BCL_FAIL_ALLOC="count"), capture_output=True, text=True, timeout=300)
    m = re.search(r"bcl: (\d+) checked allocations", p.stderr)
    if p.returncode != 0 or not m:
        sys.exit("sweep: %s did not run cleanly without failures:\n%s" % (" ".join(cmd), p.stderr[-2000:]))
    return int(m.group(1))


def sample(total, full, stride):
    """Every stride-th N up to 300 (every N with --full), then 200 spread over the rest."""
    if full:
        return list(range(1, total + 1))
    head = list(range(1, min(total, 300) + 1, stride))
    if total <= 300:
        return head + ([total] if head[-1] != total else [])
    rest = total - 300
    return head + sorted({300 + rest * k // 200 for k in range(1, 201)})


# one file per decoder path worth failing in: baseline and progressive JPEG, plain and
# interlaced PNG, an RLE and a bitfields BMP, binary and text PNM, lossy and lossless WebP
IMAGE_SEEDS = ["fx_base.jpg", "fx_progressive.jpg", "fx_gray.png", "fx_interlaced.png", "fx_rle8.bmp",
               "fx_bitfields32.bmp", "fx_rgb.ppm", "fx_gray_text.pgm", "fx_lossy.webp", "fx_alpha_lossless.webp"]


def image_files(seeds):
    files = [os.path.join(seeds, f) for f in IMAGE_SEEDS]
    missing = [f for f in files if not os.path.exists(f)]
    if missing:
        sys.exit("sweep: missing image seeds: %s" % ", ".join(missing))
    return files


def image_folder(files, root):
    """An ImageFolder of the digits model's ten classes: the images in two of them,
    the others empty."""
    for c in range(10):
        os.makedirs(os.path.join(root, "c%d" % c))
    for i, f in enumerate(files):
        shutil.copy(f, os.path.join(root, "c%d" % (1 if i % 2 else 7)))
    return root


def sanitizer_summary(err):
    """The line that says what went wrong: a sanitizer's report with the first frame
    in bclc's own code, else the last line of stderr."""
    lines = err.strip().splitlines()
    for i, l in enumerate(lines):
        if "ERROR: LeakSanitizer" in l or "ERROR: AddressSanitizer" in l or "runtime error" in l:
            frames = [f for f in lines[i + 1:] if re.search(r"#\d+ .* in (?!(__interceptor_)?(malloc|calloc|realloc|strdup|aligned_alloc)\b|operator new|bcl_\w*alloc|bcl_oom|bcl_\w*strdup)", f)]
            return [l.strip() + (" at " + frames[0].strip() if frames else "")]
    return lines[-1:] if lines else ["(no message)"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bclc", required=True)
    ap.add_argument("--classify", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--full", action="store_true", help="fail every allocation, however many")
    ap.add_argument("--jobs", type=int, default=2, help="runs at once")
    ap.add_argument("--stride", type=int, default=1, help="fail every stride-th of the first 300 allocations")
    ap.add_argument("--only", help="sweep only these runs (comma-separated names)")
    a = ap.parse_args()
    d = os.path.join(a.root, "examples", "digits")
    model, weights, x = (os.path.join(d, f) for f in ("digits.bcl", "digits.safetensors", "sample_3.npy"))
    images = image_files(os.path.join(a.root, "tests", "fuzz", "seeds", "image"))
    tmp = tempfile.mkdtemp(prefix="bcl-oom-")
    folder = image_folder(images, os.path.join(tmp, "val"))
    gray = ["-o", "preprocess.img_color_space=GRAY"]   # the digits model reads one channel
    runs = {
        "check": [a.bclc, "check", model],
        "run-interp": [a.bclc, "run", model, "--weights", weights, "--input", x, "--engine", "interp"],
        "run-unplanned": [a.bclc, "run", model, "--weights", weights, "--input", x, "--engine", "interp", "--check"],
        "run-jit": [a.bclc, "run", model, "--weights", weights, "--input", x, "--engine", "jit"],
        "run-images": [a.bclc, "run", model, "--weights", weights, "--engine", "interp", "--topk", "1"] + gray +
                      ["--image"] + images,
        "eval": [a.bclc, "eval", model, "--weights", weights, "--data", folder, "--batch", "2", "--workers", "2",
                 "--engine", "interp", "--quiet"] + gray,
        "capi": [a.classify, model, weights, x, os.path.join(d, "labels.txt")],
    }
    cache = os.path.join(tmp, "cache")
    base = dict(os.environ, BCL_NO_CACHE="1")
    cached = dict(os.environ, BCL_CACHE_DIR=cache)
    subprocess.run(runs["run-jit"], env=cached, capture_output=True, timeout=300)   # fills the cache
    envs = {"run-jit-cached": cached}
    runs["run-jit-cached"] = runs["run-jit"]

    def one(job):
        name, n = job
        # under ASan, LeakSanitizer checks each run (unless ASAN_OPTIONS says
        # otherwise): a failure path must free what it allocated
        env = dict(envs.get(name, base), BCL_FAIL_ALLOC=str(n))
        p = subprocess.run(runs[name], env=env, capture_output=True, text=True, timeout=300)
        err = p.stderr
        clean = p.returncode in (0, 1) and (p.returncode == 0 or "out of memory" in err or "BCL_ERR_NO_MEMORY" in err)
        if "Sanitizer" in err or "runtime error" in err:
            clean = False  # a leak (or any other report) on the failure path
        return name, n, p.returncode, clean, "out of memory" in err, sanitizer_summary(err)

    only = a.only.split(",") if a.only else None
    if only and set(only) - set(runs):
        sys.exit("sweep: no run named %s (runs: %s)" % (", ".join(sorted(set(only) - set(runs))), ", ".join(runs)))
    jobs = []
    for name, cmd in runs.items():
        if only and name not in only:
            continue
        total = count_allocations(cmd, envs.get(name, base))
        ns = sample(total, a.full, a.stride)
        print("%s: %d checked allocations, failing each of %d" % (name, total, len(ns)), flush=True)
        jobs += [(name, n) for n in ns]
    bad, failed_clean = [], 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as ex:
        for name, n, rc, clean, oom, summary in ex.map(one, jobs):
            if not clean:
                bad.append((name, n, rc, summary))
            elif oom:
                failed_clean += 1
    shutil.rmtree(tmp, ignore_errors=True)
    total = len(jobs)
    print("%d runs, %d clean out-of-memory errors, %d bad" % (total, failed_clean, len(bad)))
    # one line per distinct failure (the first N that shows it, and how many more do)
    seen = {}
    for b in bad:
        key = (b[0], b[2], re.sub(r"0x[0-9a-f]+|==\d+==", "", b[3][0]))
        seen.setdefault(key, []).append(b[1])
    for (name, rc, _), ns in list(seen.items())[:40]:
        first = next(b for b in bad if b[0] == name and b[1] == ns[0])
        print("BAD %s N=%d status %d (%d like it): %s" % (name, ns[0], rc, len(ns), first[3][0]))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

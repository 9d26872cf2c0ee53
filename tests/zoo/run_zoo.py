#!/usr/bin/env python3
"""Fidelity test of the BaseCls model zoo (stdlib/basecls/models/*.bcl).

For every row of tests/zoo/params/*.tsv it runs `bclc check --model NAME [ARGS]` (build,
trace forward on a 224x224 input, verify) and `bclc params --model NAME [ARGS]`, and sums the
elements of the listed parameters (BatchNorm's running statistics and Swin's rel_pos_index
and attn_mask are buffers, not parameters, as in the published counts). The sum must equal the table's exact count,
and, where the row cites a published figure (in millions), lie within its tolerance.

It also checks that the tables cover every registered zoo model (`bclc list`), that
each model in tests/zoo/keys.txt has the listed state-dict keys with the listed shapes
(BaseCls's attribute names), and that each line of tests/zoo/classes.txt (a class-level
name with explicit arguments) has the listed count.

It checks that docs/zoo.md's tables match the .tsv files (zoo_doc.py --check).
Then it runs forward_check.py (outputs of a model per family against the PyTorch shim of
tests/conformance), when torch is importable.

usage: run_zoo.py --bclc PATH [-j N] [--only SUBSTR] [--print] [--no-forward]
  --print  prints the computed table rows instead of checking them (to update tables)
Exit status 0 when every check passes.
"""
import argparse
import concurrent.futures
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_params(text):
    """[(key, shape tuple)] from `bclc params` output lines 'key [d0, d1, ...]' (an int
    or bool buffer adds its dtype: 'key [49, 49] int32')."""
    out = []
    for line in text.splitlines():
        m = re.match(r"^(\S+) \[([0-9, ]*)\](?: (?:int32|bool))?$", line.strip())
        if not m:
            continue
        dims = tuple(int(d) for d in m.group(2).split(",") if d.strip())
        out.append((m.group(1), dims))
    return out


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def count_params(keys):
    # buffers are not parameters: BatchNorm statistics, Swin's constant index and mask
    return sum(numel(s) for k, s in keys if not re.search(r"(running_(mean|var)|rel_pos_index|attn_mask)$", k))


def run_params(bclc, name, args):
    # NAME@FILE builds FILE (a config naming the class); else the registered NAME
    target = ["--model", name] if "@" not in name else [os.path.join(HERE, name.split("@", 1)[1])]
    t0 = time.time()
    # `check` builds, traces and verifies the graph; `params` lists the state dict
    cmd = [bclc, "check"] + target + args
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        return None, time.time() - t0, " ".join(shlex.quote(c) for c in cmd) + "\n" + p.stderr.strip()
    cmd = [bclc, "params"] + target + args
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    dt = time.time() - t0
    if p.returncode != 0:
        return None, dt, " ".join(shlex.quote(c) for c in cmd) + "\n" + p.stderr.strip()
    return parse_params(p.stdout), dt, None


def read_table(path):
    """Rows of a family table: name, args, exact count, published (M) or None, tol %, source."""
    rows = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) < 3:
                raise SystemExit(f"{path}:{lineno}: expected NAME<TAB>ARGS<TAB>PARAMS[<TAB>PUBLISHED<TAB>TOL%<TAB>SOURCE]")
            cols += [""] * (6 - len(cols))
            name, args, exact, pub, tol, src = cols[:6]
            rows.append(dict(
                where=f"{os.path.basename(path)}:{lineno}",
                name=name,
                args=[] if args in ("", "-") else shlex.split(args),
                exact=int(exact),
                pub=None if pub in ("", "-") else pub,
                tol=float(tol) if tol not in ("", "-") else 0.5,
                src=src,
            ))
    return rows


def published_ok(count, pub, tol_pct):
    # the figure is rounded to its printed decimals: allow that half unit plus tol_pct
    decimals = len(pub.split(".")[1]) if "." in pub else 0
    value = float(pub) * 1e6
    allowed = value * tol_pct / 100.0 + 0.5 * 10 ** (6 - decimals)
    return abs(count - value) <= allowed, (count - value) / value * 100.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bclc", required=True)
    ap.add_argument("-j", type=int, default=2)
    ap.add_argument("--only", default=None)
    ap.add_argument("--print", action="store_true")
    ap.add_argument("--no-forward", action="store_true", help="skip forward_check.py")
    opt = ap.parse_args()

    tables = sorted(f for f in os.listdir(os.path.join(HERE, "params")) if f.endswith(".tsv"))
    rows = []
    for t in tables:
        rows += read_table(os.path.join(HERE, "params", t))
    classes = read_table(os.path.join(HERE, "classes.txt"))
    keys = {}
    with open(os.path.join(HERE, "keys.txt")) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                model, key, shape = line.split(None, 2)
                keys.setdefault(model, []).append((key, tuple(int(d) for d in re.findall(r"\d+", shape))))
    if opt.only:
        rows = [r for r in rows if opt.only in r["name"]]
        classes = [r for r in classes if opt.only in r["name"]]

    failures = []
    t0 = time.time()

    # coverage: every registered zoo model is in a table, and every table row is registered
    if not opt.only:
        p = subprocess.run([opt.bclc, "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            failures.append("bclc list failed:\n" + p.stderr)
        registered = {l.split()[1] for l in p.stdout.splitlines() if l.startswith("model ")}
        tabled = {r["name"] for r in rows} | {r["name"].split("@")[0] for r in classes}
        for name in sorted(registered - tabled):
            failures.append(f"registered model '{name}' is in no table under tests/zoo/")
        for name in sorted(tabled - registered):
            failures.append(f"table model '{name}' is not registered (bclc list)")

    jobs = [("row", r) for r in rows] + [("class", r) for r in classes]
    slowest = (0.0, "")
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, opt.j)) as pool:
        futs = [(kind, r, pool.submit(run_params, opt.bclc, r["name"], r["args"])) for kind, r in jobs]
        for kind, r, fut in futs:
            params, dt, err = fut.result()
            label = r["name"] + ("" if not r["args"] else " " + " ".join(r["args"]))
            slowest = max(slowest, (dt, label))
            if err:
                failures.append(f"{r['where']}: {label}: bclc failed:\n{err}")
                continue
            count = count_params(params)
            if opt.print:
                cols = [r["name"], " ".join(shlex.quote(a) for a in r["args"]) or "-", str(count),
                        r["pub"] or "-", "%g" % r["tol"], r["src"]]
                print("\t".join(cols).rstrip("\t-") if not r["pub"] else "\t".join(cols))
            if count != r["exact"]:
                failures.append(f"{r['where']}: {label}: {count} parameters, table says {r['exact']}")
            if r["pub"]:
                ok, dev = published_ok(count, r["pub"], r["tol"])
                if not ok:
                    failures.append(f"{r['where']}: {label}: {count / 1e6:.3f}M parameters, published "
                                    f"{r['pub']}M ({r['src']}): off by {dev:+.2f}% (tolerance {r['tol']}%)")
            if kind == "row" and r["name"] in keys and not r["args"]:
                have = dict(params)
                for key, shape in keys[r["name"]]:
                    if key not in have:
                        failures.append(f"keys.txt: {r['name']}: missing state-dict key '{key}'")
                    elif have[key] != shape:
                        failures.append(f"keys.txt: {r['name']}: '{key}' has shape {list(have[key])}, "
                                        f"expected {list(shape)}")

    total = time.time() - t0
    n = len(jobs)

    # docs/zoo.md's tables are generated from the same .tsv files
    if not opt.only and not opt.print:
        p = subprocess.run([sys.executable, os.path.join(HERE, "zoo_doc.py"), "--check"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if p.returncode != 0:
            failures.append(p.stdout.strip())

    # outputs against the PyTorch shim (needs torch; skipped without it)
    fwd = "skipped"
    if not opt.no_forward and not opt.print:
        try:
            import numpy  # noqa: F401
            import torch  # noqa: F401
            have_torch = True
        except ImportError:
            have_torch = False
        if have_torch:
            with tempfile.TemporaryDirectory(prefix="bcl-zoo-") as work:
                cmd = [sys.executable, os.path.join(HERE, "forward_check.py"), "--bclc", opt.bclc,
                       "--workdir", work] + (["--only", opt.only] if opt.only else [])
                rc = subprocess.run(cmd).returncode
            fwd = "passed" if rc == 0 else "FAILED"
            if rc != 0:
                failures.append("forward_check.py: outputs differ from the PyTorch shim (see above)")
        else:
            print("zoo: torch/numpy not importable: forward_check.py skipped", file=sys.stderr)
    for msg in failures:
        print("FAIL: " + msg, file=sys.stderr)
    print(f"zoo: {n} models built and traced in {total:.1f}s (slowest {slowest[0]:.2f}s: {slowest[1]}); "
          f"forward check {fwd}; {len(failures)} failure(s)", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

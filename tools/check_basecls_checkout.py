#!/usr/bin/env python3
"""Run bclc over a BaseCls checkout: every model file, every builder, the zoo configs.

Usage: /usr/bin/python3 tools/check_basecls_checkout.py PATH/TO/basecls [options]

For each of BaseCls's model files (basecls/models/<family>.py) it lists the builders the
file registers (functions under @registers.models.register(); the classes need
arguments) and, for each, runs `bclc check FILE --model NAME` and compares the keys and
shapes of `bclc params FILE --model NAME` with the built-in zoo's `bclc params --model
NAME`. With --outputs it also runs the smallest builder of each file and the zoo's
builder of that name on the same random weights and input (numpy, seeded) and compares
the outputs (buffers the constructor computes, named like `*index*`/`*mask*`, keep the
model's values: --non-strict). Then it runs `bclc check` on the zoo configuration files
(zoo/public/<family>/<name>.py), as BaseCls's test tool is given them: once with the
built-in zoo, once with `-I CHECKOUT` so that the model is built from the checkout's
own basecls/models files.

Prints a Markdown table per part; exits 1 when anything failed. Needs numpy only for
--outputs. Not run in CI: the checkout is not part of this repository (docs/zoo.md).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

FAMILIES = ["resnet", "regnet", "effnet", "mbnet", "snet", "vgg", "repvgg", "hrnet",
            "vit", "swin", "resmlp"]

# A registration: @registers.models.register(...) and further decorators, then the def.
REGISTRATION = re.compile(
    r"@registers\.models\.register\(([^)]*)\)\s*\n((?:\s*@(?:[^\n]|\n(?!\s*(?:def|class)\s))*?\n)*?)"
    r"\s*(def|class)\s+(\w+)")


def registered_builders(path):
    """(name, kind) for each registration in a model file, in file order."""
    with open(path, encoding="utf-8") as f:
        source = f.read()
    found = []
    for m in REGISTRATION.finditer(source):
        explicit = re.search(r"name\s*=\s*[\"']([^\"']+)[\"']", m.group(1))
        found.append((explicit.group(1) if explicit else m.group(4), m.group(3)))
    return found


def first_error(text):
    for line in text.splitlines():
        if ": error:" in line:
            return line.split(": error:", 1)[1].strip()
    lines = [l for l in text.splitlines() if l.strip()]
    return lines[-1].strip() if lines else ""


def run(cmd, timeout):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return 124, "", "timed out after %ds" % timeout


def params_of(bclc, args, timeout):
    rc, out, err = run([bclc, "params"] + args, timeout)
    return rc, out, err


# Buffers a constructor computes (Swin's rel_pos_index, attn_mask): random values would
# make no sense (an index must be whole), so they keep the model's own.
COMPUTED_BUFFER = re.compile(r"index|mask")


def random_weights(params_text, path, seed):
    """Seeded weights for every key of `bclc params` output, saved as .npz."""
    import numpy as np
    rng = np.random.default_rng(seed)
    arrays = {}
    for line in params_text.splitlines():
        m = re.match(r"(\S+) \[([0-9, ]*)\]", line)
        if not m:
            continue
        key = m.group(1)
        shape = [int(s) for s in m.group(2).split(",") if s.strip()]
        if COMPUTED_BUFFER.search(key.rsplit(".", 1)[-1]):
            continue   # the model's own values (run with --non-strict)
        if key.endswith("running_var"):
            a = rng.uniform(0.5, 1.5, shape)
        elif key.endswith("num_batches_tracked"):
            continue
        else:
            a = rng.standard_normal(shape) * 0.05
        arrays[key] = a.astype(np.float32)
    np.savez(path, **arrays)


def compare_outputs(bclc, model_file, name, tmp, timeout, extra):
    """Runs FILE's builder and the zoo's on the same weights and input."""
    import numpy as np
    rc, zoo_params, err = params_of(bclc, ["--model", name] + extra, timeout)
    if rc != 0:
        return "zoo: " + first_error(err)
    weights = os.path.join(tmp, name + ".npz")
    random_weights(zoo_params, weights, 7)
    rc, dump, err = run([bclc, "dump-ir", "--model", name] + extra, timeout)
    m = re.search(r"input %input: f32\[([0-9, ]+)\]", dump)
    if not m:
        return "zoo input shape: " + first_error(err)
    shape = [int(s) for s in m.group(1).split(",")]
    x = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    xin = os.path.join(tmp, name + "_x.npy")
    np.save(xin, x)
    outs = []
    for src in ([model_file, "--model", name], ["--model", name]):
        y = os.path.join(tmp, name + "_%d.npy" % len(outs))
        rc, out, err = run([bclc, "run"] + src + extra + ["--weights", weights, "--non-strict",
                           "--input", xin, "--output", y, "--engine", "interp"], timeout)
        if rc != 0:
            return ("file" if not outs else "zoo") + " run: " + first_error(err)
        outs.append(np.load(y))
    if outs[0].shape != outs[1].shape:
        return "output shapes differ: %s vs %s" % (outs[0].shape, outs[1].shape)
    diff = float(np.max(np.abs(outs[0] - outs[1]))) if outs[0].size else 0.0
    if diff == 0.0:
        return "bit-identical"
    scale = float(np.max(np.abs(outs[1]))) or 1.0
    return ("within tolerance" if diff <= 1e-5 * scale else "DIFFERENT") + \
        " (max |diff| %.3g)" % diff


def check_model_files(args, tmp):
    rows = []
    failures = 0
    for family in FAMILIES:
        path = os.path.join(args.checkout, "basecls", "models", family + ".py")
        if not os.path.exists(path):
            rows.append((family + ".py", "-", "missing", "", ""))
            failures += 1
            continue
        builders = [n for n, kind in registered_builders(path) if kind == "def"]
        if args.only:
            builders = [b for b in builders if re.search(args.only, b)]
        ok_check = ok_keys = 0
        problems = []
        for name in builders:
            rc, out, err = run([args.bclc, "check", path, "--model", name], args.timeout)
            if rc != 0:
                problems.append("%s: %s" % (name, first_error(err)))
                continue
            ok_check += 1
            rc, mine, err = params_of(args.bclc, [path, "--model", name], args.timeout)
            rc2, zoo, err2 = params_of(args.bclc, ["--model", name], args.timeout)
            if rc2 != 0:
                ok_keys += 1  # nothing to compare with
                continue
            if rc == 0 and mine == zoo:
                ok_keys += 1
            else:
                problems.append("%s: keys/shapes differ from the zoo's" % name)
        outputs = []
        if args.outputs and builders:
            names = [b for b in args.outputs_for if b in builders] if args.outputs_for else \
                [args.output_builders.get(family, builders[0])]
            for name in names:
                verdict = compare_outputs(args.bclc, path, name, tmp, args.timeout, [])
                outputs.append("%s: %s" % (name, verdict))
                if not (verdict.startswith("bit-identical") or verdict.startswith("within")):
                    failures += 1
        outputs = "; ".join(outputs)
        status = "pass" if ok_check == len(builders) and ok_keys == len(builders) else "FAIL"
        if status == "FAIL":
            failures += 1
        rows.append(("basecls/models/%s.py" % family,
                     "%d/%d" % (ok_check, len(builders)),
                     "%d/%d" % (ok_keys, len(builders)),
                     outputs, "; ".join(problems[:3]) + (" ..." if len(problems) > 3 else "")))
    print("| model file | bclc check | keys = zoo's | outputs vs zoo (same weights) | failures |")
    print("|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()
    return failures


def check_zoo_configs(args):
    """Each zoo config file, as BaseCls's test tool is given one: with the built-in zoo,
    and with -I CHECKOUT, so that the model comes from the checkout's own files."""
    root = os.path.join(args.checkout, "zoo", "public")
    if not os.path.isdir(root):
        print("(no zoo/public in the checkout)")
        return 0
    rows = []
    failures = 0
    for family in sorted(os.listdir(root)):
        fdir = os.path.join(root, family)
        if not os.path.isdir(fdir):
            continue
        files = sorted(f for f in os.listdir(fdir) if f.endswith(".py"))
        if args.zoo_sample:
            files = files[:args.zoo_sample]
        ok = [0, 0]
        problems = []
        for f in files:
            path = os.path.join(fdir, f)
            for k, extra in enumerate(([], ["-I", args.checkout])):
                rc, out, err = run([args.bclc, "check", path] + extra, args.timeout)
                if rc == 0:
                    ok[k] += 1
                else:
                    problems.append("%s%s: %s" % (f, " (-I)" if extra else "", first_error(err)))
        if ok[0] != len(files) or ok[1] != len(files):
            failures += 1
        rows.append(("zoo/public/%s/*.py" % family, "%d/%d" % (ok[0], len(files)),
                     "%d/%d" % (ok[1], len(files)),
                     "; ".join(problems[:3]) + (" ..." if len(problems) > 3 else "")))
    print("| zoo configs | bclc check (built-in zoo) | bclc check -I checkout (its model files) | failures |")
    print("|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()
    return failures


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkout", help="a BaseCls checkout (holds basecls/ and zoo/)")
    ap.add_argument("--bclc", default=os.path.join(here, "..", "build", "bclc"),
                    help="the bclc binary (default: build/bclc of this repository)")
    ap.add_argument("--outputs", action="store_true",
                    help="also compare outputs with the zoo's on the same weights")
    ap.add_argument("--outputs-for", default="",
                    help="with --outputs: compare these builders (comma-separated) instead of "
                         "each family's smallest")
    ap.add_argument("--only", help="only builders whose names match this regex")
    ap.add_argument("--zoo-sample", type=int, default=0,
                    help="check only the first N config files of each zoo family")
    ap.add_argument("--no-zoo", action="store_true", help="skip the zoo configs")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per bclc command")
    args = ap.parse_args()
    args.outputs_for = [n for n in args.outputs_for.split(",") if n]
    if not os.path.exists(args.bclc):
        found = shutil.which("bclc")
        if not found:
            sys.exit("bclc not found: build it or pass --bclc")
        args.bclc = found
    # The builder whose outputs are compared: the family's smallest.
    args.output_builders = {
        "resnet": "resnet18", "regnet": "regnetx_002", "effnet": "effnet_b0",
        "mbnet": "mbnetv2_x050", "snet": "snetv2_x050", "vgg": "vgg11_bn",
        "repvgg": "repvgg_a0", "hrnet": "hrnet_w18_small_v1",
        "vit": "vit_tiny_patch16_224", "swin": "swin_tiny_patch4_window7_224",
        "resmlp": "resmlp_s12"}
    with tempfile.TemporaryDirectory() as tmp:
        failures = check_model_files(args, tmp)
    if not args.no_zoo:
        failures += check_zoo_configs(args)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

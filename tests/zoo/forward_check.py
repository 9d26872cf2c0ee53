#!/usr/bin/python3
"""Runs zoo models through bclc and through the PyTorch shim of the conformance tests
(tests/conformance/bclshim: torch-backed stand-ins of MegEngine and BaseCls, which
execute the zoo's .bcl files as plain Python), with the same random weights (given to bclc in PyTorch's and in
MegEngine's layouts) and input, and compares the outputs (max|bclc - torch| <= 1e-4 + 1e-3 * max|torch|).

This checks that bclc elaborates and runs the zoo code with Python's semantics and
that bclc's stdlib layers behave as the shim's independent ones; the architectures
themselves are checked against published parameter counts by run_zoo.py.

usage: forward_check.py --bclc PATH --workdir DIR [--only SUBSTR]
Needs /usr/bin/python3 with torch and numpy; exit status 0 when every case passes.
"""
import argparse
import concurrent.futures
import os
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "conformance"))

# (registered model, family file, input shape, config overrides)
CASES = [
    ("resnet50d", "resnet", "1,3,64,64", []),
    ("se_resnext50_32x4d", "resnet", "1,3,64,64", []),
    ("mbnetv1_x025", "mbnet", "1,3,64,64", []),
    ("mbnetv3_small_x100", "mbnet", "2,3,64,64", []),
    ("effnetv2_b0", "effnet", "1,3,64,64", []),
    ("effnet_b0_lite", "effnet", "1,3,64,64", []),
    ("regnety_002", "regnet", "1,3,64,64", []),
    ("vgg11_bn", "vgg", "1,3,224,224", ["model.widths=[8,8,16,16,16]", "model.head.width=32"]),
    ("repvgg_a0", "repvgg", "1,3,64,64", []),
    ("repvgg_a0", "repvgg", "1,3,64,64", ["model.deploy=True"]),
    ("snetv2_x050", "snet", "2,3,64,64", []),
    ("snetv2p_x075", "snet", "1,3,64,64", []),
    ("hrnet_w18_small_v1", "hrnet", "1,3,64,64", []),
    ("vit_tiny_patch16_224", "vit", "2,3,32,32",
     ["model.img_size=32", "model.patch_size=8", "model.depth=2", "model.embed_dim=48"]),
    ("vit_tiny_patch16_224", "vit", "1,3,32,32",
     ["model.img_size=32", "model.patch_size=8", "model.depth=1", "model.distilled=True"]),
    ("vit_small_patch32_224", "vit", "1,3,64,64",
     ["model.img_size=64", "model.depth=1", "model.qkv_bias=False", "model.num_classes=10"]),
    ("resmlp_s12", "resmlp", "2,3,32,32", ["model.img_size=32", "model.patch_size=8", "model.depth=2"]),
    # Swin: shifted windows with a mask (8x8 tokens, window 4), a window as large as the
    # last stage's input (no shift), patch merging, absolute position embedding
    ("swin_tiny_patch4_window7_224", "swin", "2,3,32,32",
     ["model.img_size=32", "model.embed_dim=16", "model.depths=[2,2,1]", "model.num_heads=[1,2,4]",
      "model.window_size=4"]),
    ("swin_tiny_patch4_window7_224", "swin", "1,3,56,56",
     ["model.img_size=56", "model.embed_dim=24", "model.depths=[2,2]", "model.num_heads=[2,4]",
      "model.ape=True", "model.qkv_bias=False"]),
    # full size, as issue 7 asks
    ("resnet18", "resnet", "1,3,224,224", []),
    ("mbnetv2_x100", "mbnet", "1,3,224,224", []),
    ("regnetx_002", "regnet", "1,3,224,224", []),
    ("effnet_b0", "effnet", "1,3,224,224", []),
    ("vit_small_patch16_224", "vit", "1,3,224,224", []),
    ("resmlp_s12", "resmlp", "1,3,224,224", []),
    ("swin_tiny_patch4_window7_224", "swin", "1,3,224,224", []),
]

# families whose small cases also run on the interpreter
INTERP_FAMILIES = ("vit", "resmlp", "swin")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bclc", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--only", default=None)
    opt = ap.parse_args()
    import numpy as np
    from bclshim import loader
    from bclshim.reference import write_case
    from bclshim.zoo import enable_basecls_models

    enable_basecls_models()
    stdlib = os.path.join(ROOT, "stdlib")

    # references first (torch, in this process), then the bclc runs, two at a time
    runs = []
    for i, (name, family, shape, overrides) in enumerate(CASES):
        label = name + "".join(" -o " + o for o in overrides)
        if opt.only and opt.only not in label:
            continue
        d = os.path.join(opt.workdir, f"{i:02d}_{name}")
        os.makedirs(d, exist_ok=True)
        case = os.path.join(d, "case.bcl")
        with open(case, "w") as f:
            f.write(f"from basecls.models.{family} import {name}\n\n"
                    f"_cfg = dict(num_classes=1000, model=dict(name=\"{name}\"))\n")
        model, _ = loader.build_from_file(case, overrides, "_cfg", [stdlib])
        ref = write_case(model, [int(v) for v in shape.split(",")], 1234, d)
        # PyTorch-layout weights, then MegEngine's layouts of the same tensors
        for layout, wfile in (("torch", "weights.safetensors"), ("mge", "weights_mge.safetensors")):
            out = os.path.join(d, f"y_{layout}.npy")
            cmd = [opt.bclc, "run", case, "--weights", os.path.join(d, wfile),
                   "--input", os.path.join(d, "input.npy"), "--output", out]
            for o in overrides:
                cmd += ["-o", o]
            runs.append((f"{label} [{shape}, {layout} weights]", cmd, out, ref))
        # the small transformer cases also on the reference interpreter (issue 12)
        if family in INTERP_FAMILIES and not shape.endswith(",224,224"):
            out = os.path.join(d, "y_interp.npy")
            cmd = [opt.bclc, "run", case, "--engine", "interp", "--weights", os.path.join(d, "weights.safetensors"),
                   "--input", os.path.join(d, "input.npy"), "--output", out]
            for o in overrides:
                cmd += ["-o", o]
            runs.append((f"{label} [{shape}, torch weights, interpreter]", cmd, out, ref))

    def run(item):
        t0 = time.time()
        p = subprocess.run(item[1], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return p, time.time() - t0

    failures = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        for (label, cmd, out, ref), (p, dt) in zip(runs, pool.map(run, runs)):
            if p.returncode != 0:
                print(f"FAIL {label}: bclc failed:\n  {' '.join(map(shlex.quote, cmd))}\n{p.stderr}",
                      file=sys.stderr)
                failures += 1
                continue
            y = np.load(out)
            if y.shape != ref.shape:
                print(f"FAIL {label}: output shape {y.shape}, torch {ref.shape}", file=sys.stderr)
                failures += 1
                continue
            err = float(np.abs(y - ref).max())
            tol = 1e-4 + 1e-3 * float(np.abs(ref).max())
            ok = err <= tol
            failures += 0 if ok else 1
            print(f"{'ok  ' if ok else 'FAIL'} {label}: max|diff| {err:.3g} (tolerance {tol:.3g}, "
                  f"{dt:.1f}s)", file=sys.stderr)
    print(f"forward_check: {len(runs)} runs, {failures} failure(s)", file=sys.stderr)
    return 1 if failures else 0

if __name__ == "__main__":
    sys.exit(main())

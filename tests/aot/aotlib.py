"""What the AOT test scripts share: their command line (the tools and folders ctest
passes) and running a command that must succeed."""
import argparse
import os
import subprocess
import sys


def parse_args(description):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--bclc", required=True)
    ap.add_argument("--cc", required=True)
    ap.add_argument("--cflags", default="-std=c11 -O2", help="C flags (';' or space separated)")
    ap.add_argument("--bclrt", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    return args


def run(cmd):
    """Runs cmd; exits the test with its output if it fails; returns its stdout."""
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"FAILED ({r.returncode}): {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return r.stdout

#!/usr/bin/python3
"""Every ```sh block of README.md and docs/*.md runs as written.

Each block runs with `bash -e -o pipefail` in a scratch directory that holds a
symbolic link to every top-level entry of the source tree (so `examples/...`,
`tools/...` and `build/...` resolve, and what a command writes lands in the scratch
directory), with `bclc` and `bcl-opt` on PATH (the build's), and with `/tmp` in the
text replaced by the scratch directory's tmp (so concurrent runs do not collide).
Blocks run in file order, so a block may use what an earlier block of the same file
made, and the `export` lines of earlier blocks hold in later ones (as in one shell). A block is skipped only with a reason, written just above it:
    <!-- doc-test: skip: REASON -->
usage: run_doc_commands.py --root SRC --build BUILD --workdir DIR [-k FILTER]
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import time

FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.M | re.S)
TMP = re.compile(r"/tmp(?=[/\s\"']|$)", re.M)
BUILD_DIR_CONFIG = re.compile(r"cmake\s+(-S\s+\S+\s+)?-B\s+build(?=[\s/]|$)", re.M)
SKIP = re.compile(r"<!--\s*doc-test:\s*skip:\s*(.+?)\s*-->\s*$")


def blocks(path):
    text = open(path, encoding="utf-8").read()
    for m in FENCE.finditer(text):
        if m.group(1) not in ("sh", "bash", "shell"):
            continue
        line = text.count("\n", 0, m.start()) + 1
        before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        skip = SKIP.search(before)
        yield line, m.group(2), skip.group(1) if skip else None


def scratch_dir(root, build, work, name):
    d = os.path.join(work, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "tmp"))
    os.makedirs(os.path.join(d, ".bin"))
    for entry in os.listdir(root):
        if entry in (".git", "build", ".bin", "tmp"):
            continue
        os.symlink(os.path.join(root, entry), os.path.join(d, entry))
    os.symlink(build, os.path.join(d, "build"))
    for tool in ("bclc", "bcl-opt"):
        os.symlink(os.path.join(build, tool), os.path.join(d, ".bin", tool))
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("-k", default="")
    a = ap.parse_args()
    root, build = os.path.abspath(a.root), os.path.abspath(a.build)
    files = [os.path.join(root, "README.md")] + sorted(glob.glob(os.path.join(root, "docs", "*.md")))
    failed, ran, skipped = [], 0, 0
    for f in files:
        rel = os.path.relpath(f, root)
        todo = [(line, body, skip) for line, body, skip in blocks(f) if a.k in f"{rel}:{line}"]
        if not todo:
            continue
        d = scratch_dir(root, build, os.path.abspath(a.workdir), rel.replace("/", "_"))
        env = dict(os.environ, PATH=os.path.join(d, ".bin") + os.pathsep + os.environ.get("PATH", ""),
                   TMPDIR=os.path.join(d, "tmp"))
        exports = ""   # the export lines of the blocks run so far, as one shell session keeps them
        for line, body, skip in todo:
            where = f"{rel}:{line}"
            if skip:
                print(f"skip {where}: {skip}")
                skipped += 1
                continue
            if BUILD_DIR_CONFIG.search(body):
                # through the scratch directory's links this would reconfigure the real
                # build directory with the scratch directory as its source
                print(f"FAIL {where}: configures build/ itself; mark it <!-- doc-test: skip: REASON -->")
                failed.append(where)
                continue
            script = TMP.sub(os.path.join(d, "tmp").replace("\\", "\\\\"), exports + body)
            exports += "".join(ln + "\n" for ln in body.splitlines() if ln.startswith("export "))
            t0 = time.time()
            p = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=d, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            ran += 1
            status = "ok  " if p.returncode == 0 else "FAIL"
            print(f"{status} {where} ({time.time() - t0:.1f} s)")
            if p.returncode != 0:
                failed.append(where)
                print("  | " + body.rstrip("\n").replace("\n", "\n  | "))
                print("  output (last lines):")
                for out_line in p.stdout.splitlines()[-15:]:
                    print("    " + out_line)
    print(f"{ran} blocks ran, {skipped} skipped (with reasons), {len(failed)} failed")
    return 1 if failed or ran == 0 else 0


if __name__ == "__main__":
    sys.exit(main())

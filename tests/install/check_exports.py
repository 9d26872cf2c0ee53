#!/usr/bin/env python3
"""Only the C API leaves the library: the dynamic symbols libbcl.so defines, and the
global symbols libbcl.a defines, must be exactly the functions include/bcl/bcl.h
declares with BCL_API (no internal `iterate`/`arena_alloc`, no LLVM, no bclrt);
libbcl.so has a versioned soname."""
import argparse
import re
import subprocess
import sys


def api_functions(header):
    text = open(header, encoding="utf-8").read()
    names = set(re.findall(r"^BCL_API\b[^;(]*?\b(bcl_\w+)\s*\(", text, re.M))
    if len(names) < 10:
        sys.exit(f"{header}: found only {len(names)} BCL_API functions; the parser is wrong")
    return names


def defined_globals(args):
    out = subprocess.run(["nm", "--defined-only", "-g"] + args, check=True,
                         capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        # "address type name" (archive member headers skipped); type A is the
        # version node of the version script (BCL_0), not a symbol of code or data
        if len(parts) == 3 and parts[1] != "A":
            names.add(parts[2].split("@")[0])
    return names


def compare(what, got, want):
    extra, missing = sorted(got - want), sorted(want - got)
    for n in extra:
        print(f"{what}: exports {n}, which is not a BCL_API function of bcl.h")
    for n in missing:
        print(f"{what}: does not export {n}, declared in bcl.h")
    return not extra and not missing


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--header", required=True)
    ap.add_argument("--shared", required=True)
    ap.add_argument("--static", required=True)
    a = ap.parse_args()
    api = api_functions(a.header)
    ok = compare(a.shared, defined_globals(["-D", a.shared]), api)
    ok &= compare(a.static, defined_globals([a.static]), api)
    dyn = subprocess.run(["readelf", "-d", a.shared], check=True, capture_output=True, text=True).stdout
    m = re.search(r"\(SONAME\)\s+Library soname: \[(.*?)\]", dyn)
    if not m or not re.fullmatch(r"libbcl\.so\.\d+", m.group(1)):
        print(f"{a.shared}: soname {m.group(1) if m else None!r}, want libbcl.so.MAJOR")
        ok = False
    print(f"{len(api)} API functions; libbcl.so and libbcl.a export exactly those" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The layering check (ctest `layering`): every #include in a library folder names a
folder that folder may depend on, includes are root-relative, and runtime/ and
include/bcl/ use nothing but themselves and the C library.

The allowed table is written once, here (ALLOWED); docs/architecture.md carries the
same table, and this script fails when the two differ.

    check_layering.py [--root DIR]      check the tree (exit 1 listing each violation)
    check_layering.py --self-test       check that violations are caught
"""
import argparse
import os
import re
import sys
import tempfile

# folder -> the folders its files may include (each folder may include itself).
ALLOWED = {
    "support": [],
    "ir": ["support"],
    "frontend": ["support", "ir", "stdlib"],
    "stdlib": [],
    "passes": ["support", "ir", "backend/interp"],
    "backend/interp": ["support", "ir"],
    "backend/llvm": ["support", "ir", "runtime"],
    "runtime": [],
    "io": ["support", "ir"],
    "api": ["support", "ir", "frontend", "stdlib", "passes", "backend/interp", "backend/llvm",
            "runtime", "io", "include/bcl"],
    "include/bcl": [],
    "tools": ["support", "ir", "frontend", "stdlib", "passes", "backend/interp", "backend/llvm",
              "runtime", "io", "api", "include/bcl"],
}

# Headers generated into the build tree, included by bare name.
GENERATED = {"frontend": {"parser.h", "lexer.h"}}

# What "nothing but the C library" allows (runtime/, include/bcl/): ISO C and POSIX.
LIBC = {
    "assert.h", "ctype.h", "errno.h", "float.h", "inttypes.h", "limits.h", "math.h",
    "stdalign.h", "stdarg.h", "stdatomic.h", "stdbool.h", "stddef.h", "stdint.h", "stdio.h",
    "stdlib.h", "string.h", "time.h", "pthread.h", "unistd.h", "sched.h", "fcntl.h",
    "sys/types.h", "sys/stat.h", "sys/mman.h", "sys/time.h",
}
LIBC_ONLY = {"runtime", "include/bcl"}

SOURCE_EXT = (".c", ".h", ".y", ".l", ".def")
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^">]+)[">]', re.M)


def folder_of(path):
    """The library folder a repository path belongs to (the longest match), or None."""
    best = None
    for f in ALLOWED:
        if path == f or path.startswith(f + "/"):
            if best is None or len(f) > len(best):
                best = f
    return best


def included_folder(name):
    """The folder an include names: root-relative, or "bcl/..." through include/."""
    if name.startswith("bcl/"):
        return "include/bcl"
    return folder_of(name)


def check_tree(root):
    problems = []
    for top in sorted(ALLOWED):
        base = os.path.join(root, top)
        if not os.path.isdir(base):
            continue
        for dirpath, _, files in os.walk(base):
            for fn in sorted(files):
                if not fn.endswith(SOURCE_EXT):
                    continue
                full = os.path.join(dirpath, fn)
                rel = os.path.relpath(full, root).replace(os.sep, "/")
                here = folder_of(rel)
                if here != top:
                    continue   # a nested library folder: checked under its own name
                with open(full, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                for m in INCLUDE_RE.finditer(text):
                    kind, name = m.group(1), m.group(2)
                    line = text.count("\n", 0, m.start()) + 1
                    where = f"{rel}:{line}"
                    if kind == "<":
                        if here in LIBC_ONLY and name not in LIBC:
                            problems.append(f"{where}: {here}/ uses only the C library, not <{name}>")
                        continue
                    if ".." in name.split("/"):
                        problems.append(f'{where}: "{name}" is file-relative; include it from the root')
                        continue
                    if "/" not in name:
                        if name not in GENERATED.get(here, set()):
                            problems.append(f'{where}: "{name}" is not root-relative (write "{top}/{name}")')
                        continue
                    target = included_folder(name)
                    if target is None:
                        problems.append(f'{where}: "{name}" is in no library folder')
                    elif target != here and target not in ALLOWED[here]:
                        problems.append(f'{where}: {here}/ may not include {target}/ ("{name}")')
    return problems


def doc_table(path):
    """The 'folder | may include' table of docs/architecture.md as {folder: [folders]}."""
    rows, in_table = {}, False
    with open(path, encoding="utf-8") as f:
        for line in f:
            s = line.strip()
            if not in_table:
                in_table = s.replace(" ", "") == "|folder|mayinclude|"
                continue
            if not s.startswith("|"):
                break
            cells = [c.strip() for c in s.strip("|").split("|")]
            if len(cells) != 2 or cells[0].startswith("---"):
                continue
            folder = cells[0].strip("`").rstrip("/")
            deps = [] if cells[1] in ("", "-", "(itself only)") else \
                [d.strip().strip("`").rstrip("/") for d in cells[1].split(",")]
            rows[folder] = deps
    return rows


def check_doc(root):
    path = os.path.join(root, "docs", "architecture.md")
    if not os.path.exists(path):
        return [f"{path}: missing (it carries the allowed table)"]
    doc = doc_table(path)
    if not doc:
        return [f"{path}: no '| folder | may include |' table"]
    problems = []
    for folder in sorted(set(doc) | set(ALLOWED)):
        if folder not in doc:
            problems.append(f"docs/architecture.md: the table has no row for {folder}/")
        elif folder not in ALLOWED:
            problems.append(f"docs/architecture.md: the table names {folder}/, which the check does not know")
        elif sorted(doc[folder]) != sorted(ALLOWED[folder]):
            problems.append(f"docs/architecture.md: {folder}/ may include {', '.join(doc[folder]) or 'nothing else'}"
                            f" says the table; tools/check_layering.py says {', '.join(ALLOWED[folder]) or 'nothing else'}")
    return problems


def self_test():
    """The check must fail on each kind of violation and pass on a clean tree."""
    cases = {
        "ir/a.c": ('#include "frontend/ast.h"\n', "ir/ may not include frontend/"),
        "passes/b.c": ('#include "api/pipeline.h"\n', "passes/ may not include api/"),
        "runtime/c.c": ("#include <llvm-c/Core.h>\n", "runtime/ uses only the C library"),
        "runtime/d.c": ('#include "ir/ir.h"\n', "runtime/ may not include ir/"),
        "io/e.c": ('#include "../ir/ir.h"\n', "is file-relative"),
        "support/f.c": ('#include "diag.h"\n', "is not root-relative"),
        "backend/llvm/g.c": ('#include "backend/interp/interp.h"\n', "backend/llvm/ may not include backend/interp/"),
    }
    ok = True
    for rel, (text, want) in cases.items():
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(d, rel), "w") as f:
                f.write(text)
            got = check_tree(d)
            if not any(want in p for p in got):
                print(f"self-test: {rel} with {text.strip()!r} should report '{want}', got {got}")
                ok = False
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "backend", "llvm"))
        with open(os.path.join(d, "backend", "llvm", "h.c"), "w") as f:
            f.write('#include "runtime/pool.h"\n#include "ir/ir.h"\n#include <stdio.h>\n')
        got = check_tree(d)
        if got:
            print(f"self-test: a clean file was reported: {got}")
            ok = False
    print("self-test: ok" if ok else "self-test: FAILED")
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if args.self_test:
        return self_test()
    root = os.path.abspath(args.root)
    problems = check_tree(root) + check_doc(root)
    for p in problems:
        print(p)
    if problems:
        print(f"layering: {len(problems)} problem(s); the allowed table is ALLOWED in tools/check_layering.py")
        return 1
    print(f"layering: ok ({len(ALLOWED)} folders)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

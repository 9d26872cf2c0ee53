"""Runs a command and inverts success; with --code N requires exit status N exactly.
Used by lit tests as `%not --code 1 %bclc check bad.bcl 2>&1 | FileCheck %s`."""
import subprocess
import sys

args = sys.argv[1:]
want = None
if args[:1] == ["--code"]:
    want = int(args[1])
    args = args[2:]
rc = subprocess.call(args)
if want is not None:
    sys.exit(0 if rc == want else 1)
sys.exit(0 if rc != 0 else 1)

#!/bin/sh
# Runs one libFuzzer target for a fixed time on its committed seeds (CI: ctest -L fuzz).
# usage: run_fuzz.sh TARGET SEED_DIR WORK_DIR SECONDS
# New inputs go to WORK_DIR (in the build tree); the seeds are only read.
set -e
mkdir -p "$3"
exec "$1" -max_total_time="$4" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 "$3" "$2"

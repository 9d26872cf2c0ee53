"""Checks a `bclc bench --json` file: its fields, its run count (exact N, or minN for
at least N), and that its statistics are those of its latencies (numpy's)."""
import json
import sys

import numpy as np

path, want = sys.argv[1], sys.argv[2]
r = json.load(open(path))
lat = np.array(r["latencies_ms"], dtype=np.float64)
n = r["runs"]
assert n == len(lat), (n, len(lat))
if want.startswith("min"):
    assert n >= int(want[3:]), f"only {n} runs"
else:
    assert n == int(want), f"{n} runs, want {want}"
L = r["latency_ms"]
for key, ref in [("p50", np.percentile(lat, 50)), ("p90", np.percentile(lat, 90)), ("p99", np.percentile(lat, 99)),
                 ("mean", lat.mean()), ("stddev", lat.std(ddof=1) if n > 1 else 0.0), ("min", lat.min()),
                 ("max", lat.max())]:
    assert abs(L[key] - ref) <= 1e-6 * max(1.0, abs(ref)), (key, L[key], ref)
assert abs(r["images_per_s"] - r["batch"] / (lat.mean() / 1e3)) <= 1e-3 * r["images_per_s"], r["images_per_s"]
assert r["threads"] >= 1 and r["online_cpus"] >= 1 and r["cpu"], r
assert r["input_shape"][0] == r["batch"]
assert set(r["compile_s"]) == {"build", "passes", "engine", "total"}
print(f"json ok: {n} runs")

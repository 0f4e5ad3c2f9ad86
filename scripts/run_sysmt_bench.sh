#!/usr/bin/env bash
# Reproduces the SySMT kernel throughput table in docs/results.md: GMAC/s of the scalar
# reference, the fast kernel at 1T/2T/4T (`fast`: sysmt_gemm, which plans and expands the
# weights on every call; `packed`: sysmt_gemm_packed with weights packed once, as inference runs
# it) and libtorch's dense float conv on the layer shapes of bench/layer_shapes.txt, with 1 and
# all CPU threads, and the ratios to the float conv (targets: 2T >= 1/3, 4T >= 1/10).
#   bash scripts/run_sysmt_bench.sh [OUT_DIR] [FILTER]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-results}"
filter="${2:-.}"
mkdir -p "$out"
bench="${BNRECAL_BENCH:-${BNRECAL_BUILD:-build}/bench/bench_sysmt_gemm}"
"$bench" --benchmark_filter="$filter" --benchmark_min_time=0.3 \
    --benchmark_out="$out/bench_sysmt_gemm.json" --benchmark_out_format=json >/dev/null
/usr/bin/python3 - "$out/bench_sysmt_gemm.json" <<'PY' | tee "$out/bench_sysmt_gemm.md"
import collections, json, re, sys
runs = json.load(open(sys.argv[1]))
rows = collections.OrderedDict()
for b in runs["benchmarks"]:
    m = re.match(r"(\w+)/(?:(\dT)/)?([^/\[]+)(?:\[[^\]]*\])?/threads:(\d+)", b["name"])
    kind, smt, layer, threads = m.groups()
    rows.setdefault((layer, threads), {})[kind + ("-" + smt if smt else "")] = b["GMAC/s"]
cols = ["sysmt_ref-2T", "sysmt_ref-4T", "sysmt_fast-1T", "sysmt_fast-2T", "sysmt_fast-4T",
        "sysmt_packed-2T", "sysmt_packed-4T", "float_conv"]
ratios = ["sysmt_fast-2T", "sysmt_fast-4T", "sysmt_packed-2T", "sysmt_packed-4T"]
print("| layer | threads | " + " | ".join(cols) + " | " + " | ".join(r + "/float" for r in ratios) + " |")
print("|---" * (len(cols) + len(ratios) + 2) + "|")
fmt = lambda v: "%.3g" % v if v is not None else "-"
for (layer, threads), v in rows.items():
    f = v.get("float_conv")
    ratio = lambda k: "%.3f" % (v[k] / f) if f and k in v else "-"
    print(f"| {layer} | {threads} | " + " | ".join(fmt(v.get(c)) for c in cols) + " | " +
          " | ".join(ratio(r) for r in ratios) + " |")
PY

#!/usr/bin/env bash
# Whole-model throughput of each arithmetic relative to FP32 (same model, same threads, one run),
# with the per-stage shares of the wall time and the GEMM work SySMT's operand expansion adds
# (multiply-accumulates run / the layers' own): the table of docs/results.md's "Whole-model
# throughput". Runs build/bench/bench_model_throughput and prints a Markdown table (also written
# to OUT_DIR/model_throughput.md; the raw JSON next to it).
#   bash scripts/run_model_throughput_bench.sh [OUT_DIR] [FILTER]     # FILTER e.g. resnet20
# Stop other heavy jobs first: every ratio divides two timings taken minutes apart.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-results}"
filter="${2:-.}"
mkdir -p "$out"
bench="${BNRECAL_BUILD:-build}/bench/bench_model_throughput"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
"$bench" --benchmark_filter="$filter" --benchmark_out="$out/model_throughput.json" \
    --benchmark_out_format=json >/dev/null
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$out/model_throughput.json" "$load_before" "$load_after" <<'PY' | tee "$out/model_throughput.md"
import json, re, sys

runs = json.load(open(sys.argv[1]))["benchmarks"]
rows = {}
for b in runs:
    m = re.match(r"BM_Forward/([^/]+)/([^/]+)/threads:(\d+)", b["name"])
    rows[(m.group(1), int(m.group(3)), m.group(2))] = b
stages = ["quantize", "im2col", "kernel", "rescale", "batchnorm", "other"]
print("| model | threads | arithmetic | images/s | vs fp32 | GEMM work | " + " | ".join(stages) + " |")
print("|---|---|---|---|---|---|" + "---|" * len(stages))
for (model, threads, arith), b in sorted(rows.items(), key=lambda kv: (kv[0][0], kv[0][1])):
    fp32 = rows[(model, threads, "fp32")]["items_per_second"]
    shares = " | ".join(f"{100 * b[s]:.0f} %" for s in stages)
    work = f"{b['gemm_work']:.2f}x" if b.get("gemm_work", 0) > 0 else "-"
    print(f"| {model} | {threads} | {arith} | {b['items_per_second']:.1f} | "
          f"{b['items_per_second'] / fp32:.2f}x | {work} | {shares} |")
print(f"\nload average before {sys.argv[2]}, after {sys.argv[3]}")
PY

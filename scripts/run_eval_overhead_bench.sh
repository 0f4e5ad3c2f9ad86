#!/usr/bin/env bash
# Measures issue 5's evaluation-overhead figure and the image decode rates on this machine:
# ResNet-18 (224x224, batch 32) raw forward vs bnrecal::evaluate() over an ImageFolder of JPEGs,
# their ratio (target >= 0.90), and decode + eval transform images/s single-threaded and through
# the batch loader at 1 thread and all cores. Prints a Markdown table (also written to OUT_DIR).
#   bash scripts/run_eval_overhead_bench.sh [OUT_DIR]
# The two evaluation benchmarks run 6 times each in random interleaved order and the table shows
# medians, so load from other jobs hits both alike; the load average is printed with the table.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-results}"
mkdir -p "$out"
bench_dir="${BNRECAL_BUILD:-build}/bench"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
"$bench_dir/bench_eval_overhead" --benchmark_min_time=2 --benchmark_repetitions=6 \
    --benchmark_enable_random_interleaving=true \
    --benchmark_out="$out/bench_eval_overhead.json" --benchmark_out_format=json >/dev/null
"$bench_dir/bench_image_pipeline" --benchmark_min_time=1 \
    --benchmark_filter='BM_DecodeEvalTransformSingleThread|BM_LoadBatch/.*augment:0' \
    --benchmark_out="$out/bench_image_pipeline.json" --benchmark_out_format=json >/dev/null
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$out/bench_eval_overhead.json" "$out/bench_image_pipeline.json" \
    "$load_before" "$load_after" <<'PY' | tee "$out/bench_eval_overhead.md"
import json, re, sys

def medians(path):
    """Benchmark entries by name (less the /process_time, /real_time suffixes); the medians when repeated."""
    runs = json.load(open(path))["benchmarks"]
    repeated = any(b.get("run_type") == "aggregate" for b in runs)
    return {re.sub(r"(/process_time)?(/real_time)?$", "", b["run_name"]): b
            for b in runs if not repeated or b.get("aggregate_name") == "median"}

def per_cpu_second(b):
    """Images per second of the process's CPU time (all threads): items/iteration / cpu_time."""
    return b["items_per_second"] * b["real_time"] / b["cpu_time"]

evaluation = medians(sys.argv[1])
pipeline = {name: b["items_per_second"] for name, b in medians(sys.argv[2]).items()}
raw = evaluation["BM_RawForward/batch:32"]
ev = evaluation["BM_EvaluateImageFolder/batch:32"]
ratio = ev["items_per_second"] / raw["items_per_second"]
cpu_ratio = per_cpu_second(ev) / per_cpu_second(raw)
print("| measure | images/s |")
print("|---|---|")
print(f"| ResNet-18 raw forward, 224x224, batch 32 (fixed tensor) | {raw['items_per_second']:.1f} |")
print(f"| ResNet-18 `evaluate()` on ImageFolder JPEGs, batch 32 | {ev['items_per_second']:.1f} |")
print(f"| ratio eval / raw forward, wall clock (target >= 0.90) | **{ratio:.3f}** |")
print(f"| ratio eval / raw forward, per process CPU-second (less load-sensitive) | {cpu_ratio:.3f} |")
# This one is timed in CPU time (bench_image_pipeline does not use real time for it).
print(f"| decode + eval transform, single thread, per CPU-second | {pipeline['BM_DecodeEvalTransformSingleThread']:.1f} |")
for name, value in pipeline.items():
    if m := re.fullmatch(r"BM_LoadBatch/threads:(\d+)/augment:0", name):
        print(f"| batch loader (decode + eval transform, batch 32), {m[1]} thread(s), wall clock | {value:.1f} |")
print(f"\nload average (1/5/15 min) before: {sys.argv[3]}; after: {sys.argv[4]}")
PY

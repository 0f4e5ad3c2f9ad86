#!/usr/bin/env bash
# Measures issue 3's cost figure: images/s of a recalibration pass against an evaluation pass of
# the same perturbed model (committed reference model, seed-003 noise at eta0 0.06, batch 256),
# per image; target: recalibration costs at most 1.3x. Two measurements:
#   - the CLI's own timing: `bnrecal eval` (10,000 test images) and `bnrecal recalibrate`
#     (10,000 training images) for the ema and pooled estimators, REPEATS rounds interleaved;
#   - bench/bench_recalibration (untrained resnet20, eta0 0.04, fixed random batches, one process,
#     random interleaving).
# Prints a Markdown table of medians (also written to OUT_DIR/recal_cost.md).
#   bash scripts/run_recal_cost.sh [OUT_DIR]        REPEATS=3 THREADS=2 by default
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-results}"
repeats="${REPEATS:-3}"
threads="${THREADS:-2}"
build="${BNRECAL_BUILD:-build}"
mkdir -p "$out/recal_cost"
work="$out/recal_cost"
perturbation=(--noise seed-003 --eta 0.06)
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$repeats"); do
  echo "round $round/$repeats" >&2
  "$build/bnrecal" eval "${perturbation[@]}" --threads "$threads" -q --json "$work/eval.$round.json" >/dev/null
  for estimator in ema pooled; do
    "$build/bnrecal" recalibrate "${perturbation[@]}" --estimator "$estimator" --images 10000 \
        --threads "$threads" -q -o "$work/recalibrated.safetensors" \
        --json "$work/recal.$estimator.$round.json" >/dev/null
  done
done
"$build/bench/bench_recalibration" --benchmark_min_time=2 --benchmark_repetitions=5 \
    --benchmark_enable_random_interleaving=true \
    --benchmark_out="$work/bench_recalibration.json" --benchmark_out_format=json >/dev/null
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$work" "$repeats" "$load_before" "$load_after" <<'PY' | tee "$out/recal_cost.md"
import json, statistics, sys
work, repeats = sys.argv[1], int(sys.argv[2])
load = lambda name: [json.load(open(f"{work}/{name}.{r}.json")) for r in range(1, repeats + 1)]
cli_eval = statistics.median(j["images_per_second"] for j in load("eval"))
bench = {}
for b in json.load(open(f"{work}/bench_recalibration.json"))["benchmarks"]:
    if b.get("aggregate_name") == "median":
        bench[b.get("label") or "eval"] = b["images/s"]
print("| estimator | CLI: recalibrate / eval images/s | CLI cost ratio | benchmark: recalibrate / eval images/s | benchmark cost ratio |")
print("|---|---|---|---|---|")
for estimator in ("ema", "pooled"):
    cli = statistics.median(j["images"] / j["seconds"] for j in load(f"recal.{estimator}"))
    print(f"| {estimator} | {cli:.0f} / {cli_eval:.0f} | **{cli_eval / cli:.2f}x** | "
          f"{bench[estimator]:.0f} / {bench['eval']:.0f} | **{bench['eval'] / bench[estimator]:.2f}x** |")
print(f"\nmedians of {repeats} CLI rounds and 5 benchmark repetitions; target <= 1.3x; "
      f"load average (1/5/15 min) before: {sys.argv[3]}; after: {sys.argv[4]}")
PY

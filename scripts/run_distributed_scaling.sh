#!/usr/bin/env bash
# The scaling figure of docs/distributed.md: evaluation (the first 5,000 Fashion-MNIST test images,
# batch 256) and recalibration (pooled, 2,048 images, batch 256) of the calibrated ResNet-20 under
# SySMT 4T, as 1 process x 1 thread, 2 processes x 1 thread (`bnrecal launch -n 2`) and 1 process x
# 2 threads, each configuration 3 times in turn, medians of the wall time, and the start-up of each
# (an eval of one batch: process start, model and data loading, joining the job); prints a Markdown table
# (also written to OUT_DIR). Run it on an otherwise idle machine: the ratios are what it measures.
#   bash scripts/run_distributed_scaling.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-results}"
mkdir -p "$out"
cli="${BNRECAL_BUILD:-build}/bnrecal"
model=models/fashion-mnist-resnet20.calibrated.safetensors
eval_args=(eval -m "$model" --policy "sysmt smt=4" --limit 5000 --batch-size 256 -q)
recal_args=(recalibrate -m "$model" --policy "sysmt smt=4" --images 2048 --batch-size 256 -q -o "$out/scaling.tmp.safetensors")
startup_args=(eval -m "$model" --policy "sysmt smt=4" --limit 256 --batch-size 256 -q)
declare -A runs=(
  [startup-1x1]="${startup_args[*]@Q} --threads 1"
  [startup-2x1]="launch -n 2 -- ${startup_args[*]@Q} --threads 1"
  [startup-1x2]="${startup_args[*]@Q} --threads 2"
  [eval-1x1]="${eval_args[*]@Q} --threads 1"
  [eval-2x1]="launch -n 2 -- ${eval_args[*]@Q} --threads 1"
  [eval-1x2]="${eval_args[*]@Q} --threads 2"
  [recal-1x1]="${recal_args[*]@Q} --threads 1"
  [recal-2x1]="launch -n 2 -- ${recal_args[*]@Q} --threads 1"
  [recal-1x2]="${recal_args[*]@Q} --threads 2"
)
: > "$out/scaling.times"
for repeat in 1 2 3; do
  for name in startup-1x1 startup-2x1 startup-1x2 eval-1x1 eval-2x1 eval-1x2 recal-1x1 recal-2x1 recal-1x2; do
    start=$(date +%s.%N)
    eval "\"$cli\" ${runs[$name]}" > /dev/null
    echo "$name $(echo "$(date +%s.%N) - $start" | bc)" >> "$out/scaling.times"
  done
done
rm -f "$out/scaling.tmp.safetensors"
/usr/bin/python3 - "$out/scaling.times" "$(nproc)" <<'PY' | tee "$out/distributed_scaling.md"
import statistics, sys
times = {}
for line in open(sys.argv[1]):
    name, seconds = line.split()
    times.setdefault(name, []).append(float(seconds))
print(f"| work | 1 process x 1 thread | 2 processes x 1 thread | 1 process x 2 threads | 2 processes vs 1 | 2 processes vs 2 threads |")
print("|---|---|---|---|---|---|")
for work, label in [("startup", "start-up: eval of one batch (256 images)"), ("eval", "eval, 5,000 images"),
                    ("recal", "recalibrate pooled, 2,048 images")]:
    m = {k: statistics.median(times[f"{work}-{k}"]) for k in ("1x1", "2x1", "1x2")}
    print(f"| {label} | {m['1x1']:.2f} s | {m['2x1']:.2f} s | {m['1x2']:.2f} s | "
          f"{m['1x1'] / m['2x1']:.2f}x | {m['1x2'] / m['2x1']:.2f}x |")
print(f"\nwall-time medians of 3 runs each, start-up included; {sys.argv[2]} cores")
PY

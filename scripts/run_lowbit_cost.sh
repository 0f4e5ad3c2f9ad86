#!/usr/bin/env bash
# Measures what low-bit (W1A2) arithmetic costs against FP32, as ratios within one run:
#   - training: one epoch of ResNet-20 on TRAIN_LIMIT Fashion-MNIST images (default the whole
#     60,000), `bnrecal train --policy fp32` vs `--policy "lowbit w_bits=1 a_bits=2"`, same seed and
#     threads, REPEATS rounds interleaved (images/s of the epoch, evaluation excluded);
#   - inference: `bnrecal eval` (10,000 test images) of the two checkpoints just trained.
# Prints a Markdown table of medians (also written to OUT_DIR/lowbit_cost.md).
#   bash scripts/run_lowbit_cost.sh [OUT_DIR]       REPEATS=2 THREADS=2 TRAIN_LIMIT=60000 by default
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-results}"
repeats="${REPEATS:-2}"
threads="${THREADS:-2}"
limit="${TRAIN_LIMIT:-60000}"
bin="${BNRECAL_BIN:-./build/bnrecal}"
work="$out/lowbit_cost"
mkdir -p "$work"
declare -A policy=([fp32]="fp32" [w1a2]="lowbit w_bits=1 a_bits=2")
for round in $(seq 1 "$repeats"); do
  for name in fp32 w1a2; do
    echo "round $round/$repeats: $name" >&2
    $bin train --policy "${policy[$name]}" --epochs 1 --train-limit "$limit" --eval-limit 256 --seed 0 \
        --threads "$threads" -q -o "$work/$name.safetensors" --json "$work/train.$name.$round.json" >/dev/null
    $bin eval -m "$work/$name.safetensors" --threads "$threads" -q --json "$work/eval.$name.$round.json" >/dev/null
  done
done
/usr/bin/python3 - "$work" "$repeats" "$limit" "$threads" <<'PY' | tee "$out/lowbit_cost.md"
import json, statistics, sys
work, repeats, limit, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

def find(j, key):
    if isinstance(j, dict):
        if key in j:
            return j[key]
        for v in j.values():
            r = find(v, key)
            if r is not None:
                return r
    if isinstance(j, list):
        for v in j:
            r = find(v, key)
            if r is not None:
                return r
    return None

def median(kind, name):
    return statistics.median(find(json.load(open(f"{work}/{kind}.{name}.{r}.json")), "images_per_second")
                             for r in range(1, repeats + 1))

train = {n: median("train", n) for n in ("fp32", "w1a2")}
infer = {n: median("eval", n) for n in ("fp32", "w1a2")}
print(f"ResNet-20, Fashion-MNIST, {threads} threads, median of {repeats} interleaved rounds "
      f"(training: one epoch of {limit} images):\n")
print("| arithmetic | train images/s | epoch cost vs FP32 | eval images/s | eval speed vs FP32 |")
print("|---|---|---|---|---|")
for n in ("fp32", "w1a2"):
    print(f"| {n} | {train[n]:.0f} | {train['fp32'] / train[n]:.2f}x | {infer[n]:.0f} | {infer[n] / infer['fp32']:.2f}x |")
PY

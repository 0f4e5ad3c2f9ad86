#!/usr/bin/env bash
# End-to-end time of the golden-model command against its kernel alone: `bnrecal gemm --timing` on
# a 50,176 x 576 x 64 problem (ResNet-18's layer1 conv as a GEMM at batch 16: A uint8 with 40 %
# zeros, W int8 with 10 %; numpy seed 0), for T = 1, 2 and 4, REPEATS runs each interleaved, the
# operands in the page cache. Prints a Markdown table of medians (also OUT_DIR/golden_model.md).
# Start-up (loading libtorch, about 1 s) is outside the command's timers and not counted.
#   bash scripts/run_golden_model_timing.sh [OUT_DIR]        REPEATS=5 THREADS=2 by default
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-results}"
repeats="${REPEATS:-5}"
threads="${THREADS:-2}"
bin="${BNRECAL_BIN:-build/bnrecal}"
work="$out/golden_model"
mkdir -p "$work"
/usr/bin/python3 - "$work" <<'PY'
import sys
import numpy as np
rng = np.random.default_rng(0)
a = rng.integers(1, 256, size=(50176, 576), dtype=np.uint8)
a[rng.random(a.shape) < 0.4] = 0
w = rng.integers(-128, 128, size=(64, 576), dtype=np.int8)
w[rng.random(w.shape) < 0.1] = 0
np.save(f"{sys.argv[1]}/A.npy", a)
np.save(f"{sys.argv[1]}/W.npy", w)
PY
"$bin" gemm --a "$work/A.npy" --w "$work/W.npy" -o "$work/Y.npy" --smt 1 >/dev/null  # warm the cache
for round in $(seq 1 "$repeats"); do
  for smt in 1 2 4; do
    echo -n "$smt "
    "$bin" gemm --a "$work/A.npy" --w "$work/W.npy" -o "$work/Y.npy" --smt "$smt" --timing \
        --threads "$threads"
  done
done >"$work/timings.txt"
/usr/bin/python3 - "$work/timings.txt" "$repeats" "$threads" <<'PY' | tee "$out/golden_model.md"
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    smt = int(line.split()[0])
    f = lambda name: float(re.search(name + r" ([0-9.]+) s", line).group(1))
    rows.setdefault(smt, []).append((f("read"), f("kernel"), f("output"), f("read to output")))
print("| smt | read | kernel | output (writes overlapped, then sync) | end to end | end to end / kernel |")
print("|---|---|---|---|---|---|")
for smt, runs in sorted(rows.items()):
    med = [statistics.median(r[i] for r in runs) for i in range(4)]
    ratio = statistics.median(r[3] / r[1] for r in runs)
    print(f"| {smt} | {med[0]:.3f} s | {med[1]:.3f} s | {med[2]:.3f} s | {med[3]:.3f} s | {ratio:.2f}x |")
print(f"\nmedians of {sys.argv[2]} interleaved runs, {sys.argv[3]} threads")
PY

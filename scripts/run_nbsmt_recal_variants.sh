#!/usr/bin/env bash
# Which recalibration protocol recovers accuracy under SySMT collisions? Runs `experiment nbsmt`
# on a model (default: the committed reference model) at the thread counts in SMT (default 4)
# with each protocol: pooled over one batch of all 2,048 images (the auto default: self-consistent
# statistics), pooled over batches of 256, and ema (momentum 0.1) over batches of 256; each over
# --recal-draws 3 draws of training images on all test images (the first LIMIT ones when LIMIT is
# set). Prints one Markdown table (also
# written to OUT_DIR/nbsmt_recal_variants.<model>.md): top-1 without recalibration, mean +- std over
# draws with it, and the paired gain.
#   bash scripts/run_nbsmt_recal_variants.sh [OUT_DIR] [MODEL]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/calibrated_model.sh "$@"
mkdir -p "$out/nbsmt_recal_variants"
variants=("pooled 0" "pooled 256" "ema 256")
for v in "${variants[@]}"; do
  read -r estimator batch <<<"$v"
  json="$out/nbsmt_recal_variants/$name.$estimator.$batch.json"
  [[ -f "$json" ]] && continue  # rerun after an interruption: finished variants are kept
  echo "$estimator, batch $batch" >&2
  $bin experiment nbsmt -m "$calibrated" --smt "${SMT:-4}" --estimator "$estimator" --recal-batch-size "$batch" \
      --recal-images 2048 --recal-draws 3 --diag-images 0 ${LIMIT:+--limit "$LIMIT"} --quiet --json "$json" >/dev/null
done
/usr/bin/python3 - "$out/nbsmt_recal_variants" "$name" "${variants[@]}" <<'PY' | tee "$out/nbsmt_recal_variants.$name.md"
import json, sys
folder, name, variants = sys.argv[1], sys.argv[2], sys.argv[3:]
print(f"Top-1 (%) on the test split, {name}: without recalibration, with it (mean +- std over draws), and the "
      "paired gain (mean over draws +- RMS paired standard error; draws significant at 95 %).\n")
print("| estimator | batch | setting | w/o | with | gain | significant draws |")
print("|---|---|---|---|---|---|---|")
for v in variants:
    estimator, batch = v.split()
    r = json.load(open(f"{folder}/{name}.{estimator}.{batch}.json"))
    for s in r["settings"]:
        rec = s["recalibrated"]
        g = rec["gain"]
        print(f"| {estimator} | {'one batch (auto)' if batch == '0' else batch} | {s['label']} | "
              f"{s['plain']['top1']:.2f} | {rec['top1']['mean']:.2f} +- {rec['top1']['std']:.2f} | "
              f"{g['difference']['mean']:+.2f} +- {g['standard_error']:.2f} | "
              f"{g['significant_draws']}/{len(g['draws'])} |")
PY

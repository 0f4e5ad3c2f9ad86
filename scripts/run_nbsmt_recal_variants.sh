#!/usr/bin/env bash
# Which recalibration recovers accuracy under SySMT collisions? Runs `experiment nbsmt` at
# 2T and 4T on a model (default: the committed reference model) with each estimator (pooled,
# ema, final) on 2,048 training images, and pooled on 8,192, and prints one Markdown table of
# top-1 without / with recalibration (also written to OUT_DIR/nbsmt_recal_variants.<model>.md).
#   bash scripts/run_nbsmt_recal_variants.sh [OUT_DIR] [MODEL]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/calibrated_model.sh "$@"
mkdir -p "$out/nbsmt_recal_variants"
variants=("pooled 2048" "ema 2048" "final 2048" "pooled 8192")
for v in "${variants[@]}"; do
  read -r estimator images <<<"$v"
  echo "$estimator, $images images" >&2
  $bin experiment nbsmt -m "$calibrated" --smt 2,4 --estimator "$estimator" \
      --recal-images "$images" --diag-images 0 --quiet \
      --json "$out/nbsmt_recal_variants/$name.$estimator.$images.json" >/dev/null
done
/usr/bin/python3 - "$out/nbsmt_recal_variants" "$name" "${variants[@]}" <<'PY' | tee "$out/nbsmt_recal_variants.$name.md"
import json, sys
folder, name, variants = sys.argv[1], sys.argv[2], sys.argv[3:]
print(f"Top-1 (%) on the test split, {name}, without / with recalibration (stderr about 0.3).\n")
print("| estimator | training images | 2T w/o | 2T with | 4T w/o | 4T with |")
print("|---|---|---|---|---|---|")
for v in variants:
    estimator, images = v.split()
    r = json.load(open(f"{folder}/{name}.{estimator}.{images}.json"))
    cells = []
    for s in r["settings"]:
        cells += [f"{s['plain']['top1']:.2f}", f"{s['recalibrated']['top1']:.2f}"]
    print(f"| {estimator} | {images} | " + " | ".join(cells) + " |")
PY

#!/usr/bin/env bash
# Per-BN-layer activation divergence and statistics gaps (docs/results.md) on a model (default:
# the committed reference model) under SySMT 4T and 2T, A8W8 and analog noise (seed-003, eta0
# 0.06), recalibrated with the default protocol (pooled, one batch of 2,048 images), plus SySMT 4T
# recalibrated over batches of 256; 1,024 test images, 128 bins. Then the figure
# OUT_DIR/divergence.<model>.{png,svg}.
#   bash scripts/run_divergence.sh [OUT_DIR] [MODEL]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/calibrated_model.sh "$@"
run() {  # tag, then perturbation flags
  local tag="$1"
  shift
  local json="$out/divergence.$name.$tag.json"
  [[ -f "$json" ]] || $bin experiment divergence -m "$calibrated" --images 1024 --quiet "$@" \
      --json "$json" --markdown "$out/divergence.$name.$tag.md" >/dev/null
}
run 4T --policy "sysmt smt=4"
run noise0.06 --noise seed-003 --eta 0.06
run a8w8 --policy a8w8
run 4T-batch256 --policy "sysmt smt=4" --recal-batch-size 256
run 2T --policy "sysmt smt=2"
/usr/bin/python3 scripts/plot_divergence.py "$out/divergence.$name" \
    "SySMT 4T=$out/divergence.$name.4T.json" "SySMT 4T, batches of 256=$out/divergence.$name.4T-batch256.json" \
    "SySMT 2T=$out/divergence.$name.2T.json" "A8W8=$out/divergence.$name.a8w8.json" \
    "noise eta0 0.06=$out/divergence.$name.noise0.06.json"

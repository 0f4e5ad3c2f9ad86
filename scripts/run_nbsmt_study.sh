#!/usr/bin/env bash
# Reproduces the NB-SMT numbers in docs/results.md: FP32 | A8W8 | 2T/4T without and with
# recalibration, per-layer diagnostics and speedup, for a checkpoint (default: the committed
# reference model; e.g. models/fashion-mnist-resnet20-pruned40.safetensors for the pruned one).
# SWEEP=1 adds the mixed-setting sweep (accuracy-vs-speedup points) on SWEEP_LIMIT test images.
#   bash scripts/run_nbsmt_study.sh [OUT_DIR] [MODEL]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/calibrated_model.sh "$@"
$bin experiment nbsmt -m "$calibrated" --smt 2,4 --recal-images 2048 \
    --json "$out/nbsmt_study.$name.json" --markdown "$out/nbsmt_study.$name.md" --quiet
if [[ "${SWEEP:-0}" == 1 ]]; then
  $bin experiment nbsmt -m "$calibrated" --smt 2,4 --recal-images 2048 --sweep --sweep-step 3 \
      --limit "${SWEEP_LIMIT:-2000}" --diag-images 64 \
      --json "$out/nbsmt_sweep.$name.json" --markdown "$out/nbsmt_sweep.$name.md" --quiet
fi

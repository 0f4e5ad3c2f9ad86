#!/usr/bin/env bash
# Reproduces the noise numbers in docs/results.md for the committed reference model: its
# evaluation and the analog-noise study (seed-003 noise, eta0 0..0.10, 3 seeds, EMA recalibration
# at momentum 0.1 on 2,048 training images) with the FP32 / A8W8 rows.
#   bash scripts/run_noise_study.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/calibrated_model.sh "${1:-results}"
$bin eval --model "$model" --quiet --json "$out/eval.json"
$bin experiment noise --model "$calibrated" --eta 0,0.02,0.04,0.06,0.08,0.10 --seeds 3 \
    --recal-images 2048 --estimator ema --momentum 0.1 \
    --json "$out/noise_study.json" --markdown "$out/noise_study.md" --quiet

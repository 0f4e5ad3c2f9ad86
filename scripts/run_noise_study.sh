#!/usr/bin/env bash
# Reproduces the numbers in docs/results.md for the committed reference model:
# its evaluation, A8W8 calibration, and the analog-noise study (issue: perturbations + recalibration).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-results}"
mkdir -p "$out"
bin="${BNRECAL_BIN:-./build/bnrecal}"
model=models/fashion-mnist-resnet20.safetensors
$bin eval --model "$model" --quiet --json "$out/eval.json"
$bin calibrate --model "$model" --images 2048 --stat mean_max --seed 0 -o "$out/fashion-mnist-resnet20.calibrated.safetensors" --quiet
$bin experiment noise --model "$out/fashion-mnist-resnet20.calibrated.safetensors" \
    --eta 0,0.02,0.04,0.06,0.08,0.10 --seeds 3 --recal-images 2048 \
    --json "$out/noise_study.json" --markdown "$out/noise_study.md" --quiet

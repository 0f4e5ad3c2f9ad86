#!/usr/bin/env bash
# Reproduces the NB-SMT numbers in docs/results.md: FP32 | A8W8 | 2T/4T without and with
# recalibration on the committed reference model (calibrated by scripts/run_noise_study.sh, or here).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-results}"
mkdir -p "$out"
bin="${BNRECAL_BIN:-./build/bnrecal}"
calibrated="$out/fashion-mnist-resnet20.calibrated.safetensors"
[[ -f "$calibrated" ]] || $bin calibrate --model models/fashion-mnist-resnet20.safetensors --images 2048 \
    --stat mean_max --seed 0 -o "$calibrated" --quiet
$bin experiment nbsmt -m "$calibrated" --smt 2,4 --recal-images 2048 \
    --json "$out/nbsmt_study.json" --markdown "$out/nbsmt_study.md" --quiet

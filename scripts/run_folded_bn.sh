#!/usr/bin/env bash
# Reproduces the folded-BatchNorm numbers in docs/onnx.md for a reference model (by default
# ResNet-20, Fashion-MNIST): recalibration through re-normalization layers after BN folding
# against ordinary recalibration of the unfolded model, on the full test split, under analog
# noise (seed-003, eta0 0.10, 3 seeds, 3 recalibration draws), SySMT 4T (3 seeds, 1 draw: no
# randomness in the arithmetic, the seeds only draw the recalibration images) and A8W8.
#   bash scripts/run_folded_bn.sh [OUT_DIR] [MODEL] [fixed|matched]
# (default: the ResNet-20 reference model; the third argument is --renorm-epsilon, default fixed)
# The table in docs/onnx.md: one OUT_DIR per model under one folder, then
#   /usr/bin/python3 scripts/summarize_folded_bn.py FOLDER
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/calibrated_model.sh "${1:-results}" "${2:-models/fashion-mnist-resnet20.safetensors}"
epsilon="--renorm-epsilon ${3:-fixed}"
$bin experiment folded-bn --model "$calibrated" $epsilon --noise seed-003 --eta 0.1 --seeds 3 \
    --json "$out/folded_bn_noise.json" --markdown "$out/folded_bn_noise.md" --quiet
$bin experiment folded-bn --model "$calibrated" $epsilon --policy sysmt --smt 4 --seeds 3 --recal-draws 1 \
    --json "$out/folded_bn_sysmt4.json" --markdown "$out/folded_bn_sysmt4.md" --quiet
$bin experiment folded-bn --model "$calibrated" $epsilon --policy a8w8 --seeds 1 \
    --json "$out/folded_bn_a8w8.json" --markdown "$out/folded_bn_a8w8.md" --quiet

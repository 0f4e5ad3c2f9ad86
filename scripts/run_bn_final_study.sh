#!/usr/bin/env bash
# Reproduces the final-sample BatchNorm study in docs/results.md.
#  1. The grid: W1A2 (channelwise, layerwise, divide255) and FP32, each trained with BN-pop and
#     BN-final, 2 seeds, on Fashion-MNIST and MNIST with ResNet-20 and vgg_small (64 training runs),
#     shortened to fit about an hour on 2 cores: 12,000 training images, 2 epochs, 12 test
#     evaluations on the first 2,000 test images; then the accuracy-over-training plot.
#  2. A longer-training check of the grid's FP32 result: ResNet-20 on Fashion-MNIST, W1A2
#     channelwise and FP32, 24,000 training images, 3 epochs (8 runs).
# Runs are kept in OUT_DIR/bn_final_runs and OUT_DIR/bn_final_long_runs; rerunning resumes.
# MNIST: bash scripts/install-mnist.sh first.
#   bash scripts/run_bn_final_study.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-results}"
mkdir -p "$out"
bin="${BNRECAL_BIN:-./build/bnrecal}"
common=(--seeds 2 --seed 0 --eval-limit 2000 --evaluations 12 --last 3)
$bin experiment bn-final --out "$out/bn_final_runs" --data fashion-mnist,mnist --arch resnet20,vgg_small \
    --epochs 2 --train-limit 12000 "${common[@]}" --json "$out/bn_final.json" --markdown "$out/bn_final.md"
/usr/bin/python3 scripts/plot_bn_final.py "$out/bn_final.json" "$out/bn_final_curves"
$bin experiment bn-final --out "$out/bn_final_long_runs" --data fashion-mnist --arch resnet20 \
    --setting "w1a2-channel=lowbit w_bits=1 a_bits=2 w_scale=channel" --setting fp32=fp32 \
    --epochs 3 --train-limit 24000 "${common[@]}" --json "$out/bn_final_long.json" --markdown "$out/bn_final_long.md"
/usr/bin/python3 scripts/plot_bn_final.py "$out/bn_final_long.json" "$out/bn_final_long_curves"

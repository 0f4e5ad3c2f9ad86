#!/usr/bin/env bash
# The dense-task studies of docs/results.md (the analog-noise paper's segmentation and detection
# tables in our setting), from nothing but the installed Fashion-MNIST:
#   bash scripts/run_dense_task_study.sh segmentation|detection [OUT_DIR]
# 1. makes the task (seed 0) into data/fashion-mosaic or data/fashion-scatter, unless it is there;
# 2. trains its model into models/, unless it is there (seed 0, cosine; the record beside it in
#    models/*.train.json):
#      segmentation: fcn_small, 12 epochs, batch 32, lr 0.05 (with random horizontal flips)
#      detection:    yolo_small, 10 epochs, batch 32, lr 0.02 (no augmentation)
# 3. runs the noise study on the 1,000 val images: eta0 0, 0.05, 0.10 (sigma_T 20 %, sigma_S 10 %),
#    3 noise seeds, without calibration, with offline recalibration (3 draws of 2,048 training
#    images) and with streaming calibration (batch 1, TensorFlow decay 0.999, updated after
#    predicting), every calibrated result paired with the plain one on the same images.
# A model's card names its data as voc:data/... or coco:data/..., so run from the repository root.
# Env: BNRECAL_BIN (default ./build/bnrecal), THREADS (default 2).
set -euo pipefail
task="${1:?usage: run_dense_task_study.sh segmentation|detection [OUT_DIR]}"
bin="${BNRECAL_BIN:-./build/bnrecal}"
threads="${THREADS:-2}"
case "$task" in
  segmentation) data=data/fashion-mosaic; spec="voc:$data"; arch=fcn_small; training=(--epochs 12 --lr 0.05) ;;
  detection) data=data/fashion-scatter; spec="coco:$data"; arch=yolo_small; training=(--epochs 10 --lr 0.02) ;;
  *) echo "unknown task '$task' (segmentation or detection)" >&2; exit 2 ;;
esac
out="${2:-results/$task}"
model="models/$(basename "$data")-$arch.safetensors"
mkdir -p "$out"
[[ -d "$data" ]] || $bin make-task "$task" -o "$data" --quiet
if [[ ! -f "$model" ]]; then
  $bin train --arch "$arch" --data "$spec" "${training[@]}" --batch-size 32 --seed 0 --threads "$threads" --quiet \
      -o "$model.partial.safetensors" --json "${model%.safetensors}.train.json"
  mv "$model.partial.safetensors" "$model"
fi
$bin experiment noise -m "$model" --eta 0,0.05,0.1 --seeds 3 --stream-decay 0.999 --stream-batch-size 1 \
    --threads "$threads" --quiet --markdown "$out/noise.md" --json "$out/noise.json"

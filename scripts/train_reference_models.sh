#!/usr/bin/env bash
# Trains the study reference models (one per architecture family) and makes each one's calibrated
# copy, exactly as committed under models/:
#   bash scripts/train_reference_models.sh [OUT_DIR] [ARCH...]
# Default OUT_DIR is models; default ARCH list is every family below. Each model is trained on
# Fashion-MNIST with the trainer's defaults (seed 0, SGD lr 0.1 momentum 0.9, cosine, batch 128,
# weight decay 5e-4, its augmentation), then calibrated for A8W8 on 2,048 training images
# (mean_max, seed 0). A finished model is skipped, so the script can be rerun after an
# interruption. Env: BNRECAL_BIN (default ./build/bnrecal), DATA (default fashion-mnist), THREADS
# (default 1: the committed models were trained on one thread; float sums in another order give
# a slightly different model).
set -euo pipefail
out="${1:-models}"
shift || true
bin="${BNRECAL_BIN:-./build/bnrecal}"
data="${DATA:-fashion-mnist}"
threads="${THREADS:-1}"
mkdir -p "$out"

# Epochs per architecture: enough for at least 91 % test top-1 on Fashion-MNIST. resnet20 is
# here for MNIST (DATA=mnist); the Fashion-MNIST ResNet-20 was trained in two stages (its
# models/*.stage*.json).
declare -A epochs=(
  [resnet56]=6
  [resnet29_bottleneck]=6
  [inception_small]=6
  [densenet_small]=6
  [mobilenet_v1_small]=6
  [resnet20]=6
)
archs=("$@")
[[ ${#archs[@]} -gt 0 ]] || archs=(resnet56 resnet29_bottleneck inception_small densenet_small mobilenet_v1_small)

for arch in "${archs[@]}"; do
  [[ -n "${epochs[$arch]:-}" ]] || { echo "unknown reference architecture '$arch'" >&2; exit 2; }
  model="$out/$data-$arch.safetensors"
  if [[ ! -f "$model" ]]; then
    echo "== training $arch on $data (${epochs[$arch]} epochs)" >&2
    $bin train --arch "$arch" --data "$data" --epochs "${epochs[$arch]}" \
      --threads "$threads" --eval-every "${epochs[$arch]}" --quiet \
      -o "$model.partial.safetensors" --json "$out/$data-$arch.train.json"
    mv "$model.partial.safetensors" "$model"
  fi
  calibrated="$out/$data-$arch.calibrated.safetensors"
  [[ -f "$calibrated" ]] || $bin calibrate --model "$model" --images 2048 --stat mean_max --seed 0 \
      -o "$calibrated" --quiet
  echo "$arch: $(grep -m1 -o '"top1": [0-9.]*' "$out/$data-$arch.train.json")" >&2
done

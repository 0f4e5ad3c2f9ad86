# Sourced by the study scripts (from the repository root) with the script's own arguments
# [OUT_DIR] [MODEL]: sets `out` (default results, created), `model` (default the committed reference
# model), `bin`, `name` and `calibrated`. The calibration is A8W8 ranges from 2,048 training images,
# mean_max, seed 0. The reference models ship a calibrated copy made by exactly this command
# (models/NAME.calibrated.safetensors); other models are calibrated into OUT once.
out="${1:-results}"
model="${2:-models/fashion-mnist-resnet20.safetensors}"
mkdir -p "$out"
bin="${BNRECAL_BIN:-./build/bnrecal}"
name="$(basename "$model" .safetensors)"
calibrated="$(dirname "$model")/$name.calibrated.safetensors"
if [[ ! -f "$calibrated" ]]; then
  calibrated="$out/$name.calibrated.safetensors"
  [[ -f "$calibrated" ]] || $bin calibrate --model "$model" --images 2048 --stat mean_max --seed 0 \
      -o "$calibrated" --quiet
fi

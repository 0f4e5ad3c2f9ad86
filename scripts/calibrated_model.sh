# Sourced by the study scripts, after they set `out` (an existing folder) and `model`: sets `bin`,
# `name` and `calibrated`. The calibration is A8W8 ranges from 2,048 training images, mean_max,
# seed 0 (CALIBRATE_COMMAND below). The reference models ship a calibrated copy made by exactly
# this command (models/NAME.calibrated.safetensors); other models are calibrated into OUT once.
bin="${BNRECAL_BIN:-./build/bnrecal}"
name="$(basename "$model" .safetensors)"
calibrated="$(dirname "$model")/$name.calibrated.safetensors"
if [[ ! -f "$calibrated" ]]; then
  calibrated="$out/$name.calibrated.safetensors"
  [[ -f "$calibrated" ]] || $bin calibrate --model "$model" --images 2048 --stat mean_max --seed 0 \
      -o "$calibrated" --quiet
fi

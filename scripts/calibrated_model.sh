# Sourced by the SySMT study scripts, after they set `out` (an existing folder) and `model`:
# sets `bin`, `name` and `calibrated`, and makes `calibrated` (A8W8 ranges from 2,048 training
# images, mean_max, seed 0) unless it already exists, so the scripts share one calibration.
bin="${BNRECAL_BIN:-./build/bnrecal}"
name="$(basename "$model" .safetensors)"
calibrated="$out/$name.calibrated.safetensors"
[[ -f "$calibrated" ]] || $bin calibrate --model "$model" --images 2048 --stat mean_max --seed 0 \
    -o "$calibrated" --quiet

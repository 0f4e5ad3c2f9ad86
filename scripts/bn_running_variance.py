#!/usr/bin/env python3
"""How small the BatchNorm input variances of bnrecal models are, from their .safetensors files.

    /usr/bin/python3 scripts/bn_running_variance.py MODEL.safetensors [MODEL.safetensors ...]

Prints, per model, the number of BN channels, the median running variance and the share of channels
below 0.01 and 0.001. Where a variance is near BatchNorm's epsilon, recalibrating the BatchNorm damps
its correction and a re-normalization layer after a folded conv does not (docs/onnx.md, MobileNet).
"""
import json
import statistics
import struct
import sys
from array import array


def running_variances(path):
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        data = f.read()
    values = array("f")
    for key, entry in header.items():
        if key.endswith("running_var") and isinstance(entry, dict):
            if entry.get("dtype") != "F32":
                sys.exit(f"{path}: {key} is {entry.get('dtype')}, expected F32")
            begin, end = entry["data_offsets"]
            values.frombytes(data[begin:end])
    if sys.byteorder != "little":
        values.byteswap()
    return list(values)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    print("| model | BN channels | median running variance | below 0.01 | below 0.001 |")
    print("|---|---|---|---|---|")
    for path in sys.argv[1:]:
        v = running_variances(path)
        if not v:
            sys.exit(f"{path}: no running_var tensors")
        name = path.rsplit("/", 1)[-1].removesuffix(".safetensors")
        share = lambda t: 100 * sum(x < t for x in v) / len(v)  # noqa: E731
        print(f"| {name} | {len(v)} | {statistics.median(v):.3g} | {share(0.01):.0f} % | {share(0.001):.0f} % |")


if __name__ == "__main__":
    main()

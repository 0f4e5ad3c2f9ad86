#!/usr/bin/env python3
"""Fan-in of every conv layer of bnrecal models, read from their .safetensors headers only.

    /usr/bin/python3 scripts/conv_fan_in.py MODEL.safetensors [MODEL.safetensors ...]

Prints, per model, the number of conv layers, the smallest and the median fan-in K (weights summed
into one output: in_channels / groups * kh * kw) and the sum over layers of 1/K. Relative weight noise
of strength eta perturbs a K-term dot product by about eta / sqrt(K) of its size, so sum(1/K) is a
first-order guess at how much variance such noise adds along a network (docs/results-reference-models.md
tests that guess against the measured susceptibility).
"""
import json
import math
import struct
import sys


def conv_fan_ins(path):
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
    return sorted(math.prod(v["shape"][1:]) for k, v in header.items()
                  if k.endswith("weight") and isinstance(v, dict) and len(v.get("shape", [])) == 4)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    print("| model | conv layers | smallest K | median K | sum 1/K |")
    print("|---|---|---|---|---|")
    for path in sys.argv[1:]:
        ks = conv_fan_ins(path)
        if not ks:
            sys.exit(f"{path}: no 4-d conv weights in its header")
        name = path.rsplit("/", 1)[-1].removesuffix(".safetensors")
        print(f"| {name} | {len(ks)} | {ks[0]} | {ks[len(ks) // 2]} | {sum(1 / k for k in ks):.3f} |")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Export a torchvision model's weights for `bnrecal import`.

    /usr/bin/python3 scripts/export_torchvision_weights.py resnet18 resnet18.pt          # pretrained: needs internet
    /usr/bin/python3 scripts/export_torchvision_weights.py resnet18 resnet18.pt --random # offline, random init
    bnrecal import --arch resnet18 --weights resnet18.pt -o resnet18.safetensors

Saves model.state_dict() with torch.save (zip format). Architectures bnrecal's zoo mirrors:
resnet18, resnet34, resnet50, resnet101, wide_resnet50_2, googlenet, densenet121, mobilenet_v2.

GoogLeNet: torchvision's pretrained weights expect transform_input=True on ImageNet-normalized
input, which is the same as transform_input=False on input normalized with mean = std = 0.5;
`bnrecal import --arch googlenet` records that normalization by default. The pretrained
state dict has no aux1/aux2 heads, matching bnrecal's googlenet.
"""
import argparse
import sys

import torch
import torchvision

SUPPORTED = ["resnet18", "resnet34", "resnet50", "resnet101", "wide_resnet50_2", "googlenet", "densenet121",
             "mobilenet_v2"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("arch", choices=SUPPORTED)
    parser.add_argument("output", help="file to write (.pt)")
    parser.add_argument("--random", action="store_true",
                        help="random initialisation (weights=None) instead of the pretrained DEFAULT weights; "
                             "works offline")
    args = parser.parse_args()
    weights = None if args.random else "DEFAULT"
    kwargs = {"aux_logits": False, "init_weights": True} if args.arch == "googlenet" and args.random else {}
    try:
        model = getattr(torchvision.models, args.arch)(weights=weights, **kwargs)
    except Exception as e:  # typically no internet: the download of the pretrained weights failed
        sys.exit(f"cannot build {args.arch} with weights={weights!r}: {e}\n(use --random offline)")
    model.eval()
    torch.save(model.state_dict(), args.output)
    n = sum(t.numel() for t in model.state_dict().values())
    print(f"wrote {args.output}: {args.arch}, {len(model.state_dict())} tensors, {n} values, "
          f"{'random' if args.random else 'pretrained'} weights")


if __name__ == "__main__":
    main()

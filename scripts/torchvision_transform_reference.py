#!/usr/bin/python3
"""Reference outputs of torchvision 0.14 transforms on PIL images, for bnrecal's C++ tests.

Usage: torchvision_transform_reference.py MANIFEST
Each MANIFEST line is one job (all jobs run in one process because Python starts slowly):
  decode IMAGE OUT            -> OUT: uint8 RGB HWC of Image.open(IMAGE).convert("RGB")
  eval IMAGE RESIZE CROP OUT  -> OUT: float32 CHW of Resize(RESIZE)+CenterCrop(CROP)+ToTensor
  crop IMAGE TOP LEFT H W SIZE OUT -> OUT: float32 CHW of F.resized_crop(img, TOP, LEFT, H, W,
                                       [SIZE, SIZE]) + ToTensor (RandomResizedCrop's arithmetic)
"""
import sys

import numpy as np
from PIL import Image
import torchvision.transforms as T
import torchvision.transforms.functional as F


def load(path):
    # torchvision's ImageFolder loader (datasets.folder.pil_loader)
    with open(path, "rb") as f:
        return Image.open(f).convert("RGB")


def main(manifest):
    for line in open(manifest):
        job = line.split()
        if not job:
            continue
        kind, image = job[0], load(job[1])
        if kind == "decode":
            np.asarray(image, dtype=np.uint8).tofile(job[2])
        elif kind == "eval":
            resize, crop = int(job[2]), int(job[3])
            t = T.Compose([T.Resize(resize), T.CenterCrop(crop), T.ToTensor()])
            t(image).numpy().astype(np.float32).tofile(job[4])
        elif kind == "crop":
            top, left, h, w, size = map(int, job[2:7])
            out = F.resized_crop(image, top, left, h, w, [size, size],
                                 interpolation=T.InterpolationMode.BILINEAR)
            F.to_tensor(out).numpy().astype(np.float32).tofile(job[7])
        else:
            raise SystemExit("unknown job " + kind)


if __name__ == "__main__":
    main(sys.argv[1])

#!/usr/bin/python3
"""Reference outputs of torchvision 0.14 transforms on PIL images, for bnrecal's C++ tests.

Usage: torchvision_transform_reference.py MANIFEST
Each MANIFEST line is one job (all jobs run in one process because Python starts slowly):
  decode IMAGE OUT            -> OUT: uint8 RGB HWC of Image.open(IMAGE).convert("RGB")
  eval IMAGE RESIZE CROP OUT  -> OUT: float32 CHW of Resize(RESIZE)+CenterCrop(CROP)+ToTensor
  crop IMAGE TOP LEFT H W SIZE OUT -> OUT: float32 CHW of F.resized_crop(img, TOP, LEFT, H, W,
                                       [SIZE, SIZE]) + ToTensor (RandomResizedCrop's arithmetic)
  make MODE IMAGE OUT         -> writes IMAGE converted to MODE (L, LA, RGBA, P, PT = palette with
                                 transparency, 1, CMYK, I16 = 16-bit gray) as OUT (.png or .jpg);
                                 for I16 also OUT.high: the expected 8-bit values (high bytes)
"""
import sys


try:
    import numpy as np
    from PIL import Image
except ImportError as error:
    print(error, "- apt-get install python3-pil python3-numpy")
    sys.exit(3)  # tests skip on exit code 3

# torchvision (which imports torch, several seconds) is imported only by the jobs that need it.


def torchvision():
    try:
        import torchvision.transforms as T
        import torchvision.transforms.functional as F
    except ImportError as error:
        print(error, "- apt-get install python3-torchvision")
        sys.exit(3)
    return T, F


def load(path):
    # torchvision's ImageFolder loader (datasets.folder.pil_loader)
    with open(path, "rb") as f:
        return Image.open(f).convert("RGB")


def make(mode, image, out):
    if mode == "PT":
        image = image.convert("P", palette=Image.ADAPTIVE, colors=64)
        image.info["transparency"] = 3
        image.save(out, transparency=3)
    elif mode == "I16":
        gray = np.asarray(image.convert("L"), dtype=np.uint16)
        values = gray * 257 - (gray % 3) * 40  # high byte is gray or gray - 1
        Image.fromarray(values.astype(np.uint16), mode="I;16").save(out)
        np.repeat((values >> 8).astype(np.uint8)[:, :, None], 3, axis=2).tofile(out + ".high")
    elif mode == "P":
        image.convert("P", palette=Image.ADAPTIVE, colors=200).save(out)
    else:
        image.convert(mode).save(out)


def main(manifest):
    for line in open(manifest):
        job = line.split()
        if not job:
            continue
        if job[0] == "make":
            make(job[1], load(job[2]), job[3])
            continue
        kind, image = job[0], load(job[1])
        if kind == "decode":
            np.asarray(image, dtype=np.uint8).tofile(job[2])
        elif kind == "eval":
            T, _ = torchvision()
            resize, crop = int(job[2]), int(job[3])
            t = T.Compose([T.Resize(resize), T.CenterCrop(crop), T.ToTensor()])
            t(image).numpy().astype(np.float32).tofile(job[4])
        elif kind == "crop":
            T, F = torchvision()
            top, left, h, w, size = map(int, job[2:7])
            out = F.resized_crop(image, top, left, h, w, [size, size],
                                 interpolation=T.InterpolationMode.BILINEAR)
            F.to_tensor(out).numpy().astype(np.float32).tofile(job[7])
        else:
            raise SystemExit("unknown job " + kind)


if __name__ == "__main__":
    main(sys.argv[1])

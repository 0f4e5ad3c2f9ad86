#!/usr/bin/python3
"""Checks python/bnrecal/zoo.py against the C++ zoo and the committed checkpoints.

Run with Debian's Python (python3-torch; python3-torchvision for the optional comparison):

    /usr/bin/python3 python/tests/check_zoo_names.py [--models DIR] [--accuracy [--data DIR]]

What it checks, and why each says something about the C++ side:
  * the registry: names, families and default inputs, as transcribed from src/models/*.cpp, and
    the unknown-name message of build_model;
  * every checkpoint in models/: the C++ writes its named_parameters then named_buffers in
    registration order (src/models/checkpoint.cpp), so the file's tensor order, names, shapes
    and dtypes must equal ours exactly; then a strict load and a forward of input_shape;
  * every architecture builds and runs at its default input size (batch 2);
  * structure counts the C++ unit tests assert (parameters, multiply-accumulates, layer names,
    TensorFlow SAME padding of MobileNet-v1's stem);
  * where torchvision 0.14 is importable: the models the C++ zoo mirrors from torchvision have
    its state-dict keys in its order, and give its logits with its weights;
  * with --accuracy: the test-set top-1 that the C++ recorded in each checkpoint's metadata,
    recomputed here (same normalization), which only the same forward function reproduces.

Exits 1 on any mismatch.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.util
import json
import os
import struct
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import torch
from torch import nn

REPO = Path(__file__).resolve().parents[2]


def _load_zoo():
    # zoo.py by its path, not through the bnrecal package, whose __init__ needs the compiled ops
    # library; zoo.py itself needs only torch.
    spec = importlib.util.spec_from_file_location("bnrecal_zoo", REPO / "python" / "bnrecal" / "zoo.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


zoo = _load_zoo()

failures: List[str] = []


def check(ok: bool, what: str) -> bool:
    if not ok:
        failures.append(what)
        print(f"  FAIL {what}")
    return ok


# ---------------------------------------------------------------------------------------------
# safetensors, read by hand
# ---------------------------------------------------------------------------------------------

_DTYPES = {"F32": (np.float32, torch.float32), "F64": (np.float64, torch.float64),
           "F16": (np.float16, torch.float16), "I64": (np.int64, torch.int64),
           "I32": (np.int32, torch.int32), "U8": (np.uint8, torch.uint8)}  # fmt: skip


def read_safetensors(path: Path) -> Tuple[List[Tuple[str, torch.Tensor]], Dict]:
    """Tensors in data order (the writer's order) and the bnrecal metadata object."""
    raw = path.read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + header_len])
    data = memoryview(raw)[8 + header_len :]
    meta = json.loads(header.get("__metadata__", {}).get("bnrecal", "{}"))
    entries = sorted(
        ((k, v) for k, v in header.items() if k != "__metadata__"), key=lambda kv: kv[1]["data_offsets"][0]
    )
    tensors = []
    for name, info in entries:
        np_dtype, _ = _DTYPES[info["dtype"]]
        begin, end = info["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=np.dtype(np_dtype).newbyteorder("<"))
        tensors.append((name, torch.from_numpy(array.copy()).reshape(info["shape"])))
    return tensors, meta


def ordered_state(model: nn.Module) -> List[Tuple[str, torch.Tensor]]:
    # The C++ state_dict(): every parameter, then every buffer, each in registration order.
    return list(model.named_parameters()) + list(model.named_buffers())


# ---------------------------------------------------------------------------------------------
# 1. the registry
# ---------------------------------------------------------------------------------------------

# Transcribed from the add_*_models functions: name -> (family, default input).
S32, S28, I224 = (3, 32, 32), (1, 28, 28), (3, 224, 224)
EXPECTED_ZOO = {
    "resnet20": ("small-image", S32), "resnet32": ("small-image", S32), "resnet44": ("small-image", S32),
    "resnet56": ("small-image", S32), "resnet29_bottleneck": ("small-image", S32),
    "resnet18": ("imagenet", I224), "resnet34": ("imagenet", I224), "resnet50": ("imagenet", I224),
    "resnet101": ("imagenet", I224), "wide_resnet50_2": ("imagenet", I224),
    "googlenet": ("imagenet", I224), "inception_small": ("small-image", S28),
    "densenet121": ("imagenet", I224), "densenet_small": ("small-image", S28),
    "mobilenet_v1": ("imagenet", I224), "mobilenet_v1_small": ("small-image", S28),
    "mobilenet_v2": ("imagenet", I224), "vgg_small": ("small-image", S28),
    "fcn_resnet50": ("segmentation", (3, 520, 520)), "fcn_resnet101": ("segmentation", (3, 520, 520)),
    "fcn_small": ("segmentation", (3, 64, 64)),
    "yolo_small": ("detection", (3, 96, 96)),
}  # fmt: skip


def check_registry() -> None:
    print("registry")
    check(zoo.names() == sorted(EXPECTED_ZOO), f"names() = {zoo.names()}")
    for name, (fam, shape) in EXPECTED_ZOO.items():
        check(zoo.family(name) == fam, f"family({name}) = {zoo.family(name)}, expected {fam}")
        check(tuple(zoo.default_input(name)) == shape, f"default_input({name}) = {zoo.default_input(name)}")
    try:
        zoo.build("resnet21")
        check(False, "build('resnet21') did not raise")
    except ValueError as e:
        expected = "unknown model 'resnet21'; known: " + ", ".join(sorted(EXPECTED_ZOO))
        check(str(e) == expected, f"unknown-name message: {e}")
    print(f"  {len(zoo.names())} names: {', '.join(zoo.names())}")


# ---------------------------------------------------------------------------------------------
# 2. the committed checkpoints
# ---------------------------------------------------------------------------------------------


def output_shape(family: str, batch: int, num_classes: int, h: int, w: int) -> Tuple[int, ...]:
    # Segmentation: class scores upsampled to the input; detection: yolo_small's raw map, per cell of
    # the stride-8 grid objectness, tx, ty, tw, th and the class logits; classifiers: logits.
    if family == "segmentation":
        return (batch, num_classes, h, w)
    if family == "detection":
        return (batch, 5 + num_classes, h // 8, w // 8)
    return (batch, num_classes)


def check_checkpoints(models_dir: Path) -> None:
    print(f"checkpoints in {models_dir}")
    paths = sorted(models_dir.glob("*.safetensors"))
    check(bool(paths), f"no checkpoints in {models_dir}")
    for path in paths:
        tensors, meta = read_safetensors(path)
        arch, num_classes, shape = meta["arch"], int(meta["num_classes"]), [int(v) for v in meta["input_shape"]]
        model = zoo.build(arch, num_classes=num_classes, in_channels=shape[0])
        ours = ordered_state(model)
        file_sig = [(n, tuple(t.shape), t.dtype) for n, t in tensors]
        our_sig = [(n, tuple(t.shape), t.dtype) for n, t in ours]
        ok = check(set(file_sig) == set(our_sig), f"{path.name}: names/shapes/dtypes differ")
        if not ok:
            file_names, our_names = {n for n, *_ in file_sig}, {n for n, *_ in our_sig}
            print("    missing:", sorted(file_names - our_names)[:10])
            print("    unexpected:", sorted(our_names - file_names)[:10])
            print("    mismatched:", sorted(set(file_sig) - set(our_sig) - {s for s in file_sig if s[0] not in our_names})[:10])
            continue
        check(file_sig == our_sig, f"{path.name}: tensor order differs from the C++ registration order")
        model.load_state_dict(dict(tensors), strict=True)
        with torch.no_grad():
            y = model(torch.randn(2, *shape))
        expected = output_shape(zoo.family(arch), 2, num_classes, shape[1], shape[2])
        check(tuple(y.shape) == expected, f"{path.name}: output shape {tuple(y.shape)}")
        check(bool(torch.isfinite(y).all()), f"{path.name}: non-finite logits")
        print(f"  ok {path.name}: {arch}, {len(tensors)} tensors, input {shape} -> {tuple(y.shape)}")


# ---------------------------------------------------------------------------------------------
# 3. every architecture at its default size
# ---------------------------------------------------------------------------------------------


def check_all_forward() -> None:
    print("every architecture, batch 2 at its default input (segmentation models at 64x64: 520 is slow here)")
    torch.manual_seed(0)
    for name in zoo.names():
        c, h, w = zoo.default_input(name)
        segmentation = zoo.family(name) == "segmentation"
        if segmentation:
            h = w = 64
        model = zoo.build(name, num_classes=10, in_channels=c)
        check(not model.training, f"{name}: build() left training mode on")
        bad = [type(m).__name__ for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear, nn.BatchNorm2d))
               and type(m) not in (nn.Conv2d, nn.Linear, nn.BatchNorm2d)]  # fmt: skip
        check(not bad, f"{name}: layer subclasses {bad}")
        start = time.time()
        with torch.no_grad():
            y = model(torch.randn(2, c, h, w))
        expected = output_shape(zoo.family(name), 2, 10, h, w)  # detection at 96x96: (2, 15, 12, 12)
        ok = check(tuple(y.shape) == expected, f"{name}: output {tuple(y.shape)}")
        ok &= check(bool(torch.isfinite(y).all()), f"{name}: non-finite logits")
        params = sum(p.numel() for p in model.parameters())
        if ok:
            print(f"  ok {name:20s} {(c, h, w)} -> {tuple(y.shape)}  {params:>10,d} params  {time.time() - start:.1f}s")


# ---------------------------------------------------------------------------------------------
# 4. structure facts the C++ tests assert
# ---------------------------------------------------------------------------------------------


def arith_layers(model: nn.Module) -> List[Tuple[str, nn.Module]]:
    return [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def macs(model: nn.Module, sample: torch.Tensor) -> int:
    total = 0

    def hook(m, inp, out):
        nonlocal total
        if isinstance(m, nn.Conv2d):
            k = m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
        else:
            k = m.in_features
        total += out.numel() // out.shape[0] * k

    handles = [m.register_forward_hook(hook) for _, m in arith_layers(model)]
    with torch.no_grad():
        model(sample)
    for h in handles:
        h.remove()
    return total


def check_structure() -> None:
    print("structure (tests/models/test_small_models.cpp, test_torchvision_equivalence.cpp, test_yolo.cpp)")
    sample = torch.zeros(1, 1, 28, 28)
    expected = {  # name: (parameters, MACs per 28x28 image, convs, linears), 10 classes, 1 channel
        "inception_small": (305570, 37835264, 37, 1),
        "densenet_small": (172498, 39585660, 39, 1),
        "mobilenet_v1_small": (136202, 12201600, 11, 1),
    }
    for name, (params, mac, convs, linears) in expected.items():
        m = zoo.build(name, 10, 1)
        layers = arith_layers(m)
        got = (sum(p.numel() for p in m.parameters()), macs(m, sample),
               sum(isinstance(l, nn.Conv2d) for _, l in layers), sum(isinstance(l, nn.Linear) for _, l in layers))  # fmt: skip
        check(got == (params, mac, convs, linears), f"{name}: (params, MACs, convs, linears) = {got}")
        print(f"  {name}: params {got[0]}, MACs {got[1]}, convs {got[2]}, linears {got[3]}")
    names = [n for n, _ in arith_layers(zoo.build("inception_small", 10, 1))]
    check(names[:2] == ["conv1.conv", "inception3a.branch1.conv"] and names[-2:] == ["inception5b.branch4.1.conv", "fc"],
          f"inception_small layer names {names[:2]} .. {names[-2:]}")  # fmt: skip
    names = [n for n, _ in arith_layers(zoo.build("densenet_small", 10, 1))]
    check(names[0] == "features.conv0" and names[-1] == "classifier"
          and "features.denseblock3.denselayer8.conv2" in names and "features.transition1.conv" in names,
          "densenet_small layer names")  # fmt: skip

    v1 = zoo.build("mobilenet_v1", 1000, 3)
    layers = arith_layers(v1)
    params = sum(p.numel() for p in v1.parameters())
    stride2 = sum(isinstance(l, nn.Conv2d) and l.stride[0] == 2 for _, l in layers)
    check(params == 4231976, f"mobilenet_v1 params {params}")
    check(len(layers) == 28 and layers[0][0] == "features.0.0" and layers[1][0] == "features.1.depthwise.0"
          and layers[1][1].groups == 32 and layers[26][0] == "features.13.pointwise.0"
          and layers[27][0] == "classifier.1" and stride2 == 5, "mobilenet_v1 layer list")  # fmt: skip
    print(f"  mobilenet_v1: params {params}, {len(layers)} conv/linear layers, {stride2} at stride 2")
    # TF SAME: a stride-2 3x3 window over an even input pads only after, so on a constant 4x4
    # input the top-left output sees 9 pixels and the bottom-right 4.
    v1 = zoo.build("mobilenet_v1", 10, 1)
    stem = v1.features[0]
    with torch.no_grad():
        stem._modules["0"].weight.fill_(1.0)
        y = stem(torch.full((1, 1, 4, 4), 0.5))
    scale = 1.0 / (1.0 + 1e-3) ** 0.5
    check(tuple(y.shape) == (1, 32, 2, 2) and abs(y[0, 0, 0, 0].item() - 9 * 0.5 * scale) < 1e-5
          and abs(y[0, 0, 1, 1].item() - 4 * 0.5 * scale) < 1e-5, "mobilenet_v1 TF SAME padding")  # fmt: skip

    # tests/models/test_yolo.cpp: 28 BN (stem, 2 per basic block of 3 + 3 + 3 + 2, 3 downsamples,
    # 2 in the head), 29 convs ending in head.predict; oblong and gray inputs; sides that are not
    # multiples of the stride rejected (the C++ throws c10::Error, here ValueError).
    yolo = zoo.build("yolo_small", 10, 3)
    layers = arith_layers(yolo)
    norms = sum(isinstance(m, nn.BatchNorm2d) for m in yolo.modules())
    check(norms == 28 and len(layers) == 29 and layers[0][0] == "backbone.conv1" and layers[-1][0] == "head.predict"
          and "backbone.layer4.1.conv2" in dict(layers) and yolo.head.predict.bias is not None,
          f"yolo_small: {norms} BN, {len(layers)} convs, {layers[0][0]} .. {layers[-1][0]}")  # fmt: skip
    with torch.no_grad():
        oblong = tuple(yolo(torch.zeros(1, 3, 64, 128)).shape)
        gray = tuple(zoo.build("yolo_small", 3, 1)(torch.zeros(1, 1, 96, 96)).shape)
    check(oblong == (1, 15, 8, 16) and gray == (1, 8, 12, 12), f"yolo_small: oblong {oblong}, gray {gray}")
    for bad in ((1, 3, 92, 96), (1, 3, 96, 100)):
        try:
            yolo(torch.zeros(bad))
            check(False, f"yolo_small: input {bad} not rejected")
        except ValueError as e:
            check(str(e) == f"YoloSmall: input must be [B, C, H, W] with H and W multiples of 8, got {list(bad)}",
                  f"yolo_small: message {e}")  # fmt: skip
    print(f"  yolo_small: {norms} BN, {len(layers)} convs ({layers[0][0]} .. {layers[-1][0]}), "
          f"64x128 -> {oblong}, sides not multiples of 8 rejected")  # fmt: skip


# ---------------------------------------------------------------------------------------------
# 5. against torchvision (the C++ mirrors these from torchvision 0.14)
# ---------------------------------------------------------------------------------------------


def randomize_batch_norms(model: nn.Module, gen: torch.Generator) -> None:
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.1)


def check_torchvision() -> None:
    try:
        import torchvision  # noqa: F401
        from torchvision import models as tvm
    except ImportError:
        print("torchvision: not importable, comparison skipped")
        return
    print(f"torchvision {torchvision.__version__}: keys in order, and logits with its weights")
    specs = {  # name: (constructor, input size); odd sizes exercise padding and ceil-mode pools
        "resnet18": (lambda: tvm.resnet18(weights=None), 80), "resnet34": (lambda: tvm.resnet34(weights=None), 64),
        "resnet50": (lambda: tvm.resnet50(weights=None), 64), "resnet101": (lambda: tvm.resnet101(weights=None), 64),
        "wide_resnet50_2": (lambda: tvm.wide_resnet50_2(weights=None), 64),
        "googlenet": (lambda: tvm.googlenet(weights=None, aux_logits=False, transform_input=False,
                                            init_weights=True), 76),
        "densenet121": (lambda: tvm.densenet121(weights=None), 64),
        "mobilenet_v2": (lambda: tvm.mobilenet_v2(weights=None), 64),
        "fcn_resnet50": (lambda: tvm.segmentation.fcn_resnet50(weights=None, weights_backbone=None, aux_loss=False,
                                                               num_classes=1000), 72),
    }  # fmt: skip
    gen = torch.Generator().manual_seed(1)
    for name, (make, size) in specs.items():
        reference = make().eval()
        randomize_batch_norms(reference, gen)
        ours = zoo.build(name, num_classes=1000, in_channels=3)
        ref_keys = [(k, tuple(v.shape)) for k, v in reference.state_dict().items()]
        our_keys = [(k, tuple(v.shape)) for k, v in ours.state_dict().items()]
        if not check(ref_keys == our_keys, f"{name}: state-dict keys/shapes/order differ from torchvision"):
            print("    only torchvision:", sorted(set(ref_keys) - set(our_keys))[:8])
            print("    only ours:", sorted(set(our_keys) - set(ref_keys))[:8])
            continue
        ref_layers = [n for n, _ in arith_layers(reference)]
        check(ref_layers == [n for n, _ in arith_layers(ours)], f"{name}: conv/linear order differs")
        ours.load_state_dict(reference.state_dict(), strict=True)
        x = torch.randn(2, 3, size, size, generator=gen)
        with torch.no_grad():
            expected, got = reference(x), ours(x)
        if isinstance(expected, dict):  # segmentation: the evaluated output
            expected = expected["out"]
        ratio = ((got - expected).abs().max() / expected.abs().max()).item()
        check(ratio <= 1e-5, f"{name}: max|diff|/max|logits| = {ratio:.3g}")
        print(f"  ok {name:16s} {len(our_keys)} keys, {len(ref_layers)} conv/linear, 2x3x{size}x{size}: "
              f"max|diff|/max|logits| = {ratio:.3g}")  # fmt: skip

    # Not a zoo entry, but a GoogLeNet option the C++ class has: aux heads and transform_input,
    # compared in eval mode and in training mode (aux outputs; same dropout draws by seed).
    reference = tvm.googlenet(weights=None, aux_logits=True, transform_input=True, init_weights=True)
    randomize_batch_norms(reference, gen)
    ours = zoo.GoogLeNet(1000, 3, aux_logits=True, transform_input=True)
    same_keys = [(k, tuple(v.shape)) for k, v in reference.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in ours.state_dict().items()
    ]
    if check(same_keys, "googlenet with aux heads: state-dict keys/shapes/order differ from torchvision"):
        ours.load_state_dict(reference.state_dict(), strict=True)
        x = torch.randn(2, 3, 64, 64, generator=gen)
        with torch.no_grad():
            reference.eval(), ours.eval()
            eval_ok = torch.equal(reference(x), ours(x))
            reference.train(), ours.train()
            torch.manual_seed(5)
            expected = reference(x)
            torch.manual_seed(5)
            got = ours.forward_with_aux(x)
        # torchvision 0.14's _forward returns (x, aux2, aux1) and forward unpacks it as
        # (x, aux1, aux2), so its "aux_logits2" field holds the aux1 head's output and vice
        # versa; ours (and the C++ GoogLeNetOutputs) name the heads as they are.
        train_ok = all(torch.allclose(a, b, rtol=1e-5, atol=1e-5)
                       for a, b in ((expected[0], got[0]), (expected[1], got[2]), (expected[2], got[1])))  # fmt: skip
        check(eval_ok and train_ok, f"googlenet with aux heads: eval equal {eval_ok}, training equal {train_ok}")
        print(f"  ok googlenet, aux heads + transform_input: eval logits equal {eval_ok}, "
              f"training (logits, aux2, aux1) equal {train_ok}")  # fmt: skip


# ---------------------------------------------------------------------------------------------
# 6. optional: the accuracy the C++ recorded
# ---------------------------------------------------------------------------------------------


def read_idx(path: Path) -> np.ndarray:
    raw = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    dims = raw[3]
    shape = struct.unpack(">" + "I" * dims, raw[4 : 4 + 4 * dims])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def check_accuracy(models_dir: Path, data_root: Path) -> None:
    print(f"recorded test accuracy, recomputed (data from {data_root})")
    seen: Dict[str, str] = {}
    for path in sorted(models_dir.glob("*.safetensors")):
        tensors, meta = read_safetensors(path)
        acc = meta.get("accuracy")
        if not acc or meta.get("training_arithmetic"):
            continue  # no record, or measured under another arithmetic than float32
        # A ".calibrated" copy holds the same weights (its metadata adds activation ranges).
        digest = hashlib.sha256(b"".join(t.numpy().tobytes() for _, t in tensors)).hexdigest()
        if digest in seen:
            print(f"  {path.name}: same weights as {seen[digest]}")
            continue
        dataset, split = acc["data"].split("/")
        folder = data_root / dataset
        prefix = {"test": "t10k", "train": "train"}[split]
        images_path = folder / f"{prefix}-images-idx3-ubyte.gz"
        if not images_path.exists():
            print(f"  skip {path.name}: no {images_path}")
            continue
        seen[digest] = path.name
        images = read_idx(images_path)[: acc["n"]]
        labels = read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz")[: acc["n"]].astype(np.int64)
        norm = meta["normalization"]
        mean = torch.tensor(norm["mean"], dtype=torch.float32).view(1, -1, 1, 1)
        std = torch.tensor(norm["std"], dtype=torch.float32).view(1, -1, 1, 1)
        model = zoo.build(meta["arch"], int(meta["num_classes"]), int(meta["input_shape"][0]))
        model.load_state_dict(dict(tensors), strict=True)
        correct = 0
        with torch.no_grad():
            for i in range(0, len(images), 500):
                x = torch.from_numpy(images[i : i + 500].copy()).float().div_(255.0).unsqueeze(1)
                x = (x - mean) / std
                correct += (model(x).argmax(1).numpy() == labels[i : i + 500]).sum()
        top1 = 100.0 * correct / len(images)
        # Float summation order differs from libtorch's, so a near-tie may flip: allow 3 images.
        check(abs(top1 - acc["top1"]) <= 300.0 / len(images) + 1e-9,
              f"{path.name}: top-1 {top1:.2f}, recorded {acc['top1']}")  # fmt: skip
        print(f"  {path.name}: top-1 {top1:.2f}% (recorded {acc['top1']}%)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=REPO / "models")
    parser.add_argument("--accuracy", action="store_true", help="recompute recorded test accuracy (slow)")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("BNRECAL_DATA", "/usr/share/datasets")))
    parser.add_argument("--no-torchvision", action="store_true", help="skip the torchvision comparison")
    args = parser.parse_args()
    torch.manual_seed(0)
    check_registry()
    check_checkpoints(args.models)
    check_all_forward()
    check_structure()
    if not args.no_torchvision:
        check_torchvision()
    if args.accuracy:
        check_accuracy(args.models, args.data)
    if failures:
        print(f"\n{len(failures)} FAILED:")
        for f in failures:
            print("  " + f)
        return 1
    print("\nall checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

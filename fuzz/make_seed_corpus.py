#!/usr/bin/python3
"""Writes the fuzz targets' seed corpora (fuzz/corpus/TARGET/): small valid inputs of every kind
each reader accepts, so that mutations start from real structure. Needs Debian's python3 with
numpy, torch and PIL; the committed corpus came from this script:
    /usr/bin/python3 fuzz/make_seed_corpus.py [BNRECAL_BIN]
BNRECAL_BIN (default ./build/bnrecal) makes the checkpoint seed (vgg_small trained on 128 images, calibrated)."""
import gzip, io, json, os, struct, subprocess, sys, tempfile, zipfile

import numpy as np
import torch
from PIL import Image

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
bnrecal = sys.argv[1] if len(sys.argv) > 1 else "./build/bnrecal"


def put(target, name, data):
    os.makedirs(os.path.join(root, target), exist_ok=True)
    with open(os.path.join(root, target, name), "wb") as f:
        f.write(data)


def npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def idx_bytes(array):
    return struct.pack(">BBBB", 0, 0, 8, array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape) + array.tobytes()


def image_bytes(image, fmt, **options):
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def safetensors_bytes(header):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text


rng = np.random.default_rng(0)
# (Files named regression-* are inputs that once found a bug; they are kept, not regenerated.)

put("fuzz_npy", "u1.npy", npy_bytes(rng.integers(0, 256, (3, 5), dtype=np.uint8)))
put("fuzz_npy", "i1.npy", npy_bytes(rng.integers(-128, 128, (2, 5), dtype=np.int8)))
put("fuzz_npy", "i4.npy", npy_bytes(np.arange(6, dtype=np.int32).reshape(2, 3)))
put("fuzz_npy", "f4.npy", npy_bytes(np.ones((4,), dtype=np.float32)))

images = rng.integers(0, 256, (3, 4, 4), dtype=np.uint8)
put("fuzz_idx", "images-idx3-ubyte", idx_bytes(images))
put("fuzz_idx", "images-idx3-ubyte.gz", gzip.compress(idx_bytes(images), mtime=0))
put("fuzz_idx", "labels-idx1-ubyte", idx_bytes(np.array([1, 2, 3], dtype=np.uint8)))

put("fuzz_cifar", "test_batch.bin", bytes(rng.integers(0, 256, 2 * 3073, dtype=np.uint8)))

state = {"conv.weight": torch.zeros(2, 1, 3, 3), "fc.bias": torch.arange(3, dtype=torch.float32),
         "bn.num_batches_tracked": torch.tensor(5)}
buffer = io.BytesIO()
torch.save(state, buffer)
put("fuzz_torch_save", "state_dict.pt", buffer.getvalue())
buffer = io.BytesIO()
torch.save({"state_dict": state, "epoch": 3}, buffer)
put("fuzz_torch_save", "wrapped.pt", buffer.getvalue())
with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
    pickle = next(n for n in archive.namelist() if n.endswith("/data.pkl"))
    put("fuzz_pickle", "wrapped.pkl", archive.read(pickle))
buffer = io.BytesIO()
torch.save({"w": torch.ones(4)}, buffer)  # one 16-byte storage: within fuzz_pickle's data/0
with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
    put("fuzz_pickle", "one_tensor.pkl", archive.read(next(n for n in archive.namelist() if n.endswith("/data.pkl"))))

rgb = Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
put("fuzz_jpeg", "baseline.jpg", image_bytes(rgb, "JPEG", quality=90))
put("fuzz_jpeg", "progressive.jpg", image_bytes(rgb, "JPEG", progressive=True))
put("fuzz_jpeg", "gray.jpg", image_bytes(rgb.convert("L"), "JPEG"))
put("fuzz_jpeg", "cmyk.jpg", image_bytes(rgb.convert("CMYK"), "JPEG"))
put("fuzz_png", "rgb.png", image_bytes(rgb, "PNG"))
put("fuzz_png", "gray.png", image_bytes(rgb.convert("L"), "PNG"))
put("fuzz_png", "palette.png", image_bytes(rgb.convert("P"), "PNG"))
put("fuzz_png", "rgba_interlaced.png", image_bytes(rgb.convert("RGBA"), "PNG", interlace=1))
put("fuzz_png", "gray1bit.png", image_bytes(rgb.convert("1"), "PNG"))

policies = {
    "a8w8.json": {"policy": "a8w8", "params": {"activations": "signed"}},
    "sysmt.json": {"policy": "sysmt", "params": {"smt": 4, "idle": "act", "round": "trunc"},
                   "overrides": [{"pattern": "fc", "policy": "fp32"}, {"pattern": "layer3.*", "policy": "a8w8"}]},
    "noise.json": {"policy": "fp32", "noise": {"preset": "seed-003", "eta": 0.04, "sigma_t": 0.2, "sigma_s": 0.1,
                                               "exclude": ["conv1"]}},
    "lowbit.json": {"policy": "lowbit", "params": {"weight_bits": 1, "activation_bits": 2}},
}
for name, policy in policies.items():
    put("fuzz_policy_json", name, json.dumps(policy).encode())

put("fuzz_model", "metadata_only.safetensors",
    safetensors_bytes({"__metadata__": {"format": "pt", "bnrecal": json.dumps(
        {"arch": "vgg_small", "num_classes": 10, "input_shape": [1, 28, 28], "dataset": "fashion-mnist"})}}))
with tempfile.TemporaryDirectory() as work:
    model, calibrated = os.path.join(work, "m.safetensors"), os.path.join(work, "c.safetensors")
    subprocess.run([bnrecal, "train", "--arch", "vgg_small", "--epochs", "1", "--train-limit", "128", "--eval-limit", "64", "-o", model, "--quiet"], check=True)
    subprocess.run([bnrecal, "calibrate", "-m", model, "--images", "64", "-o", calibrated, "--quiet"], check=True)
    put("fuzz_model", "vgg_small.calibrated.safetensors", open(calibrated, "rb").read())
print("seed corpora written to", root)

# fuzz_onnx: a small classifier exported by torch.onnx with BatchNorm kept and folded, at the
# opsets bnrecal's range starts and ends with.
onnx_net = torch.nn.Sequential(
    torch.nn.Conv2d(1, 4, 3, padding=1, bias=False), torch.nn.BatchNorm2d(4), torch.nn.ReLU6(),
    torch.nn.MaxPool2d(2), torch.nn.Conv2d(4, 4, 3, stride=2, padding=(0, 1)), torch.nn.Sigmoid(),
    torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Dropout(), torch.nn.Linear(4, 3),
    torch.nn.Softmax(dim=1)).eval()
for opset, mode, name in [(9, torch.onnx.TrainingMode.PRESERVE, "kept_opset9.onnx"),
                          (17, torch.onnx.TrainingMode.EVAL, "folded_opset17.onnx")]:
    buffer = io.BytesIO()
    torch.onnx.export(onnx_net, torch.zeros(1, 1, 8, 8), buffer, opset_version=opset, training=mode,
                      do_constant_folding=mode == torch.onnx.TrainingMode.EVAL)
    put("fuzz_onnx", name, buffer.getvalue())

"""The Python path and the CLI compute the same thing on the same images: for every classification
architecture of the zoo, the same activation ranges, the same top-1 (per image) under SySMT with
analog noise, and bit-identical pooled BatchNorm statistics after recalibration (one thread); the
other estimators on one model; checkpoints passing both ways."""
import os

import pytest
import torch

import bnrecal
from conftest import reference_model

SPEC = "sysmt smt=2 noise=seed-003 eta=0.05"
# MobileNet-v2's linear bottlenecks feed signed values to the next block's expansion conv, which
# unsigned activation codes (sysmt's) cannot hold: the library refuses and advises signed a8w8.
SPECS = {"mobilenet_v2": "a8w8 activations=signed noise=seed-003 eta=0.05"}
# DenseNet-121's transition pooling needs inputs of 32 px or more; Fashion-MNIST has 28. Its Python
# definition is still checked against torchvision's (test_zoo.py).
TOO_SMALL_FOR_FASHION_MNIST = {"densenet121"}


def sizes(arch):
    """(images to evaluate, to calibrate and recalibrate on, batch size): fewer for the ImageNet
    architectures, which run here on 28x28 Fashion-MNIST images with one input channel."""
    return (192, 192, 64) if bnrecal.zoo.family(arch) == "small-image" else (24, 24, 12)


def calibrated_checkpoint(arch, cli, tmp_path):
    """The committed calibrated reference model, or random weights calibrated by the CLI; with the
    Python ranges on the same images checked against the CLI's."""
    committed = reference_model(arch)
    if os.path.exists(committed):
        return committed
    torch.manual_seed(7)
    model = bnrecal.zoo.build(arch, num_classes=10, in_channels=1)
    _, images, batch = sizes(arch)
    raw = tmp_path / f"{arch}.safetensors"
    card = {"arch": arch, "dataset": "fashion-mnist", "num_classes": 10, "input_shape": [1, 28, 28]}
    bnrecal.save_model(raw, model, card)
    calibrated = tmp_path / f"{arch}.calibrated.safetensors"
    cli.run("calibrate", "-m", raw, "-n", images, "--batch-size", batch, "--seed", 3, "-o", calibrated)
    python_ranges = bnrecal.calibrate(model, bnrecal.data.sample(images=images, batch_size=batch, seed=3, augment=True))
    _, cli_card = bnrecal.load(calibrated)
    assert python_ranges["layers"] == cli_card["activation_calibration"]["layers"]
    return str(calibrated)


def test_every_zoo_architecture_is_covered():
    assert set(bnrecal.zoo.names()) >= {"resnet20", "resnet56", "resnet29_bottleneck", "inception_small",
                                        "densenet_small", "mobilenet_v1_small"}


# Classifiers only: `bnrecal eval` scores the dense tasks' models by their own data, not Fashion-MNIST top-1.
DENSE_FAMILIES = ("segmentation", "detection")


@pytest.mark.parametrize("arch", [a for a in bnrecal.zoo.names()
                                  if a not in TOO_SMALL_FOR_FASHION_MNIST and bnrecal.zoo.family(a) not in DENSE_FAMILIES])
def test_python_equals_cli(arch, cli, tmp_path):
    checkpoint = calibrated_checkpoint(arch, cli, tmp_path)
    eval_images, recal_images, batch = sizes(arch)
    spec = SPECS.get(arch, SPEC)

    # Evaluation under SySMT 2T with analog noise (temporal draws advance per batch: same batches).
    cli_eval = cli.json("eval", "-m", checkpoint, "--policy", spec, "--seed", 11, "--limit", eval_images, "--batch-size", batch)
    model, card = bnrecal.load_model(checkpoint)
    bnrecal.apply(model, spec, metadata=card, seed=11)
    test = bnrecal.data.ImageStream("fashion-mnist", "test", batch_size=batch, limit=eval_images)
    python_eval = bnrecal.evaluate(model, test)
    assert python_eval["n"] == cli_eval["n"] == eval_images
    assert python_eval["top1"] == cli_eval["top1"]

    # Pooled recalibration under the same arithmetic: every BN buffer bit-identical.
    recalibrated = tmp_path / "recalibrated.safetensors"
    cli.run("recalibrate", "-m", checkpoint, "--policy", spec, "--seed", 5, "-n", recal_images, "--batch-size", batch,
            "--estimator", "pooled", "-o", recalibrated)
    model, card = bnrecal.load_model(checkpoint)
    bnrecal.apply(model, spec, metadata=card, seed=5)
    bnrecal.recalibrate(model, bnrecal.data.sample(images=recal_images, batch_size=batch, seed=5), estimator="pooled")
    cli_state, _ = bnrecal.load(recalibrated)
    python_state = model.state_dict()
    assert set(python_state) == set(cli_state)
    buffers = [n for n in cli_state if n.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    assert buffers
    for name in buffers:
        assert torch.equal(python_state[name], cli_state[name]), name


@pytest.mark.parametrize("estimator,extra", [("ema", ["--momentum", "0.2"]), ("ema-reset", []), ("cumulative", []),
                                             ("final", []), ("pooled", ["--sequential"])])
def test_estimators_equal_cli(estimator, extra, cli, tmp_path):
    checkpoint = reference_model("resnet20")
    recalibrated = tmp_path / "r.safetensors"
    cli.run("recalibrate", "-m", checkpoint, "--policy", "sysmt smt=4", "--seed", 2, "-n", 128, "--batch-size", 32,
            "--estimator", estimator, *extra, "-o", recalibrated)
    model, card = bnrecal.load_model(checkpoint)
    bnrecal.apply(model, "sysmt smt=4", metadata=card, seed=2)
    bnrecal.recalibrate(model, bnrecal.data.sample(images=128, batch_size=32, seed=2), estimator=estimator,
                        momentum=0.2 if extra[:1] == ["--momentum"] else 0.1, sequential="--sequential" in extra)
    cli_state, _ = bnrecal.load(recalibrated)
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, cli_state[name]), name


def test_checkpoints_pass_both_ways(cli, tmp_path):
    """A model recalibrated in Python and saved is what `bnrecal eval` reads, and back."""
    model, card = bnrecal.load_model(reference_model("resnet20"))
    bnrecal.apply(model, "a8w8", metadata=card)
    bnrecal.recalibrate(model, bnrecal.data.sample(images=128, batch_size=64, seed=4))
    python_top1 = bnrecal.evaluate(model, bnrecal.data.ImageStream(batch_size=100, limit=300))["top1"]
    saved = tmp_path / "from-python.safetensors"
    bnrecal.save_model(saved, model, card)
    assert cli.json("eval", "-m", saved, "--policy", "a8w8", "--limit", 300, "--batch-size", 100)["top1"] == python_top1
    reloaded, _ = bnrecal.load_model(saved)
    for name, tensor in reloaded.state_dict().items():
        assert torch.equal(tensor, model.state_dict()[name]), name

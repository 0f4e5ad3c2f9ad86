"""Bad input from Python raises bnrecal.InputError with the CLI's message, never crashes."""
import pytest
import torch

import bnrecal
from conftest import reference_model


def resnet20(calibrated=True):
    return bnrecal.load_model(reference_model("resnet20", calibrated))


@pytest.mark.parametrize("spec", ["a8w8", "bogus", "a8w8 override=nosuch.*=fp32", "sysmt smt=3", "a8w8 colour=red"])
def test_spec_errors_match_cli(spec, cli):
    uncalibrated = spec == "a8w8"
    model, card = resnet20(calibrated=not uncalibrated)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(bnrecal.InputError) as error:
        bnrecal.apply(model, spec, metadata=card)
    expected = cli.error("eval", "-m", reference_model("resnet20", not uncalibrated), "--policy", spec, "--limit", 8)
    assert str(error.value) == expected
    # The model is untouched: still torch modules with the same weights.
    assert not any(isinstance(m, bnrecal.PerturbedConv2d) for m in model.modules())
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_unknown_dataset_matches_cli(cli):
    with pytest.raises(bnrecal.InputError) as error:
        bnrecal.data.ImageStream("no-such-data", "test")
    expected = cli.error("eval", "-m", reference_model("resnet20"), "--data", "no-such-data", "--limit", 8)
    assert str(error.value) == expected


def test_recalibration_errors():
    model, card = resnet20()
    stream = bnrecal.data.sample(images=16, batch_size=16)
    cases = [({"estimator": "bogus"}, "unknown estimator 'bogus' (known: ema, ema-reset, cumulative, final, pooled)"),
             ({"momentum": 1.5}, "momentum must be in [0, 1] (PyTorch convention), got 1.500000"),
             ({"layers": ["nosuch"]}, "BN layer pattern(s) select no layer (BN layers: bn1, ")]
    for kwargs, message in cases:
        with pytest.raises(bnrecal.InputError) as error:
            bnrecal.recalibrate(model, stream, **kwargs)
        assert str(error.value).startswith(message)
    with pytest.raises(bnrecal.InputError, match="recalibration stream has no images"):
        bnrecal.recalibrate(model, [])
    with pytest.raises(bnrecal.InputError, match="no BatchNorm layers"):
        bnrecal.recalibrate(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3)), stream)


def test_tensor_errors():
    model, card = resnet20()
    bnrecal.apply(model, "sysmt smt=2", metadata=card)
    conv = model.get_submodule("layer1.0.conv1")
    good = torch.zeros(2, 16, 8, 8)
    assert conv(good).shape == (2, 16, 8, 8)
    cases = [(good.double(), "layer 'layer1.0.conv1': input must be a float32 CPU tensor, got Double on cpu"),
             (torch.zeros(2, 16, 8, 8, device="meta"), "layer 'layer1.0.conv1': input must be a float32 CPU tensor, got Float on meta"),
             (torch.zeros(16, 8, 8), "layer 'layer1.0.conv1': input has shape [16, 8, 8], expected [*, 16, *, *]"),
             (torch.zeros(2, 3, 8, 8), "layer 'layer1.0.conv1': input has shape [2, 3, 8, 8], expected [*, 16, *, *]")]
    for tensor, message in cases:
        with pytest.raises(bnrecal.InputError) as error:
            conv(tensor)
        assert str(error.value) == message
    with pytest.raises(bnrecal.InputError, match="has no analog noise"):
        conv.noisy_weight()


def test_calibration_errors():
    model, _ = resnet20()
    with pytest.raises(bnrecal.InputError, match="unknown calibration statistic 'median'"):
        bnrecal.calibrate(model, [], stat="median")
    with pytest.raises(bnrecal.InputError, match="calibration saw no images"):
        bnrecal.calibrate(model, [])


def test_checkpoint_errors(tmp_path):
    with pytest.raises(bnrecal.InputError):
        bnrecal.load(tmp_path / "missing.safetensors")
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(bnrecal.InputError):
        bnrecal.load(broken)

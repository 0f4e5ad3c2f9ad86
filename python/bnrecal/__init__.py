"""bnrecal from PyTorch: the library's perturbed arithmetic (A8W8, SySMT/NB-SMT, analog weight
noise) inside any ``torch.nn.Module``, with its activation calibration, BatchNorm recalibration
estimators, SySMT diagnostics, datasets and checkpoints. The arithmetic runs in the library's torch
custom ops, so results equal the CLI's bit for bit on the same model and images.

    import bnrecal
    model, card = bnrecal.load_model("models/fashion-mnist-resnet20.calibrated.safetensors")
    bnrecal.apply(model, "sysmt smt=4", metadata=card, seed=1)
    before = bnrecal.evaluate(model, bnrecal.data.ImageStream("fashion-mnist", "test", limit=2000))
    bnrecal.recalibrate(model, bnrecal.data.sample("fashion-mnist", images=2048, seed=1))
    after = bnrecal.evaluate(model, bnrecal.data.ImageStream("fashion-mnist", "test", limit=2000))
"""
from . import data, zoo
from ._ops import InputError
from .calibrate import calibrate
from .checkpoint import load, load_model, save, save_model
from .evaluate import evaluate
from .perturb import (PerturbedConv2d, PerturbedLinear, apply, arith_layers, collect_diagnostics, diagnostics,
                      policy_summary, restore)
from .recalibrate import ESTIMATORS, BnSnapshot, bn_layers, recalibrate

__all__ = ["InputError", "data", "zoo", "calibrate", "load", "load_model", "save", "save_model", "evaluate",
           "PerturbedConv2d", "PerturbedLinear", "apply", "arith_layers", "collect_diagnostics", "diagnostics",
           "policy_summary", "restore", "ESTIMATORS", "BnSnapshot", "bn_layers", "recalibrate"]

"""Activation-range calibration for a8w8 and sysmt, as ``bnrecal calibrate`` does it: the model's
current arithmetic in eval mode on a stream of images, per layer the statistic of its input's
per-image maxima ("mean_max", default, or "max"), the global max |x| and min::

    cal = bnrecal.calibrate(model, bnrecal.data.sample("fashion-mnist", images=2048, augment=True))
    bnrecal.apply(model, "a8w8", calibration=cal)

The per-image maxima are summed in float64 with the same tensor operations as the library, batch
by batch, so on the same batches the ranges equal the CLI's bit for bit.
"""
import math

import torch

from . import _ops
from .data import images_of
from .perturb import arith_layers


class _RangeProbe:
    def __init__(self):
        self.sum_of_max, self.max, self.min, self.images = 0.0, -math.inf, math.inf, 0

    def __call__(self, module, inputs):
        x = inputs[0]
        flat = x.detach().reshape(x.size(0), -1).to(torch.float64)
        per_image_max = flat.max(1)[0]
        self.sum_of_max += per_image_max.sum().item()
        self.images += x.size(0)
        self.max = max(self.max, per_image_max.max().item())
        self.min = min(self.min, flat.min().item())


def calibrate(model, batches, stat="mean_max"):
    """The activation calibration (the checkpoint's "activation_calibration" section) of `model`
    on `batches` (tensors or ``(images, labels)`` pairs). The model's mode is restored after."""
    if stat not in ("mean_max", "max"):
        raise _ops.InputError(f"unknown calibration statistic '{stat}' (known: mean_max, max)")
    layers = arith_layers(model)
    probes = [_RangeProbe() for _ in layers]
    handles = [module.register_forward_pre_hook(probe) for (_, module), probe in zip(layers, probes)]
    was_training = model.training
    images = 0
    try:
        model.eval()
        with torch.no_grad():
            for batch in batches:
                x = images_of(batch)
                model(x)
                images += x.size(0)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    if images == 0:
        raise _ops.InputError("calibration saw no images")
    ranges = {}
    for (name, _), probe in zip(layers, probes):
        a_max = probe.max if stat == "max" else probe.sum_of_max / probe.images
        max_abs = max(abs(probe.min), abs(probe.max))
        # As the library: a layer whose inputs never exceeded 0 gets range 1 (codes stay exact).
        ranges[name] = {"a_max": a_max if a_max > 0 else 1.0, "max_abs": max_abs if max_abs > 0 else 1.0,
                        "min": probe.min}
    return {"stat": stat, "images": images, "source": {"command": "bnrecal.calibrate (Python)"},
            "layers": ranges}

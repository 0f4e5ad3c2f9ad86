"""bnrecal's arithmetic inside any ``torch.nn.Module``: every Conv2d and Linear computes under a
perturbation spec, the CLI's ``--policy`` grammar with its per-layer overrides and analog noise::

    bnrecal.apply(model, "sysmt smt=4 override=layer3.*=a8w8 noise=seed-003 eta=0.04",
                  calibration=cal, seed=1)
    logits = model(images)          # perturbed forward (inference: no gradients)
    bnrecal.restore(model)          # the original torch modules again

Resolution is the CLI's, done by the library: a non-fp32 spec leaves the first conv (the first
Conv2d registered), Linear layers and depthwise convs in fp32 unless overridden; overrides match
module names (exact or glob); the noise draws depend on (seed, layer name) only. So a zoo model
here computes bit for bit what ``bnrecal eval --policy SPEC --seed SEED`` computes.
"""
import json

import torch

from . import _ops


class _Perturbed(torch.nn.Module):
    """Holds the original module's parameters (so the state dict is unchanged) and its policy."""

    def __init__(self, original, layer):
        super().__init__()
        self.weight = original.weight
        self.register_parameter("bias", original.bias)
        self.layer = layer
        # Kept out of the module tree (no submodule, no state-dict entries) for restore().
        self.__dict__["_original"] = original

    @property
    def policy(self):
        return self.layer.policy()

    def describe(self):
        """The policy's parameters, calibration and (when collected) SySMT diagnostics."""
        return json.loads(self.layer.describe())

    def noisy_weight(self):
        """The weight the next forward computes with under analog noise (advances temporal draws)."""
        return _ops.call(self.layer.noisy_weight, self.weight.detach())

    def extra_repr(self):
        return f"{self._original.extra_repr()}, policy={self.policy}"


    def forward(self, input):
        return _ops.call(getattr(self.layer, self._op), input, self.weight.detach(),
                         None if self.bias is None else self.bias.detach())


class PerturbedConv2d(_Perturbed):
    _op = "conv2d"


class PerturbedLinear(_Perturbed):
    _op = "linear"


def arith_layers(model):
    """``(name, module)`` of every Conv2d and Linear (original or perturbed), in registration order."""
    kinds = (torch.nn.Conv2d, torch.nn.Linear, _Perturbed)
    return [(name, module) for name, module in model.named_modules() if name and isinstance(module, kinds)]


def _original(module):
    return module._original if isinstance(module, _Perturbed) else module


def _describe_layer(name, module, first_conv):
    if isinstance(module, torch.nn.Linear):
        return {"name": name, "kind": "linear", "in_channels": module.in_features,
                "out_channels": module.out_features}
    if isinstance(module.padding, str) or module.padding_mode != "zeros":
        raise _ops.InputError(f"layer '{name}': padding {module.padding!r} with mode '{module.padding_mode}' "
                              "is not supported (numeric zero padding only)")
    return {"name": name, "kind": "conv", "in_channels": module.in_channels,
            "out_channels": module.out_channels, "kernel": list(module.kernel_size),
            "stride": list(module.stride), "padding": list(module.padding),
            "dilation": list(module.dilation), "groups": module.groups, "first_conv": first_conv}


def _replace(model, name, module):
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, module)


def apply(model, spec="fp32", calibration=None, seed=1, metadata=None):
    """Makes every Conv2d/Linear of `model` compute under `spec`; returns `model`.

    calibration: activation ranges from :func:`bnrecal.calibrate` (a8w8 and sysmt need them).
    metadata: a bnrecal model card (checkpoint metadata), whose calibration, channel orders and
    training arithmetic are used; `calibration` overrides its ranges. On any error (unknown policy,
    an override matching no layer, a missing calibration, ...) InputError with the CLI's message
    is raised and the model is left as it was.
    """
    card = dict(metadata or {})
    if calibration is not None:
        card["activation_calibration"] = calibration
    layers = [(name, _original(module)) for name, module in arith_layers(model)]
    if not layers:
        raise _ops.InputError("the model has no Conv2d or Linear layer to perturb")
    descriptions = []
    first_conv_seen = False
    for name, module in layers:
        is_conv = isinstance(module, torch.nn.Conv2d)
        descriptions.append(_describe_layer(name, module, is_conv and not first_conv_seen))
        first_conv_seen = first_conv_seen or is_conv
    policies = _ops.call(_ops.ops.build_layers, spec, json.dumps(descriptions), json.dumps(card), int(seed))
    for (name, module), layer in zip(layers, policies):
        wrapper = PerturbedLinear if isinstance(module, torch.nn.Linear) else PerturbedConv2d
        _replace(model, name, wrapper(module, layer))
    return model


def restore(model):
    """Puts the original torch Conv2d/Linear modules back (same parameter objects); returns `model`."""
    for name, module in arith_layers(model):
        if isinstance(module, _Perturbed):
            _replace(model, name, module._original)
    return model


def policy_summary(model):
    """Per layer: name, kind and the policy's description (as in ``bnrecal eval --json``)."""
    summary = []
    for name, module in arith_layers(model):
        entry = {"name": name, "kind": "linear" if isinstance(module, (torch.nn.Linear, PerturbedLinear)) else "conv"}
        entry["policy"] = module.describe() if isinstance(module, _Perturbed) else {"policy": "torch"}
        summary.append(entry)
    return summary


def collect_diagnostics(model, on=True):
    """Starts (or stops) collecting SySMT diagnostics in every SySMT layer, from zero; returns the
    names of those layers. Costs O(M*N*K) extra work per forward while on."""
    names = []
    for name, module in arith_layers(model):
        if isinstance(module, _Perturbed):
            module.layer.reset_statistics()
            if module.layer.set_collect_diagnostics(on):
                names.append(name)
    return names


def diagnostics(model):
    """``{layer name: the SySMT policy's description}`` for every SySMT layer: its cost (MACs,
    cycles) and, when collected, its diagnostics (collision rate, changed fractions, MSE vs exact)."""
    out = {}
    for name, module in arith_layers(model):
        if isinstance(module, _Perturbed):
            described = module.layer.sysmt_describe()
            if described:
                out[name] = json.loads(described)
    return out

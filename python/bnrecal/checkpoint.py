"""bnrecal checkpoints from Python: safetensors files whose metadata is the model card, read and
written by the library itself, so a file passes between the CLI and Python unchanged::

    model, card = bnrecal.load_model("models/fashion-mnist-resnet20.calibrated.safetensors")
    ...recalibrate...
    bnrecal.save_model("recalibrated.safetensors", model, card)   # `bnrecal eval -m` reads it

``load``/``save`` work on any state dict (a user's own torch model); ``load_model`` builds a zoo
architecture (bnrecal.zoo) from the card.
"""
import json

from . import _ops, zoo


def load(path):
    """``(state_dict, card)``: the tensors by name (in file order) and the model card (a dict)."""
    names, tensors, metadata = _ops.call(_ops.ops.read_checkpoint, str(path))
    return dict(zip(names, tensors)), json.loads(metadata)


def save(path, state_dict, card=None):
    """Writes a checkpoint atomically (temporary file, then rename)."""
    names = list(state_dict.keys())
    tensors = [t.detach().cpu().contiguous() for t in state_dict.values()]
    _ops.call(_ops.ops.write_checkpoint, str(path), names, tensors, json.dumps(card or {}))


def load_model(path):
    """``(model, card)``: the card's zoo architecture with the file's weights, in eval mode."""
    state, card = load(path)
    arch = card.get("arch")
    if arch not in zoo.names():
        raise _ops.InputError(f"checkpoint '{path}' holds architecture '{arch}', which bnrecal.zoo does not "
                              f"build (known: {', '.join(zoo.names())}); load its state dict into your own "
                              "module with bnrecal.load")
    in_channels = (card.get("input_shape") or zoo.default_input(arch))[0]
    model = zoo.build(arch, num_classes=card.get("num_classes", 10), in_channels=in_channels)
    model.load_state_dict(state, strict=True)
    return model.eval(), card


def save_model(path, model, card):
    """Saves `model`'s state dict (perturbed layers keep their parameter names) with `card`."""
    save(path, model.state_dict(), card)

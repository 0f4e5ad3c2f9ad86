#!/usr/bin/python3
"""Reference outputs of torchvision models, for bnrecal's equivalence tests.

    /usr/bin/python3 scripts/torchvision_reference.py OUT_DIR resnet18:2,3,80,80 googlenet:2,3,76,76 ...
    /usr/bin/python3 scripts/torchvision_reference.py OUT_DIR --script resnet18:1,3,64,64

NAME is a torchvision.models constructor, googlenet_aux, or fcn_resnet50 / fcn_resnet101 (21 classes,
aux head; the logits are the "out" scores). For each NAME:N,C,H,W this writes
  OUT_DIR/NAME.pt      the model's state_dict (torch.save, zip format), as a user would export it
  OUT_DIR/NAME_io.pt   {"input": x, "logits": model(x)} for a fixed seeded input x of that shape
With --script the model is also written as a TorchScript archive OUT_DIR/NAME_script.pt.
With --onnx[=OPSET] (default opset 13) it is also exported by torch.onnx.export, batch size symbolic,
as OUT_DIR/NAME.onnx with its BatchNorm layers kept and OUT_DIR/NAME_folded.onnx with them folded
into the convolutions (torch.onnx's own eval-mode export).

Weights are torchvision's random initialisation (weights=None: no download). BatchNorm is made
non-trivial on purpose: the running statistics are the batch statistics of a random calibration
batch (so activations stay O(1) even where torchvision's init shrinks them, e.g. GoogLeNet's
std=0.01) and the affine parameters are randomised, so a BN that the C++ side mis-wires or skips
changes the logits. All models are built in one interpreter to pay the start-up cost once.
"""
import sys

import torch
import torchvision


def build(name):
    if name == "googlenet":
        return torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True)
    if name == "googlenet_aux":  # the non-default flags: aux heads present, transform_input on
        return torchvision.models.googlenet(weights=None, aux_logits=True, transform_input=True, init_weights=True)
    if name.startswith("fcn_"):  # as torchvision's pretrained FCNs: 21 VOC classes, aux head present
        return getattr(torchvision.models.segmentation, name)(weights=None, weights_backbone=None, aux_loss=True)
    return getattr(torchvision.models, name)(weights=None)


def make_bn_nontrivial(model, shape):
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average: one batch gives exactly its statistics
    model.train()
    with torch.no_grad():
        model(torch.randn(shape))
        for bn in bns:
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.normal_(0.0, 0.2)
            bn.momentum = 0.1
    model.eval()


def export_onnx(model, x, opset, stem):
    names = {"input_names": ["images"], "output_names": ["logits"],
             "dynamic_axes": {"images": {0: "N"}, "logits": {0: "N"}}}
    torch.onnx.export(model, x, stem + ".onnx", opset_version=opset, training=torch.onnx.TrainingMode.PRESERVE,
                      do_constant_folding=False, **names)
    torch.onnx.export(model, x, stem + "_folded.onnx", opset_version=opset, training=torch.onnx.TrainingMode.EVAL,
                      **names)


def main(argv):
    out_dir, specs, script, onnx_opset = argv[0], [], False, None
    for arg in argv[1:]:
        if arg == "--script":
            script = True
            continue
        if arg.startswith("--onnx"):
            onnx_opset = int(arg.split("=")[1]) if "=" in arg else 13
            continue
        name, shape = arg.split(":")
        specs.append((name, [int(s) for s in shape.split(",")], script, onnx_opset))
        script, onnx_opset = False, None
    torch.set_num_threads(1)  # the test machine's cores are shared
    for name, shape, as_script, onnx_opset in specs:
        torch.manual_seed(0)
        model = build(name)
        make_bn_nontrivial(model, shape)
        torch.manual_seed(1)
        x = torch.randn(shape)
        with torch.no_grad():
            logits = model(x)
            if isinstance(logits, dict):  # segmentation models: the evaluated output
                logits = logits["out"]
        torch.save(model.state_dict(), f"{out_dir}/{name}.pt")
        torch.save({"input": x, "logits": logits}, f"{out_dir}/{name}_io.pt")
        if as_script:
            torch.jit.script(model).save(f"{out_dir}/{name}_script.pt")
        if onnx_opset:
            export_onnx(model, x, onnx_opset, f"{out_dir}/{name}")
        print(name, tuple(logits.shape), float(logits.abs().max()), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

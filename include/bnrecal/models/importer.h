// Weight import from PyTorch files into zoo models, and from there into bnrecal checkpoints.
// Reads both `torch.save(model.state_dict(), path)` files (zip format, PyTorch >= 1.6) and
// TorchScript archives (`torch.jit.script(model).save(path)`), told apart by their contents.
//
//   bnrecal::NamedTensors weights = bnrecal::read_pytorch_weights("resnet18.pt");
//   bnrecal::ImportOptions o;  o.arch = "resnet18";  o.weights_path = "resnet18.pt";
//   bnrecal::ImportedModel m = bnrecal::import_pytorch_model(o);        // network + model card
//   bnrecal::save_checkpoint("resnet18.safetensors", *m.network, m.card);
#pragma once
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "bnrecal/models/checkpoint.h"
#include "bnrecal/nn/network.h"

namespace bnrecal {

enum class PyTorchFileKind { kStateDict, kTorchScript };

// Which kind of PyTorch file path is; throws InputError when it is missing or not a PyTorch
// zip archive (text files, legacy pre-1.6 pickles, safetensors, ...).
PyTorchFileKind detect_pytorch_file(const std::string& path);

// Every tensor of the file by name. A state dict wrapped in a training checkpoint
// ({"state_dict": {...}} or {"model": {...}}) is unwrapped, and DataParallel's "module." prefix
// is dropped, because that is how most shared .pt files look.
NamedTensors read_pytorch_weights(const std::string& path);

struct ImportOptions {
  std::string arch;                 // a zoo name: "resnet18", "googlenet", ...
  std::string weights_path;         // the .pt file
  int64_t num_classes = 1000;
  // "imagenet" (torchvision's mean/std) or "inception" (mean = std = 0.5: what torchvision's
  // pretrained GoogLeNet expects once its transform_input step is folded away); empty: the
  // architecture's default (inception for googlenet, imagenet otherwise).
  std::string normalization;
  std::string dataset;              // recorded in the card when given (the --data it belongs to)
};

struct ImportedModel {
  std::shared_ptr<Network> network;  // in eval mode
  ModelCard card;  // arch, num_classes, input_shape, normalization, source, dataset if given
};

// "imagenet" (torchvision's mean/std) or "inception" (mean = std = 0.5); InputError otherwise.
Normalization named_normalization(const std::string& name);

// Builds options.arch from the zoo and loads the file into it; throws InputError listing every
// missing / unexpected / mis-shaped tensor when the file is another architecture.
ImportedModel import_pytorch_model(const ImportOptions& options);

// import_pytorch_model + save_checkpoint; returns the card written.
ModelCard import_to_checkpoint(const ImportOptions& options, const std::string& output_path);

namespace detail {
// The tensors of a torch.save zip archive holding a (possibly wrapped) dict of tensors. Its own
// unpickler: libtorch 1.13's torch::pickle_load cannot read OrderedDicts (torch_save_reader.cpp).
NamedTensors read_torch_save(const std::string& path);
}  // namespace detail

}  // namespace bnrecal

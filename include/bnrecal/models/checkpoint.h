// Checkpoints: safetensors files (8-byte little-endian header length, JSON header, raw
// little-endian tensor data) that Python's safetensors and PyTorch users read directly.
// bnrecal's metadata, the model card (model_card.h), is one JSON object stored as the string
// __metadata__["bnrecal"].
//
//   bnrecal::LoadedModel m = bnrecal::load_model("model.safetensors");
//   bnrecal::save_checkpoint("copy.safetensors", *m.network, m.card);   // atomic
#pragma once
#include <ATen/ATen.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "bnrecal/models/model_card.h"
#include "bnrecal/nn/network.h"

namespace bnrecal {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

struct Checkpoint {
  NamedTensors tensors;        // in file order
  nlohmann::json metadata;     // the "bnrecal" object (empty object if absent)
};

// Every parameter and buffer of the module (its state dict), by name.
NamedTensors state_dict(torch::nn::Module& module);

void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const nlohmann::json& metadata);
Checkpoint read_safetensors(const std::string& path);

// Copies tensors into the module's parameters and buffers by name. Checks every name, shape
// and dtype first and throws one InputError listing every missing, unexpected and mis-shaped
// tensor; the module is untouched when anything is wrong.
void load_state_dict(torch::nn::Module& module, const NamedTensors& tensors,
                     const std::string& source_name);

void save_checkpoint(const std::string& path, torch::nn::Module& module, const ModelCard& card);

struct LoadedModel {
  std::shared_ptr<Network> network;
  ModelCard card;
};
// Builds card.arch from the zoo with card.num_classes and card.input_shape (or the card's graph,
// for an imported ONNX model), then loads the weights; the network is left in eval mode. A path
// ending in .onnx is imported on the fly (onnx_model.h).
LoadedModel load_model(const std::string& path);

}  // namespace bnrecal

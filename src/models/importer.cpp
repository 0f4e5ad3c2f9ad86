#include "bnrecal/models/importer.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/script.h>

#include <filesystem>
#include <fstream>
#include <algorithm>

#include "bnrecal/core/error.h"
#include "bnrecal/models/zoo.h"

namespace bnrecal {

namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

NamedTensors read_torchscript(const std::string& path) {
  torch::jit::Module module;
  try {
    module = torch::jit::load(path, torch::kCPU);
  } catch (const c10::Error& e) {
    throw InputError("cannot load TorchScript archive '" + path + "': " + e.what_without_backtrace());
  } catch (const std::exception& e) {  // the TorchScript parser's own errors (ErrorReport, ...)
    throw InputError("cannot load TorchScript archive '" + path + "': " + e.what());
  }
  NamedTensors tensors;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) tensors.emplace_back(p.name, p.value);
  for (const auto& b : module.named_buffers(/*recurse=*/true)) tensors.emplace_back(b.name, b.value);
  return tensors;
}

}  // namespace

Normalization named_normalization(const std::string& name) {
  if (name == "imagenet") return {{0.485, 0.456, 0.406}, {0.229, 0.224, 0.225}};
  if (name == "inception") return {{0.5, 0.5, 0.5}, {0.5, 0.5, 0.5}};
  throw InputError("unknown normalization '" + name + "'; known: imagenet, inception");
}

PyTorchFileKind detect_pytorch_file(const std::string& path) {
  require(std::filesystem::is_regular_file(path), "weights file '" + path + "' does not exist");
  char magic[4] = {};
  {
    std::ifstream in(path, std::ios::binary);
    require(static_cast<bool>(in), "cannot open '" + path + "'");
    in.read(magic, 4);
  }
  // Pickle protocol 2 opcode: torch.save's legacy (pre-1.6, or _use_new_zipfile_serialization=False) format.
  if (static_cast<unsigned char>(magic[0]) == 0x80)
    throw InputError("'" + path + "' is a legacy (non-zip) torch.save file; re-save it with PyTorch >= 1.6's "
                     "default torch.save");
  require(std::string(magic, 4) == std::string("PK\x03\x04", 4),
          "'" + path + "' is not a PyTorch file (expected a torch.save or TorchScript zip archive)");
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    // Both kinds hold data.pkl; only TorchScript archives carry code and constants.
    return reader.hasRecord("constants.pkl") ? PyTorchFileKind::kTorchScript : PyTorchFileKind::kStateDict;
  } catch (const c10::Error& e) {
    throw InputError("'" + path + "' is a zip archive but not a PyTorch file: " + e.what_without_backtrace());
  }
}

NamedTensors read_pytorch_weights(const std::string& path) {
  NamedTensors tensors = detect_pytorch_file(path) == PyTorchFileKind::kTorchScript ? read_torchscript(path)
                                                                                    : detail::read_torch_save(path);
  require(!tensors.empty(), "'" + path + "' holds no tensors");
  const bool data_parallel =
      std::all_of(tensors.begin(), tensors.end(), [](const auto& t) { return starts_with(t.first, "module."); });
  if (data_parallel)
    for (auto& t : tensors) t.first.erase(0, 7);
  return tensors;
}

ImportedModel import_pytorch_model(const ImportOptions& options) {
  require(!options.arch.empty(), "no architecture given");
  NamedTensors tensors = read_pytorch_weights(options.weights_path);
  std::vector<int64_t> input_shape;
  std::string family;
  for (const ZooEntry& entry : model_zoo()) {
    if (entry.name != options.arch) continue;
    input_shape = entry.default_input;
    family = entry.family;
  }
  // torchvision's segmentation weights carry an auxiliary head that only shaped training; the zoo's
  // FCN has none (its BN layers would be recalibrated on activations inference never computes).
  if (family == "segmentation") {
    tensors.erase(std::remove_if(tensors.begin(), tensors.end(),
                                 [](const auto& t) { return starts_with(t.first, "aux_classifier."); }),
                  tensors.end());
  }
  ModelOptions model_options;
  model_options.num_classes = options.num_classes;
  model_options.in_channels = input_shape.empty() ? 3 : input_shape.at(0);
  ImportedModel imported;
  imported.network = build_model(options.arch, model_options);  // InputError for unknown names
  load_state_dict(*imported.network, tensors, options.weights_path);
  imported.network->eval();

  const std::string normalization =
      !options.normalization.empty() ? options.normalization : options.arch == "googlenet" ? "inception" : "imagenet";
  imported.card.arch = options.arch;
  imported.card.num_classes = options.num_classes;
  imported.card.input_shape = input_shape;
  imported.card.normalization = named_normalization(normalization);
  imported.card.dataset = options.dataset;
  imported.card.source = std::filesystem::absolute(options.weights_path).string();
  return imported;
}

ModelCard import_to_checkpoint(const ImportOptions& options, const std::string& output_path) {
  ImportedModel imported = import_pytorch_model(options);
  save_checkpoint(output_path, *imported.network, imported.card);
  return imported.card;
}

}  // namespace bnrecal

#include "bnrecal/models/checkpoint.h"

#include <map>
#include <sstream>

#include "bnrecal/core/error.h"
#include "bnrecal/core/input_limits.h"
#include "bnrecal/models/onnx_model.h"
#include "bnrecal/models/zoo.h"

namespace bnrecal {

NamedTensors state_dict(torch::nn::Module& module) {
  NamedTensors tensors;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) tensors.emplace_back(p.key(), p.value());
  for (const auto& b : module.named_buffers(/*recurse=*/true)) tensors.emplace_back(b.key(), b.value());
  return tensors;
}

namespace {
std::string shape_string(const at::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}
}  // namespace

void load_state_dict(torch::nn::Module& module, const NamedTensors& tensors, const std::string& source) {
  std::map<std::string, at::Tensor> given(tensors.begin(), tensors.end());
  std::vector<std::string> missing, mismatched;
  std::vector<std::pair<at::Tensor, at::Tensor>> copies;  // (destination, source)
  for (const auto& [name, target] : state_dict(module)) {
    auto it = given.find(name);
    if (it == given.end()) {
      missing.push_back(name);
      continue;
    }
    const at::Tensor& value = it->second;
    if (value.sizes() != target.sizes())
      mismatched.push_back(name + " (expected " + shape_string(target) + ", found " + shape_string(value) + ")");
    else if (value.scalar_type() != target.scalar_type() && !(value.is_floating_point() && target.is_floating_point()))
      mismatched.push_back(name + " (expected dtype " + std::string(c10::toString(target.scalar_type())) +
                           ", found " + c10::toString(value.scalar_type()) + ")");
    else
      copies.emplace_back(target, value);
    given.erase(it);
  }
  if (!missing.empty() || !given.empty() || !mismatched.empty()) {
    std::string report = "'" + source + "' does not fit the model:";
    auto list = [&report](const char* what, const std::vector<std::string>& names) {
      if (names.empty()) return;
      report += std::string("\n  ") + what + " (" + std::to_string(names.size()) + "):";
      for (const auto& n : names) report += "\n    " + n;
    };
    std::vector<std::string> unexpected;
    for (const auto& item : given) unexpected.push_back(item.first);
    list("missing", missing);
    list("unexpected", unexpected);
    list("wrong shape or dtype", mismatched);
    throw InputError(report);
  }
  at::NoGradGuard no_grad;
  for (auto& [target, value] : copies) target.copy_(value);
}

void save_checkpoint(const std::string& path, torch::nn::Module& module, const ModelCard& card) {
  write_safetensors(path, state_dict(module), card.to_json());
}

LoadedModel load_model(const std::string& path) {
  if (is_onnx_path(path)) return import_onnx_model(path);
  Checkpoint checkpoint = read_safetensors(path);
  ModelCard card = with_input_errors<std::exception>("'" + path + "' bnrecal metadata: ",
                                                     [&] { return ModelCard::from_json(checkpoint.metadata); });
  if (card.arch.empty() || card.num_classes <= 0 || card.input_shape.size() != 3) {
    throw InputError("'" + path + "' has no architecture, class count or input shape in its bnrecal "
                     "metadata; import foreign weights with `bnrecal import` first");
  }
  // Checked before the model is built: a corrupt count would allocate it before the weights say no.
  check_input_limit("'" + path + "'", "num_classes", card.num_classes, "model_width");
  for (int64_t side : card.input_shape) {
    require(side > 0, "'" + path + "': input_shape has a dimension " + std::to_string(side));
    check_input_limit("'" + path + "'", "input_shape dimension", side, "model_width");
  }
  ModelOptions options;
  options.num_classes = card.num_classes;
  options.in_channels = card.input_shape.at(0);
  std::shared_ptr<Network> network =
      card.arch == kGraphArch ? build_graph_model(card) : build_model(card.arch, options);
  LoadedModel loaded{std::move(network), std::move(card)};
  load_state_dict(*loaded.network, checkpoint.tensors, path);
  loaded.network->eval();
  return loaded;
}

}  // namespace bnrecal

#include "bnrecal/models/onnx_model.h"

#include <algorithm>
#include <cctype>

#include "bnrecal/core/error.h"
#include "bnrecal/core/input_limits.h"
#include "bnrecal/onnx/graph_network.h"
#include "bnrecal/onnx/batch_norm_folding.h"
#include "bnrecal/onnx/network_trace.h"
#include "bnrecal/onnx/onnx_file.h"

namespace bnrecal {

bool is_onnx_path(const std::string& path) {
  const std::string suffix = ".onnx";
  if (path.size() <= suffix.size()) return false;
  std::string tail = path.substr(path.size() - suffix.size());
  std::transform(tail.begin(), tail.end(), tail.begin(), [](unsigned char c) { return std::tolower(c); });
  return tail == suffix;
}

LoadedModel import_onnx_model(const std::string& path) {
  OnnxModel file = read_onnx_model(path);
  const std::vector<int64_t>& shape = file.graph.input_shape;
  const bool image_input = shape.size() == 4 && shape[1] > 0 && shape[2] > 0 && shape[3] > 0;
  std::string declared;
  for (int64_t side : shape) declared += (declared.empty() ? "" : ", ") + (side < 0 ? "N" : std::to_string(side));
  require(image_input, "'" + path + "': bnrecal needs an image input [N, C, H, W] with fixed C, H and W; the model "
                           "declares [" + declared + "]");
  for (size_t d = 1; d < 4; ++d) check_input_limit("'" + path + "'", "input_shape dimension", shape[d], "model_width");

  auto network = std::make_shared<GraphNetwork>(file.graph, file.values);
  network->eval();
  ModelCard card;
  card.arch = kGraphArch;
  card.input_shape = {shape[1], shape[2], shape[3]};
  card.source = path;
  card.graph = network->graph().to_json();
  {
    torch::NoGradGuard no_grad;
    at::Tensor logits = network->forward(at::zeros({1, shape[1], shape[2], shape[3]}));
    require(logits.dim() == 2 && logits.size(0) == 1,
            "'" + path + "': the model's output has " + std::to_string(logits.dim()) +
                " dimensions; bnrecal evaluates classifiers, whose output is [N, classes] logits");
    card.num_classes = logits.size(1);
  }
  return {network, std::move(card)};
}

std::shared_ptr<Network> build_graph_model(const ModelCard& card) {
  require(card.graph.is_object(), "the model card of an imported graph model holds no graph");
  return std::make_shared<GraphNetwork>(Graph::from_json(card.graph));
}

OnnxModel onnx_graph_of(LoadedModel& model) {
  auto* graph_network = dynamic_cast<GraphNetwork*>(model.network.get());
  if (!graph_network) return trace_network(*model.network, model.card.input_shape);
  OnnxModel out{graph_network->graph(), {}, "bnrecal"};
  for (const auto& c : out.graph.constants) out.values.emplace(c.value, graph_network->constant_value(c.value));
  return out;
}

std::vector<std::string> add_renormalization_layers(LoadedModel& model) {
  OnnxModel graph = onnx_graph_of(model);
  std::vector<std::string> layers;
  for (const auto& l : add_renormalization(graph)) layers.push_back(l.name);
  auto network = std::make_shared<GraphNetwork>(graph.graph, graph.values);
  network->eval();
  model.network = network;
  model.card.arch = kGraphArch;
  model.card.graph = network->graph().to_json();
  return layers;
}

void export_onnx_model(const std::string& path, LoadedModel& model, bool fold_batch_norm) {
  OnnxModel graph = onnx_graph_of(model);
  if (fold_batch_norm) fold_batch_norms(graph);
  write_onnx_model(path, graph.graph, [&graph](const std::string& value) { return graph.values.at(value); });
}

}  // namespace bnrecal

#include "bnrecal/onnx/graph.h"

#include "bnrecal/core/error.h"

namespace bnrecal {

namespace {
const std::string kNoInput;

template <class T>
T typed_attribute(const GraphNode& node, const std::string& key, T fallback, bool (nlohmann::json::*is)() const,
                  const char* type) {
  auto it = node.attributes.find(key);
  if (it == node.attributes.end()) return fallback;
  require(((*it).*is)(), node.where() + ": attribute '" + key + "' must be " + type);
  return it->template get<T>();
}
}  // namespace

int64_t GraphNode::int_attribute(const std::string& key, int64_t fallback) const {
  return typed_attribute<int64_t>(*this, key, fallback, &nlohmann::json::is_number_integer, "an integer");
}

double GraphNode::float_attribute(const std::string& key, double fallback) const {
  return typed_attribute<double>(*this, key, fallback, &nlohmann::json::is_number, "a number");
}

std::string GraphNode::string_attribute(const std::string& key, const std::string& fallback) const {
  return typed_attribute<std::string>(*this, key, fallback, &nlohmann::json::is_string, "a string");
}

std::vector<int64_t> GraphNode::ints_attribute(const std::string& key, std::vector<int64_t> fallback) const {
  auto it = attributes.find(key);
  if (it == attributes.end()) return fallback;
  bool ok = it->is_array();
  for (const auto& v : *it) ok = ok && v.is_number_integer();
  require(ok, where() + ": attribute '" + key + "' must be a list of integers");
  return it->get<std::vector<int64_t>>();
}

const std::string& GraphNode::input(size_t i) const { return i < inputs.size() ? inputs[i] : kNoInput; }

std::string GraphNode::where() const { return "node '" + name + "' (" + op + ")"; }

std::string module_of_weight(const std::string& weight_name) {
  const std::string suffix = ".weight";
  if (weight_name.size() <= suffix.size() ||
      weight_name.compare(weight_name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return "";
  return weight_name.substr(0, weight_name.size() - suffix.size());
}

const GraphConstant* Graph::find_constant(const std::string& value) const {
  for (const auto& c : constants)
    if (c.value == value) return &c;
  return nullptr;
}

nlohmann::json Graph::to_json() const {
  nlohmann::json nodes_json = nlohmann::json::array();
  for (const auto& n : nodes) {
    nlohmann::json j = {{"op", n.op}, {"name", n.name}, {"inputs", n.inputs}, {"outputs", n.outputs},
                        {"attributes", n.attributes}};
    if (!n.module.empty()) j["module"] = n.module;
    nodes_json.push_back(std::move(j));
  }
  nlohmann::json constants_json = nlohmann::json::array();
  for (const auto& c : constants)
    constants_json.push_back({{"value", c.value}, {"key", c.key}, {"shape", c.shape}, {"dtype", c.dtype}});
  return {{"opset", opset}, {"input", input}, {"input_shape", input_shape}, {"outputs", outputs},
          {"output_shapes", output_shapes}, {"nodes", nodes_json}, {"constants", constants_json}};
}

Graph Graph::from_json(const nlohmann::json& j) {
  return with_input_errors<nlohmann::json::exception>("model graph: ", [&] {
    Graph g;
    g.opset = j.at("opset").get<int64_t>();
    g.input = j.at("input").get<std::string>();
    g.input_shape = j.at("input_shape").get<std::vector<int64_t>>();
    g.outputs = j.at("outputs").get<std::vector<std::string>>();
    g.output_shapes = j.value("output_shapes", std::vector<std::vector<int64_t>>{});
    for (const auto& n : j.at("nodes")) {
      GraphNode node;
      node.op = n.at("op").get<std::string>();
      node.name = n.at("name").get<std::string>();
      node.inputs = n.at("inputs").get<std::vector<std::string>>();
      node.outputs = n.at("outputs").get<std::vector<std::string>>();
      node.attributes = n.at("attributes");
      require(node.attributes.is_object(), "model graph: " + node.where() + " attributes are not an object");
      node.module = n.value("module", "");
      g.nodes.push_back(std::move(node));
    }
    for (const auto& c : j.at("constants")) {
      g.constants.push_back({c.at("value").get<std::string>(), c.at("key").get<std::string>(),
                             c.at("shape").get<std::vector<int64_t>>(), c.at("dtype").get<std::string>()});
    }
    return g;
  });
}

}  // namespace bnrecal

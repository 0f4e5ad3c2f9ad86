// A model as a graph of ONNX operators: the form in which bnrecal holds a model that is not a zoo
// architecture (an imported .onnx file), independent of the protobuf it came from. It is what a
// checkpoint stores, as JSON in the model card, next to the graph's tensors, so an imported model
// is saved, recalibrated and loaded again like any zoo model.
//
//   bnrecal::Graph g = bnrecal::Graph::from_json(card.graph);
//   for (const bnrecal::GraphNode& n : g.nodes) std::cout << n.op << " " << n.name << "\n";
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace bnrecal {

// One operator. Attributes hold what ONNX attributes hold except tensors (a Constant's value is
// an initializer): integers, floats, strings and lists of integers or floats.
struct GraphNode {
  std::string op;                     // ONNX op type, default domain: "Conv", "Relu", ...
  std::string name;                   // unique within the graph (generated when the file had none)
  std::vector<std::string> inputs;    // value names; "" for an omitted optional input
  std::vector<std::string> outputs;   // value names; "" for an output nobody asked for
  nlohmann::json attributes = nlohmann::json::object();
  // The module that holds this node's weights in the network ("layer1.0.conv1"): Conv,
  // BatchNormalization, and Gemm/MatMul with a constant weight. Empty for weightless nodes.
  std::string module;

  bool has_attribute(const std::string& key) const { return attributes.contains(key); }
  int64_t int_attribute(const std::string& key, int64_t fallback) const;
  double float_attribute(const std::string& key, double fallback) const;
  std::string string_attribute(const std::string& key, const std::string& fallback) const;
  std::vector<int64_t> ints_attribute(const std::string& key, std::vector<int64_t> fallback = {}) const;
  // The input at index i, "" when the node has fewer inputs (optional inputs left out).
  const std::string& input(size_t i) const;
  // "node 'conv1' (Conv)": the prefix of every message about this node.
  std::string where() const;
};

// A constant of the graph (an ONNX initializer or Constant), held by the network under `key`: the
// parameter of a module ("fc.weight") or a buffer of the network's "constants" module.
struct GraphConstant {
  std::string value;            // the value name nodes refer to
  std::string key;              // state-dict name in the network
  std::vector<int64_t> shape;
  std::string dtype;            // "float32" or "int64"
};

struct Graph {
  int64_t opset = 0;                      // of the default ONNX domain
  std::string input;                      // the one runtime input (the images)
  std::vector<int64_t> input_shape;       // as declared; -1 for a symbolic dimension (the batch)
  std::vector<std::string> outputs;       // outputs[0] is what forward returns (the logits)
  // Per output as declared, -1 for a symbolic dimension; empty when not declared.
  std::vector<std::vector<int64_t>> output_shapes;
  std::vector<GraphNode> nodes;           // topologically sorted
  std::vector<GraphConstant> constants;

  const GraphConstant* find_constant(const std::string& value) const;
  nlohmann::json to_json() const;
  // InputError naming the field for a malformed description; the checks that the graph can run
  // are the network's (GraphNetwork).
  static Graph from_json(const nlohmann::json& j);
};

// The module path a weight's name implies: "layer1.0.conv1.weight" -> "layer1.0.conv1"; "" when the
// name does not end in ".weight" (torch.onnx and bnrecal's export name weights this way).
std::string module_of_weight(const std::string& weight_name);

// The ONNX opsets bnrecal reads and writes (default domain).
constexpr int64_t kMinOnnxOpset = 9;
constexpr int64_t kMaxOnnxOpset = 17;

}  // namespace bnrecal

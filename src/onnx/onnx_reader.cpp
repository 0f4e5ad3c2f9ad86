// ModelProto -> Graph: attributes to JSON, initializers, Constant nodes and Identities of constants
// to constants, nodes put
// in topological order (ONNX requires it; a file that is merely out of order is accepted, a cycle
// is not), module paths assigned.
#include <deque>
#include <set>

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/core/input_limits.h"
#include "bnrecal/onnx/graph_network.h"
#include "bnrecal/onnx/onnx_file.h"
#include "tensor_proto.h"

namespace bnrecal {

namespace {

bool is_default_domain(const std::string& domain) { return domain.empty() || domain == "ai.onnx"; }

nlohmann::json attribute_json(const onnx::AttributeProto& a, const std::string& where) {
  switch (a.type()) {
    case onnx::AttributeProto::INT: return a.i();
    case onnx::AttributeProto::FLOAT: return static_cast<double>(a.f());
    case onnx::AttributeProto::STRING: return a.s();
    case onnx::AttributeProto::INTS: return std::vector<int64_t>(a.ints().begin(), a.ints().end());
    case onnx::AttributeProto::FLOATS: {
      nlohmann::json list = nlohmann::json::array();
      for (float f : a.floats()) list.push_back(static_cast<double>(f));
      return list;
    }
    default:
      throw InputError(where + ": attribute '" + a.name() + "' of type " +
                       onnx::AttributeProto::AttributeType_Name(a.type()) +
                       " is not supported (int, float, string and their lists are)");
  }
}

// A Constant node's value (opset 9: a tensor; opset 12: also value_float(s)/value_int(s)).
at::Tensor constant_node_value(const onnx::NodeProto& node, const std::string& where) {
  require(node.attribute_size() == 1, where + ": a Constant needs exactly one value attribute");
  const onnx::AttributeProto& a = node.attribute(0);
  if (a.name() == "value" && a.type() == onnx::AttributeProto::TENSOR) return onnx_tensors::from_proto(a.t(), where);
  if (a.name() == "value_float") return at::tensor(a.f());
  if (a.name() == "value_int") return at::tensor(a.i(), at::kLong);
  if (a.name() == "value_floats") return at::tensor(std::vector<float>(a.floats().begin(), a.floats().end()));
  if (a.name() == "value_ints") return at::tensor(std::vector<int64_t>(a.ints().begin(), a.ints().end()), at::kLong);
  throw InputError(where + ": Constant attribute '" + a.name() + "' is not supported (value, value_float(s), value_int(s) are)");
}

// Kahn's algorithm, keeping the file's order among nodes that are ready; InputError names the
// nodes left when the rest form a cycle.
std::vector<GraphNode> sorted_nodes(std::vector<GraphNode> nodes, const std::set<std::string>& available) {
  std::map<std::string, size_t> producer;
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const auto& out : nodes[i].outputs)
      if (!out.empty()) producer.emplace(out, i);
  std::vector<std::vector<size_t>> consumers(nodes.size());
  std::vector<size_t> waiting(nodes.size(), 0);
  for (size_t i = 0; i < nodes.size(); ++i) {
    std::set<size_t> from;
    for (const auto& in : nodes[i].inputs) {
      if (in.empty() || available.count(in)) continue;
      auto it = producer.find(in);
      require(it != producer.end(), nodes[i].where() + ": input '" + in +
                                        "' is not a graph input, an initializer or any node's output");
      from.insert(it->second);
    }
    for (size_t f : from) consumers[f].push_back(i);
    waiting[i] = from.size();
  }
  std::set<size_t> ready;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (waiting[i] == 0) ready.insert(i);
  std::vector<GraphNode> sorted;
  std::vector<bool> done(nodes.size(), false);
  while (!ready.empty()) {
    const size_t i = *ready.begin();
    ready.erase(ready.begin());
    done[i] = true;
    for (size_t c : consumers[i])
      if (--waiting[c] == 0) ready.insert(c);
    sorted.push_back(nodes[i]);
  }
  if (sorted.size() != nodes.size()) {
    std::string stuck;
    int listed = 0;
    for (size_t i = 0; i < nodes.size() && listed < 5; ++i)
      if (!done[i]) stuck += (listed++ ? ", " : "") + nodes[i].where();
    throw InputError("the graph has a cycle: " + std::to_string(nodes.size() - sorted.size()) +
                     " nodes wait on each other (" + stuck + (nodes.size() - sorted.size() > 5 ? ", ..." : "") + ")");
  }
  return sorted;
}

}  // namespace

OnnxModel parse_onnx_model(const std::string& bytes, const std::string& source, const OnnxReadOptions& options) {
  onnx::ModelProto model;
  require(model.ParseFromString(bytes), "'" + source + "' is not an ONNX model (it does not parse as a ModelProto)");
  require(model.has_graph(), "'" + source + "' has no graph");
  OnnxModel out;
  out.producer = model.producer_name() + (model.producer_version().empty() ? "" : " " + model.producer_version());
  for (const auto& opset : model.opset_import())
    if (is_default_domain(opset.domain())) out.graph.opset = opset.version();
  require(out.graph.opset != 0, "'" + source + "' imports no opset of the default ONNX domain");
  require(out.graph.opset >= kMinOnnxOpset && out.graph.opset <= kMaxOnnxOpset,
          "'" + source + "' uses opset " + std::to_string(out.graph.opset) + "; bnrecal reads opsets " +
              std::to_string(kMinOnnxOpset) + " to " + std::to_string(kMaxOnnxOpset) +
              " (convert it with onnx.version_converter)");
  const onnx::GraphProto& g = model.graph();
  Graph& graph = out.graph;

  std::set<std::string> available;  // values that exist before any node runs
  auto add_constant = [&](const std::string& name, at::Tensor value) {
    require(!name.empty(), "'" + source + "': a constant has no name");
    require(!out.values.count(name), "'" + source + "': constant '" + name + "' is defined twice");
    graph.constants.push_back({name, "", value.sizes().vec(), onnx_tensors::dtype_name(value)});
    out.values.emplace(name, std::move(value));
    available.insert(name);
  };
  for (const auto& init : g.initializer())
    add_constant(init.name(), onnx_tensors::from_proto(init, "'" + source + "' initializer '" + init.name() + "'"));
  for (const auto& [name, value] : options.constant_inputs) add_constant(name, value);

  std::vector<const onnx::ValueInfoProto*> runtime_inputs;
  for (const auto& input : g.input())
    if (!available.count(input.name())) runtime_inputs.push_back(&input);  // else an initializer listed as an input
  if (runtime_inputs.size() != 1) {
    std::string names;
    for (const auto* input : runtime_inputs) names += (names.empty() ? "" : ", ") + input->name();
    throw InputError("'" + source + "' has " + std::to_string(runtime_inputs.size()) + " runtime inputs" +
                     (names.empty() ? "" : " (" + names + ")") + "; a bnrecal model takes exactly one, the images");
  }
  const onnx::ValueInfoProto& input = *runtime_inputs.front();
  const std::string where = "'" + source + "' input '" + input.name() + "'";
  require(input.type().has_tensor_type(), where + ": is not a tensor");
  const auto& tensor_type = input.type().tensor_type();
  require(tensor_type.elem_type() == onnx::TensorProto::FLOAT, where + ": bnrecal models take float32 input");
  require(tensor_type.has_shape(), where + ": has no declared shape");
  graph.input = input.name();
  for (const auto& dim : tensor_type.shape().dim()) {
    const int64_t side = dim.has_dim_value() ? dim.dim_value() : -1;
    require(side != 0 && side >= -1, where + ": dimension " + std::to_string(side));
    graph.input_shape.push_back(side);
  }
  std::vector<int64_t> known;
  for (int64_t side : graph.input_shape) known.push_back(std::max<int64_t>(side, 1));
  declared_elements(known, where);
  available.insert(graph.input);
  for (const auto& output : g.output()) {
    graph.outputs.push_back(output.name());
    std::vector<int64_t> shape;
    if (output.type().has_tensor_type() && output.type().tensor_type().has_shape())
      for (const auto& dim : output.type().tensor_type().shape().dim()) shape.push_back(dim.has_dim_value() ? dim.dim_value() : -1);
    graph.output_shapes.push_back(shape);
  }

  std::vector<GraphNode> nodes;
  std::set<std::string> names;
  for (int i = 0; i < g.node_size(); ++i) {
    const onnx::NodeProto& n = g.node(i);
    GraphNode node;
    node.op = n.op_type();
    node.name = n.name().empty() ? n.op_type() + "_" + std::to_string(i) : n.name();
    for (int k = 2; !names.insert(node.name).second; ++k) node.name = n.name() + "_" + std::to_string(k);
    require(is_default_domain(n.domain()), node.where() + ": domain '" + n.domain() +
                                               "' is not supported (only the default ONNX domain is)");
    node.inputs.assign(n.input().begin(), n.input().end());
    node.outputs.assign(n.output().begin(), n.output().end());
    if (node.op == "Constant") {
      require(node.outputs.size() == 1, node.where() + ": a Constant has one output");
      add_constant(node.outputs[0], constant_node_value(n, node.where()));
      continue;
    }
    // torch.onnx names each weight copy by an Identity of a shared initializer: a constant of its own.
    if (node.op == "Identity" && node.inputs.size() == 1 && node.outputs.size() == 1 && out.values.count(node.inputs[0])) {
      add_constant(node.outputs[0], out.values.at(node.inputs[0]));
      continue;
    }
    for (const auto& a : n.attribute()) node.attributes[a.name()] = attribute_json(a, node.where());
    nodes.push_back(std::move(node));
  }
  graph.nodes = sorted_nodes(std::move(nodes), available);
  name_graph_modules(graph);
  return out;
}

OnnxModel read_onnx_model(const std::string& path, const OnnxReadOptions& options) {
  return parse_onnx_model(read_file(path), path, options);
}

at::Tensor read_onnx_tensor(const std::string& path) {
  onnx::TensorProto proto;
  require(proto.ParseFromString(read_file(path)), "'" + path + "' is not a serialized ONNX TensorProto");
  return onnx_tensors::from_proto(proto, "'" + path + "'");
}

}  // namespace bnrecal

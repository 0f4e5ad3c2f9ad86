#include "bnrecal/onnx/graph_network.h"

#include <cctype>
#include <set>
#include <sstream>

#include "bnrecal/core/error.h"
#include "bnrecal/nn/arith_layers.h"
#include "bnrecal/nn/batch_norm.h"
#include "graph_ops.h"

namespace bnrecal {

namespace {

struct BoundInput {
  size_t index;
  const char* param;  // the module's parameter or buffer name
};

bool is_linear_op(const std::string& op) { return op == "Gemm" || op == "MatMul"; }

// A linear module holds [out, in]; the graph's B is [in, out] unless Gemm says transB.
bool linear_weight_transposed(const GraphNode& node) {
  return node.op == "MatMul" || node.int_attribute("transB", 0) == 0;
}

// Gemm's C becomes the module's bias when it is the usual per-output vector and nothing scales it.
bool gemm_bias_in_module(const GraphNode& node, const Graph& graph) {
  const GraphConstant* b = graph.find_constant(node.input(1));
  const GraphConstant* c = graph.find_constant(node.input(2));
  if (!b || !c || c->shape.size() != 1 || b->shape.size() != 2) return false;
  const int64_t n = node.int_attribute("transB", 0) != 0 ? b->shape[0] : b->shape[1];
  return c->shape[0] == n && node.float_attribute("alpha", 1.0) == 1.0 && node.float_attribute("beta", 1.0) == 1.0;
}

// The inputs a node's module holds (none for a node without a module).
std::vector<BoundInput> bound_inputs(const GraphNode& node, const Graph& graph) {
  if (node.module.empty()) return {};
  if (node.op == "Conv") {
    std::vector<BoundInput> b{{1, "weight"}};
    if (!node.input(2).empty()) b.push_back({2, "bias"});
    return b;
  }
  if (node.op == "BatchNormalization") return {{1, "weight"}, {2, "bias"}, {3, "running_mean"}, {4, "running_var"}};
  if (node.op == "Gemm" && gemm_bias_in_module(node, graph)) return {{1, "weight"}, {2, "bias"}};
  return {{1, "weight"}};
}

bool is_identifier(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::stringstream in(path);
  for (std::string part; std::getline(in, part, '.');) parts.push_back(part);
  if (!path.empty() && path.back() == '.') parts.push_back("");
  return parts;
}

std::string identifier_from(const std::string& text, const std::string& fallback) {
  std::string s;
  for (char c : text) s += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  while (!s.empty() && s.front() == '_') s.erase(s.begin());
  while (!s.empty() && s.back() == '_') s.pop_back();
  if (s.empty()) s = fallback;
  if (std::isdigit(static_cast<unsigned char>(s.front()))) s = "n" + s;
  return s;
}

// Module paths in use: leaves hold weights, containers only hold children; neither may take the
// other's place, and "constants" is the network's own.
class PathBook {
 public:
  bool take(const std::string& path) {
    std::vector<std::string> parts = split_path(path);
    if (parts.empty() || parts[0] == "constants" || leaves_.count(path) || containers_.count(path)) return false;
    std::string prefix;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (!is_identifier(parts[i])) return false;
      if (i + 1 < parts.size()) {
        prefix += (i ? "." : "") + parts[i];
        if (leaves_.count(prefix)) return false;
      }
    }
    leaves_.insert(path);
    prefix.clear();
    for (size_t i = 0; i + 1 < parts.size(); ++i) containers_.insert(prefix += (i ? "." : "") + parts[i]);
    return true;
  }
  std::string take_unique(const std::string& base) {
    for (int k = 1;; ++k) {
      std::string candidate = k == 1 ? base : base + "_" + std::to_string(k);
      if (take(candidate)) return candidate;
    }
  }

 private:
  std::set<std::string> leaves_, containers_;
};

torch::nn::Module& container(torch::nn::Module& root, const std::vector<std::string>& parts) {
  torch::nn::Module* m = &root;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    auto children = m->named_children();
    if (auto* child = children.find(parts[i])) {
      m = child->get();
    } else {
      m = m->register_module(parts[i], std::make_shared<torch::nn::Module>()).get();
    }
  }
  return *m;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + (shape[i] < 0 ? std::string("N") : std::to_string(shape[i]));
  return s + "]";
}

}  // namespace

const std::vector<std::string>& supported_onnx_ops() { return onnx_ops::supported_ops(); }

void name_graph_modules(Graph& graph) {
  std::map<std::string, int> uses;
  for (const auto& node : graph.nodes)
    for (const auto& in : node.inputs)
      if (graph.find_constant(in)) ++uses[in];
  PathBook paths;
  std::map<std::string, std::string> keys;  // constant value -> state-dict key
  for (auto& node : graph.nodes) {
    node.module.clear();
    const bool weighted = node.op == "Conv" || node.op == "BatchNormalization";
    if (!weighted && !is_linear_op(node.op)) continue;
    const GraphConstant* weight = graph.find_constant(node.input(1));
    if (is_linear_op(node.op) && (!weight || weight->shape.size() != 2 || uses[weight->value] != 1)) continue;
    node.module = "?";  // bound_inputs needs to know the node has a module
    std::vector<BoundInput> bound = bound_inputs(node, graph);
    for (const auto& b : bound) {
      const GraphConstant* c = graph.find_constant(node.input(b.index));
      require(c != nullptr, node.where() + ": input " + std::to_string(b.index) + " ('" + node.input(b.index) +
                                "', the " + b.param + ") must be a constant (an initializer)");
      require(uses[c->value] == 1, node.where() + ": the constant '" + c->value +
                                       "' is shared with another node; each layer needs weights of its own");
    }
    std::string path = module_of_weight(node.input(1));
    if (path.empty() || !paths.take(path)) path = paths.take_unique(identifier_from(node.name, "layer"));
    node.module = path;
    for (const auto& b : bound) keys[node.input(b.index)] = path + "." + b.param;
  }
  std::set<std::string> buffer_names;
  for (auto& c : graph.constants) {
    auto it = keys.find(c.value);
    if (it != keys.end()) {
      c.key = it->second;
      continue;
    }
    std::string base = identifier_from(c.value, "constant"), name = base;
    for (int k = 2; !buffer_names.insert(name).second; ++k) name = base + "_" + std::to_string(k);
    c.key = "constants." + name;
  }
}

struct GraphNetwork::Step {
  const GraphNode* node = nullptr;
  std::vector<long> inputs;   // slot per input; -1: omitted, or held by the node's module
  std::vector<long> outputs;  // slot per output; -1: unnamed
  std::vector<size_t> release;  // slots read for the last time here
  onnx_ops::Kernel kernel;
};

GraphNetwork::~GraphNetwork() = default;

GraphNetwork::GraphNetwork(Graph graph, const std::map<std::string, at::Tensor>& values) : graph_(std::move(graph)) {
  require(graph_.opset >= kMinOnnxOpset && graph_.opset <= kMaxOnnxOpset,
          "the model's opset " + std::to_string(graph_.opset) + " is not supported (opsets " +
              std::to_string(kMinOnnxOpset) + " to " + std::to_string(kMaxOnnxOpset) + ")");
  require(!graph_.input.empty(), "the model has no input");
  require(!graph_.outputs.empty(), "the model has no output");

  std::map<std::string, size_t> slot_of;
  slot_of[graph_.input] = input_slot_ = slot_count_++;
  auto value_or_zeros = [&values](const GraphConstant& c) {
    auto it = values.find(c.value);
    if (it != values.end()) return it->second;
    return at::zeros(c.shape, c.dtype == "int64" ? at::kLong : at::kFloat);
  };

  // Modules for the weight-holding nodes, in node order (= forward order: arith_layers' order).
  std::map<std::string, onnx_ops::NodeModules> modules;
  std::set<std::string> bound_values;
  for (const auto& node : graph_.nodes) {
    if (node.module.empty()) continue;
    std::vector<BoundInput> bound = bound_inputs(node, graph_);
    std::vector<const GraphConstant*> c;
    for (const auto& b : bound) {
      const GraphConstant* k = graph_.find_constant(node.input(b.index));
      require(k && k->dtype == "float32", node.where() + ": the " + b.param + " must be a float32 constant");
      c.push_back(k);
      bound_values.insert(k->value);
    }
    const std::vector<std::string> parts = split_path(node.module);
    torch::nn::Module& parent = container(*this, parts);
    onnx_ops::NodeModules& m = modules[node.name];
    torch::NoGradGuard no_grad;
    if (node.op == "Conv") {
      const auto& w = c[0]->shape;
      onnx_ops::ConvAttributes a = onnx_ops::conv_attributes(node, w);
      require(w[0] % a.groups == 0, node.where() + ": " + std::to_string(w[0]) + " output channels in " +
                                        std::to_string(a.groups) + " groups");
      ArithConv2dOptions o(w[1] * a.groups, w[0], w[2]);
      o.kernel(w[2], w[3]).bias(c.size() > 1);
      o.geometry_.stride = a.stride;
      o.geometry_.dilation = a.dilation;
      o.geometry_.groups = a.groups;
      if (a.auto_pad == "NOTSET" && a.symmetric()) o.geometry_.padding = {a.pads[0], a.pads[1]};
      if (c.size() > 1) require(c[1]->shape == std::vector<int64_t>{w[0]}, node.where() + ": the bias must have shape [" + std::to_string(w[0]) + "]");
      m.conv = parent.register_module(parts.back(), ArithConv2d(o));
      m.conv->weight.copy_(value_or_zeros(*c[0]));
      if (c.size() > 1) m.conv->bias.copy_(value_or_zeros(*c[1]));
    } else if (node.op == "BatchNormalization") {
      const int64_t channels = c[0]->shape.empty() ? 0 : c[0]->shape[0];
      for (const auto* k : c)
        require(k->shape == std::vector<int64_t>{channels}, node.where() + ": scale, bias, mean and variance must be [C] vectors");
      BatchNorm2dOptions o(channels);
      o.eps(node.float_attribute("epsilon", 1e-5)).momentum(1.0 - node.float_attribute("momentum", 0.9));
      m.batch_norm = parent.register_module(parts.back(), BatchNorm2d(o));
      m.batch_norm->weight.copy_(value_or_zeros(*c[0]));
      m.batch_norm->bias.copy_(value_or_zeros(*c[1]));
      m.batch_norm->running_mean.copy_(value_or_zeros(*c[2]));
      m.batch_norm->running_var.copy_(value_or_zeros(*c[3]));
    } else {
      const bool transposed = linear_weight_transposed(node);
      const auto& b = c[0]->shape;
      const int64_t in = transposed ? b[0] : b[1], out = transposed ? b[1] : b[0];
      m.linear = parent.register_module(parts.back(), ArithLinear(in, out, c.size() > 1));
      at::Tensor w = value_or_zeros(*c[0]);
      m.linear->weight.copy_(transposed ? w.t() : w);
      if (c.size() > 1) m.linear->bias.copy_(value_or_zeros(*c[1]));
    }
  }

  // The other constants: buffers, each in a slot of its own.
  std::shared_ptr<torch::nn::Module> constants;
  for (const auto& c : graph_.constants) {
    if (bound_values.count(c.value)) continue;
    require(c.dtype == "float32" || c.dtype == "int64" || c.dtype == "bool",
            "constant '" + c.value + "': dtype " + c.dtype + " is not supported");
    require(c.key.rfind("constants.", 0) == 0, "constant '" + c.value + "' has no key in the network");
    if (!constants) constants = register_module("constants", std::make_shared<torch::nn::Module>());
    at::Tensor value = value_or_zeros(c);
    if (c.dtype == "bool") value = value.to(at::kBool);
    at::Tensor buffer = constants->register_buffer(c.key.substr(std::string("constants.").size()), value.clone());
    require(!slot_of.count(c.value), "value '" + c.value + "' is both an input and a constant");
    slot_of[c.value] = slot_count_;
    constant_slots_.emplace_back(slot_count_++, buffer);
    constant_readers_[c.value] = [buffer] { return buffer; };
  }
  for (const auto& node : graph_.nodes) {
    for (const auto& b : bound_inputs(node, graph_)) {
      const std::string& value = node.input(b.index);
      const onnx_ops::NodeModules& m = modules[node.name];
      torch::nn::Module& module = m.conv ? static_cast<torch::nn::Module&>(*m.conv.ptr())
                                  : m.batch_norm ? static_cast<torch::nn::Module&>(*m.batch_norm.ptr())
                                                 : static_cast<torch::nn::Module&>(*m.linear.ptr());
      at::Tensor t = module.named_parameters(false).contains(b.param) ? module.named_parameters(false)[b.param]
                                                                      : module.named_buffers(false)[b.param];
      const bool transpose = m.linear && std::string(b.param) == "weight" && linear_weight_transposed(node);
      constant_readers_[value] = [t, transpose] { return transpose ? t.t() : t; };
    }
  }

  // The steps, with their slots; every input must be defined by an earlier step.
  auto constant_at = [this](const GraphNode& node, size_t index) -> at::Tensor {
    const std::string& name = node.input(index);
    if (name.empty()) return {};
    auto it = constant_readers_.find(name);
    require(it != constant_readers_.end(), node.where() + ": input '" + name + "' must be a constant");
    return it->second();
  };
  std::map<size_t, size_t> last_use;
  for (const auto& node : graph_.nodes) {
    Step step;
    step.node = &node;
    std::set<size_t> held;
    for (const auto& b : bound_inputs(node, graph_)) held.insert(b.index);
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const std::string& name = node.inputs[i];
      if (name.empty() || held.count(i)) {
        step.inputs.push_back(-1);
        continue;
      }
      auto it = slot_of.find(name);
      require(it != slot_of.end(), node.where() + ": input '" + name +
                                       "' is not defined before it is used (not an input, a constant or an earlier "
                                       "node's output)");
      step.inputs.push_back(static_cast<long>(it->second));
      last_use[it->second] = steps_.size();
    }
    for (const auto& name : node.outputs) {
      if (name.empty()) {
        step.outputs.push_back(-1);
        continue;
      }
      require(!slot_of.count(name), node.where() + ": value '" + name + "' is defined twice");
      slot_of[name] = slot_count_;
      step.outputs.push_back(static_cast<long>(slot_count_++));
    }
    step.kernel = onnx_ops::make_kernel(node, graph_.opset, modules[node.name], constant_at);
    steps_.push_back(std::move(step));
  }
  for (const auto& name : graph_.outputs) {
    auto it = slot_of.find(name);
    require(it != slot_of.end(), "the model's output '" + name + "' is not computed by any node");
    output_slots_.push_back(it->second);
  }
  const std::set<size_t> kept(output_slots_.begin(), output_slots_.end());
  for (const auto& [slot, step] : last_use)
    if (!kept.count(slot)) steps_[step].release.push_back(slot);
}

std::vector<at::Tensor> GraphNetwork::forward_all(const at::Tensor& input) {
  const auto& expected = graph_.input_shape;
  bool fits = input.dim() == static_cast<int64_t>(expected.size()) && input.scalar_type() == at::kFloat;
  for (size_t d = 0; fits && d < expected.size(); ++d) fits = expected[d] < 0 || expected[d] == input.size(d);
  if (!fits) {
    throw InputError("the model expects a float32 input of shape " + shape_text(expected) + ", got " +
                     std::string(c10::toString(input.scalar_type())) + " " + shape_text(input.sizes().vec()));
  }
  std::vector<at::Tensor> slots(slot_count_);
  slots[input_slot_] = input;
  for (const auto& [slot, buffer] : constant_slots_) slots[slot] = buffer;
  std::vector<at::Tensor> args;
  for (const Step& step : steps_) {
    args.clear();
    for (long s : step.inputs) args.push_back(s < 0 ? at::Tensor() : slots[s]);
    std::vector<at::Tensor> results;
    try {
      results = step.kernel(args);
    } catch (const c10::Error& e) {
      throw InputError(step.node->where() + ": " + e.what_without_backtrace());
    }
    for (size_t i = 0; i < step.outputs.size(); ++i) {
      if (step.outputs[i] < 0) continue;
      require(i < results.size(), step.node->where() + ": output " + std::to_string(i) + " is not produced");
      slots[step.outputs[i]] = std::move(results[i]);
    }
    for (size_t s : step.release) slots[s].reset();
  }
  std::vector<at::Tensor> outputs;
  for (size_t s : output_slots_) outputs.push_back(slots[s]);
  return outputs;
}

at::Tensor GraphNetwork::forward(at::Tensor input) { return forward_all(input).front(); }

at::Tensor GraphNetwork::constant_value(const std::string& value) const {
  auto it = constant_readers_.find(value);
  TORCH_CHECK(it != constant_readers_.end(), "no constant '", value, "' in the graph");
  return it->second();
}

}  // namespace bnrecal

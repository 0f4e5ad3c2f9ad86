#include "bnrecal/onnx/network_trace.h"

#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/ir/ir.h>

#include <map>

#include "bnrecal/core/error.h"
#include "bnrecal/onnx/graph_network.h"

namespace bnrecal {

namespace {

namespace jit = torch::jit;

// Traced with two images, so a reshape's traced batch size (2) can be told from a feature size.
constexpr int64_t kTracedBatch = 2;
constexpr int64_t kOpset = 13;

class TraceConverter {
 public:
  TraceConverter(Network& network, const std::vector<int64_t>& input_shape) {
    for (const auto& p : network.named_parameters()) names_[p.value().unsafeGetTensorImpl()] = p.key();
    for (const auto& b : network.named_buffers()) names_[b.value().unsafeGetTensorImpl()] = b.key();
    model_.graph.opset = kOpset;
    model_.graph.input = "images";
    model_.graph.input_shape = {-1, input_shape.at(0), input_shape.at(1), input_shape.at(2)};
  }

  OnnxModel convert(const jit::Graph& graph, const std::vector<at::Tensor>& outputs) {
    value_names_[graph.inputs().at(0)] = model_.graph.input;
    for (const jit::Node* node : graph.nodes()) convert_node(*node);
    for (const jit::Value* output : graph.outputs()) {
      if (output->node()->kind() == c10::prim::TupleConstruct) {
        for (const jit::Value* v : output->node()->inputs()) model_.graph.outputs.push_back(name(v));
      } else {
        model_.graph.outputs.push_back(name(output));
      }
    }
    for (const at::Tensor& t : outputs) {  // the traced batch becomes symbolic
      std::vector<int64_t> shape = t.sizes().vec();
      if (!shape.empty() && shape[0] == kTracedBatch) shape[0] = -1;
      model_.graph.output_shapes.push_back(shape);
    }
    name_graph_modules(model_.graph);
    return std::move(model_);
  }

 private:
  // The name a value has in the ONNX graph; constant tensors become constants on first use.
  std::string name(const jit::Value* v) {
    if (auto it = value_names_.find(v); it != value_names_.end()) return it->second;
    c10::optional<c10::IValue> constant = jit::toIValue(v);
    if (constant && constant->isTensor()) {
      at::Tensor t = constant->toTensor();
      auto named = names_.find(t.unsafeGetTensorImpl());
      std::string n = named != names_.end() ? named->second : "constant_" + std::to_string(model_.values.size());
      return value_names_[v] = add_constant(n, t);
    }
    TORCH_CHECK(!constant, "a non-tensor constant used as a tensor");
    return value_names_[v] = "v" + std::to_string(v->unique());
  }

  std::string add_constant(const std::string& n, const at::Tensor& t) {
    if (!model_.values.count(n)) {
      at::Tensor value = t.detach().clone();
      if (value.scalar_type() == at::kDouble) value = value.to(at::kFloat);
      if (value.scalar_type() == at::kInt) value = value.to(at::kLong);
      model_.graph.constants.push_back({n, "", value.sizes().vec(), value.scalar_type() == at::kLong ? "int64" : "float32"});
      model_.values.emplace(n, value);
    }
    return n;
  }

  std::string scalar_constant(double value) {
    return add_constant("scalar_" + std::to_string(model_.values.size()), at::tensor(static_cast<float>(value)));
  }

  static c10::IValue constant(const jit::Value* v, const std::string& op) {
    if (v->node()->kind() == c10::prim::ListConstruct) {  // the tracer lists constant ints this way
      std::vector<int64_t> list;
      for (const jit::Value* item : v->node()->inputs()) list.push_back(constant(item, op).toInt());
      return list;
    }
    c10::optional<c10::IValue> c = jit::toIValue(v);
    require(c.has_value(), "cannot export: an argument of " + op + " is computed at run time");
    return *c;
  }
  static std::vector<int64_t> ints(const jit::Value* v, const std::string& op) { return constant(v, op).toIntVector(); }
  static int64_t integer(const jit::Value* v, const std::string& op) { return constant(v, op).toInt(); }
  static double number(const jit::Value* v, const std::string& op) { return constant(v, op).toScalar().toDouble(); }
  static bool is_none(const jit::Value* v) { return v->type()->kind() == c10::TypeKind::NoneType; }

  void emit(const std::string& op, std::vector<std::string> inputs, const jit::Value* output,
            nlohmann::json attributes = nlohmann::json::object()) {
    GraphNode node;
    node.op = op;
    node.name = op + "_" + std::to_string(model_.graph.nodes.size());
    node.inputs = std::move(inputs);
    node.outputs = {name(output)};
    node.attributes = std::move(attributes);
    model_.graph.nodes.push_back(std::move(node));
  }

  static std::vector<int64_t> both_sides(const std::vector<int64_t>& p) { return {p[0], p[1], p[0], p[1]}; }

  void convert_node(const jit::Node& n) {
    const std::string kind = n.kind().toQualString();
    const auto in = n.inputs();
    const jit::Value* out = n.outputs().empty() ? nullptr : n.outputs()[0];
    if (kind == "prim::Constant" || kind == "prim::ListConstruct" || kind == "prim::TupleConstruct") return;
    if (kind == "aten::_convolution" || kind == "aten::conv2d") {
      const bool full = kind == "aten::_convolution";
      require(!full || !constant(in[6], kind).toBool(), "cannot export: transposed convolutions are not supported");
      std::vector<std::string> inputs{name(in[0]), name(in[1])};
      if (!is_none(in[2])) inputs.push_back(name(in[2]));
      const auto w = model_.values.at(inputs[1]).sizes();
      emit("Conv", inputs, out,
           {{"strides", ints(in[3], kind)}, {"pads", both_sides(ints(in[4], kind))}, {"dilations", ints(in[5], kind)},
            {"group", integer(in[full ? 8 : 6], kind)}, {"kernel_shape", std::vector<int64_t>{w[2], w[3]}}});
    } else if (kind == "aten::batch_norm") {
      require(!constant(in[5], kind).toBool(), "cannot export: a BatchNorm in training mode");
      emit("BatchNormalization", {name(in[0]), name(in[1]), name(in[2]), name(in[3]), name(in[4])}, out,
           {{"epsilon", number(in[7], kind)}, {"momentum", 1.0 - number(in[6], kind)}});
    } else if (kind == "aten::relu" || kind == "aten::relu_") {
      emit("Relu", {name(in[0])}, out);
    } else if (kind == "aten::sigmoid" || kind == "aten::sigmoid_") {
      emit("Sigmoid", {name(in[0])}, out);
    } else if (kind == "aten::relu6" || kind == "aten::relu6_") {
      emit("Clip", {name(in[0]), scalar_constant(0.0), scalar_constant(6.0)}, out);
    } else if (kind == "aten::hardtanh" || kind == "aten::hardtanh_" || kind == "aten::clamp" || kind == "aten::clamp_") {
      emit("Clip", {name(in[0]), is_none(in[1]) ? "" : scalar_constant(number(in[1], kind)),
                    is_none(in[2]) ? "" : scalar_constant(number(in[2], kind))}, out);
    } else if (kind == "aten::add" || kind == "aten::add_" || kind == "aten::mul" || kind == "aten::mul_") {
      const bool add = kind.rfind("aten::add", 0) == 0;
      if (add) require(number(in[2], kind) == 1.0, "cannot export: aten::add with alpha != 1");
      const bool scalar = in[1]->type()->kind() != c10::TypeKind::TensorType;
      emit(add ? "Add" : "Mul", {name(in[0]), scalar ? scalar_constant(number(in[1], kind)) : name(in[1])}, out);
    } else if (kind == "aten::max_pool2d") {
      std::vector<int64_t> kernel = ints(in[1], kind), stride = ints(in[2], kind);
      emit("MaxPool", {name(in[0])}, out,
           {{"kernel_shape", kernel}, {"strides", stride.empty() ? kernel : stride},
            {"pads", both_sides(ints(in[3], kind))}, {"dilations", ints(in[4], kind)},
            {"ceil_mode", constant(in[5], kind).toBool() ? 1 : 0}});
    } else if (kind == "aten::avg_pool2d") {
      require(is_none(in[6]), "cannot export: avg_pool2d with a divisor_override");
      std::vector<int64_t> kernel = ints(in[1], kind), stride = ints(in[2], kind);
      emit("AveragePool", {name(in[0])}, out,
           {{"kernel_shape", kernel}, {"strides", stride.empty() ? kernel : stride},
            {"pads", both_sides(ints(in[3], kind))}, {"ceil_mode", constant(in[4], kind).toBool() ? 1 : 0},
            {"count_include_pad", constant(in[5], kind).toBool() ? 1 : 0}});
    } else if (kind == "aten::adaptive_avg_pool2d") {
      require(ints(in[1], kind) == std::vector<int64_t>{1, 1}, "cannot export: adaptive_avg_pool2d to other than 1x1");
      emit("GlobalAveragePool", {name(in[0])}, out);
    } else if (kind == "aten::mean") {
      std::vector<int64_t> dims = ints(in[1], kind);
      std::sort(dims.begin(), dims.end());
      require(dims == std::vector<int64_t>{2, 3} || dims == std::vector<int64_t>{-2, -1},
              "cannot export: a mean over other than the spatial dimensions");
      if (constant(in[2], kind).toBool()) {
        emit("GlobalAveragePool", {name(in[0])}, out);
      } else {  // [N, C, 1, 1] then [N, C]
        const std::string pooled = "pooled_" + std::to_string(model_.graph.nodes.size());
        GraphNode pool{"GlobalAveragePool", pooled, {name(in[0])}, {pooled}};
        model_.graph.nodes.push_back(pool);
        emit("Flatten", {pooled}, out, {{"axis", 1}});
      }
    } else if (kind == "aten::flatten") {
      require(integer(in[2], kind) == -1, "cannot export: a flatten that keeps trailing dimensions");
      emit("Flatten", {name(in[0])}, out, {{"axis", integer(in[1], kind)}});
    } else if (kind == "aten::view" || kind == "aten::reshape") {
      std::vector<int64_t> shape = ints(in[1], kind);
      if (!shape.empty() && shape[0] == kTracedBatch) shape[0] = 0;  // the batch: copied from the input
      emit("Reshape", {name(in[0]), add_constant("shape_" + std::to_string(model_.values.size()), at::tensor(shape))}, out);
    } else if (kind == "aten::linear") {
      std::vector<std::string> inputs{name(in[0]), name(in[1])};
      if (!is_none(in[2])) inputs.push_back(name(in[2]));
      emit("Gemm", inputs, out, {{"transB", 1}});
    } else if (kind == "aten::cat") {
      const jit::Node* list = in[0]->node();
      require(list->kind() == c10::prim::ListConstruct, "cannot export: aten::cat of a computed list");
      std::vector<std::string> inputs;
      for (const jit::Value* v : list->inputs()) inputs.push_back(name(v));
      emit("Concat", inputs, out, {{"axis", integer(in[1], kind)}});
    } else if (kind == "aten::constant_pad_nd") {
      std::vector<int64_t> p = ints(in[1], kind);  // (begin, end) pairs from the last dimension
      const int64_t rank = 4;
      std::vector<int64_t> pads(2 * rank, 0);
      for (size_t i = 0; 2 * i + 1 < p.size(); ++i) {
        pads[rank - 1 - i] = p[2 * i];
        pads[2 * rank - 1 - i] = p[2 * i + 1];
      }
      emit("Pad", {name(in[0]), add_constant("pads_" + std::to_string(model_.values.size()), at::tensor(pads)),
                   scalar_constant(number(in[2], kind))}, out, {{"mode", "constant"}});
    } else if (kind == "aten::softmax") {
      emit("Softmax", {name(in[0])}, out, {{"axis", integer(in[1], kind)}});
    } else if (kind == "aten::dropout" || kind == "aten::feature_dropout" || kind == "aten::contiguous" ||
               kind == "aten::detach" || kind == "aten::clone") {
      value_names_[out] = name(in[0]);
    } else {
      throw InputError("cannot export: the forward pass uses " + kind + ", which bnrecal does not map to ONNX");
    }
  }

  std::map<const c10::TensorImpl*, std::string> names_;  // the network's parameters and buffers
  std::map<const jit::Value*, std::string> value_names_;
  OnnxModel model_;
};

}  // namespace

OnnxModel trace_network(Network& network, const std::vector<int64_t>& input_shape) {
  require(input_shape.size() == 3, "trace_network needs the input shape {C, H, W}");
  const bool was_training = network.is_training();
  network.eval();
  at::NoGradGuard no_grad;
  // The tracer bakes tensors it did not see created into the graph as constants, which it refuses
  // for tensors that require grad: the parameters, for the time of the trace.
  std::vector<at::Tensor> trainable;
  for (auto& p : network.parameters())
    if (p.requires_grad()) trainable.push_back(p);
  for (auto& p : trainable) p.requires_grad_(false);
  struct Restore {
    std::vector<at::Tensor>& params;
    ~Restore() {
      for (auto& p : params) p.requires_grad_(true);
    }
  } restore{trainable};
  auto traced = jit::tracer::trace(
      {at::zeros({kTracedBatch, input_shape[0], input_shape[1], input_shape[2]})},
      [&network](jit::Stack inputs) { return jit::Stack{network.forward(inputs.at(0).toTensor())}; },
      [](const at::Tensor&) { return std::string(); }, /*strict=*/false);
  network.train(was_training);
  std::vector<at::Tensor> outputs;
  for (const c10::IValue& v : traced.second) {
    if (v.isTensor()) outputs.push_back(v.toTensor());
    else for (const c10::IValue& item : v.toTupleRef().elements()) outputs.push_back(item.toTensor());
  }
  return TraceConverter(network, input_shape).convert(*traced.first->graph, outputs);
}

}  // namespace bnrecal

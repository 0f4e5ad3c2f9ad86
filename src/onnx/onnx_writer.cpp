// Graph -> ModelProto, the inverse of onnx_reader.cpp: constants become initializers, attributes
// typed back from their JSON form.
#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/onnx/onnx_file.h"
#include "tensor_proto.h"

namespace bnrecal {

namespace {

void set_attribute(const std::string& name, const nlohmann::json& value, onnx::AttributeProto& a) {
  a.set_name(name);
  if (value.is_number_integer()) {
    a.set_type(onnx::AttributeProto::INT);
    a.set_i(value.get<int64_t>());
  } else if (value.is_number()) {
    a.set_type(onnx::AttributeProto::FLOAT);
    a.set_f(value.get<float>());
  } else if (value.is_string()) {
    a.set_type(onnx::AttributeProto::STRING);
    a.set_s(value.get<std::string>());
  } else {
    TORCH_CHECK(value.is_array(), "attribute '", name, "' is not a number, string or list");
    bool floats = false;
    for (const auto& v : value) floats = floats || v.is_number_float();
    a.set_type(floats ? onnx::AttributeProto::FLOATS : onnx::AttributeProto::INTS);
    for (const auto& v : value) {
      if (floats) a.add_floats(v.get<float>());
      else a.add_ints(v.get<int64_t>());
    }
  }
}

}  // namespace

void write_onnx_model(const std::string& path, const Graph& graph,
                      const std::function<at::Tensor(const std::string& value)>& value_of) {
  onnx::ModelProto model;
  model.set_ir_version(8);  // the IR of ONNX 1.12, which defines opsets up to 17
  model.set_producer_name("bnrecal");
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(graph.opset);
  onnx::GraphProto& g = *model.mutable_graph();
  g.set_name("bnrecal");

  auto* input = g.add_input();
  input->set_name(graph.input);
  auto* input_type = input->mutable_type()->mutable_tensor_type();
  input_type->set_elem_type(onnx::TensorProto::FLOAT);
  for (int64_t side : graph.input_shape) {
    auto* dim = input_type->mutable_shape()->add_dim();
    if (side < 0) dim->set_dim_param("N");
    else dim->set_dim_value(side);
  }
  for (size_t i = 0; i < graph.outputs.size(); ++i) {
    auto* output = g.add_output();
    output->set_name(graph.outputs[i]);
    auto* type = output->mutable_type()->mutable_tensor_type();
    type->set_elem_type(onnx::TensorProto::FLOAT);
    if (i >= graph.output_shapes.size() || graph.output_shapes[i].empty()) continue;
    for (int64_t side : graph.output_shapes[i]) {
      auto* dim = type->mutable_shape()->add_dim();
      if (side < 0) dim->set_dim_param("N");
      else dim->set_dim_value(side);
    }
  }
  for (const auto& c : graph.constants) onnx_tensors::to_proto(value_of(c.value), c.value, *g.add_initializer());
  for (const auto& n : graph.nodes) {
    auto* node = g.add_node();
    node->set_op_type(n.op);
    node->set_name(n.name);
    for (const auto& in : n.inputs) node->add_input(in);
    for (const auto& out : n.outputs) node->add_output(out);
    for (const auto& [key, value] : n.attributes.items()) set_attribute(key, value, *node->add_attribute());
  }
  std::string bytes;
  TORCH_CHECK(model.SerializeToString(&bytes), "the ONNX model does not serialize (over 2 GiB?)");
  write_file_atomic(path, bytes);
}

}  // namespace bnrecal

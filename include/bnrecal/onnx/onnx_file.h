// ONNX files in and out (ModelProto through Debian's libonnx protobuf classes), opsets 9 to 17,
// float32 models with one image input.
//
//   bnrecal::OnnxModel m = bnrecal::read_onnx_model("net.onnx");
//   auto net = std::make_shared<bnrecal::GraphNetwork>(m.graph, m.values);
//   bnrecal::write_onnx_model("copy.onnx", net->graph(), [&](auto& v) { return net->constant_value(v); });
#pragma once
#include <ATen/ATen.h>

#include <functional>
#include <map>
#include <string>

#include "bnrecal/onnx/graph.h"

namespace bnrecal {

struct OnnxModel {
  Graph graph;                               // topologically sorted, modules named (name_graph_modules)
  std::map<std::string, at::Tensor> values;  // every constant, by value name
  std::string producer;                      // "pytorch 1.13.1", "bnrecal 0.1", ... ("" when unnamed)
};

struct OnnxReadOptions {
  // Runtime inputs to turn into constants with these values: a model has one runtime input, the
  // images, but ONNX's operator tests feed weights as inputs too.
  std::map<std::string, at::Tensor> constant_inputs;
};

// InputError naming what is wrong: not an ONNX model, an opset outside 9..17, an op of another
// domain, an attribute, dtype or tensor layout bnrecal does not read (tensor attributes except
// Constant's value, external data, float64/int8 tensors), more than one runtime input, a cycle.
// Operators are checked when the graph is built (GraphNetwork).
OnnxModel read_onnx_model(const std::string& path, const OnnxReadOptions& options = {});
OnnxModel parse_onnx_model(const std::string& bytes, const std::string& source_name,
                           const OnnxReadOptions& options = {});

// A serialized TensorProto (the test data of ONNX's operator tests).
at::Tensor read_onnx_tensor(const std::string& path);

// Writes graph with each constant's value from value_of(value name), atomically. The file names
// its producer bnrecal and declares the batch dimension symbolic.
void write_onnx_model(const std::string& path, const Graph& graph,
                      const std::function<at::Tensor(const std::string& value)>& value_of);

}  // namespace bnrecal

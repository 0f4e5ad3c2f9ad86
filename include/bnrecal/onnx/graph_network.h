// A Network that runs a Graph: ArithConv2d for every Conv, BatchNorm2d for every
// BatchNormalization and ArithLinear for every Gemm/MatMul with a constant weight, registered under
// the graph's module paths, so perturbation policies, calibration, recalibration and every study
// work on an imported model as on a zoo model. The other constants are buffers of the child module
// "constants"; the weightless operators run as ATen calls (src/onnx/graph_ops.cpp).
//
//   bnrecal::OnnxModel m = bnrecal::read_onnx_model("net.onnx");      // onnx_file.h
//   auto net = std::make_shared<bnrecal::GraphNetwork>(m.graph, m.values);
//   at::Tensor logits = net->forward(images);
#pragma once
#include <ATen/ATen.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "bnrecal/nn/network.h"
#include "bnrecal/onnx/graph.h"

namespace bnrecal {

class GraphNetwork : public Network {
 public:
  // values: the constants by value name (an ONNX file's initializers). Constants it lacks are
  // zeros of their declared shape, for load_state_dict to fill (a checkpoint). Throws InputError
  // naming the node for anything that cannot run: an unsupported op or attribute, a weight that
  // is not constant, a value used before it is defined (a cycle), shapes that do not fit.
  explicit GraphNetwork(Graph graph, const std::map<std::string, at::Tensor>& values = {});
  ~GraphNetwork() override;

  at::Tensor forward(at::Tensor input) override;  // the first graph output
  std::vector<at::Tensor> forward_all(const at::Tensor& input);  // every graph output, in order

  const Graph& graph() const { return graph_; }
  // A constant's current value as the graph uses it (a MatMul's weight, held transposed by its
  // ArithLinear, is transposed back): what an export writes.
  at::Tensor constant_value(const std::string& value) const;

 private:
  struct Step;
  Graph graph_;
  std::vector<Step> steps_;
  size_t slot_count_ = 0;
  size_t input_slot_ = 0;
  std::vector<size_t> output_slots_;
  std::vector<std::pair<size_t, at::Tensor>> constant_slots_;  // unbound constants: slot, buffer
  std::map<std::string, std::function<at::Tensor()>> constant_readers_;
};

// The ONNX op types a GraphNetwork runs, sorted.
const std::vector<std::string>& supported_onnx_ops();

// Gives every weight-holding node its module path and every constant its state-dict key: the
// torchvision-style path the weight's name implies when it has one ("layer1.0.conv1.weight" ->
// "layer1.0.conv1"), else the node's name made an identifier. For a graph read from a file,
// before it is built; a stored graph keeps its names.
void name_graph_modules(Graph& graph);

}  // namespace bnrecal

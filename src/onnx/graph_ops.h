// The ONNX operators a GraphNetwork runs: each node's attributes are checked and parsed once, into
// a kernel that maps the node's input tensors to its outputs. Convs, BatchNorms and constant-weight
// Gemm/MatMul run through the node's module (so perturbation policies and recalibration reach
// them); their weight inputs are then ignored.
#pragma once
#include <ATen/ATen.h>

#include <array>
#include <functional>
#include <string>
#include <vector>

#include "bnrecal/nn/arith_layers.h"
#include "bnrecal/nn/batch_norm.h"
#include "bnrecal/onnx/graph.h"

namespace bnrecal::onnx_ops {

// Inputs by position (undefined for an omitted optional input); outputs by position.
using Kernel = std::function<std::vector<at::Tensor>(const std::vector<at::Tensor>& inputs)>;

struct NodeModules {
  ArithConv2d conv{nullptr};
  BatchNorm2d batch_norm{nullptr};
  ArithLinear linear{nullptr};
};

// The constant at a node's input, for inputs that must be constant (Reshape's shape, Pad's pads,
// Clip's bounds since opset 11): undefined when the input is omitted, InputError when it is not a
// constant. Kernels check its kind once; they read the value per call, from their inputs.
using ConstantLookup = std::function<at::Tensor(const GraphNode& node, size_t input_index)>;

// InputError naming the node for an unsupported op, attribute value or input kind.
Kernel make_kernel(const GraphNode& node, int64_t opset, const NodeModules& modules, const ConstantLookup& constant);

// The supported op types, sorted (for messages and docs).
const std::vector<std::string>& supported_ops();

// Conv's geometry: what the ArithConv2d is built with, and the extra zero padding done before it
// (asymmetric explicit pads; SAME_* pads, which depend on the input size, are computed per call).
struct ConvAttributes {
  std::array<int64_t, 2> stride{1, 1}, dilation{1, 1};
  int64_t groups = 1;
  std::array<int64_t, 4> pads{0, 0, 0, 0};  // ONNX order: h_begin, w_begin, h_end, w_end
  std::string auto_pad = "NOTSET";
  bool symmetric() const { return pads[0] == pads[2] && pads[1] == pads[3]; }
};
ConvAttributes conv_attributes(const GraphNode& node, const std::vector<int64_t>& weight_shape);

}  // namespace bnrecal::onnx_ops

// The Graph of any Network, a zoo architecture included: one forward pass of a zero batch is
// traced with torch's JIT tracer and its ATen operations are mapped to ONNX operators (conv,
// batch_norm, relu, hardtanh, add, pools, flatten, linear, cat, pad, ...). Parameters and buffers
// keep their state-dict names ("layer1.0.conv1.weight"), so the graph's modules get the zoo's layer
// names and an exported file re-imports with them.
//
//   bnrecal::OnnxModel m = bnrecal::trace_network(*net, {1, 28, 28});
//   bnrecal::write_onnx_model("net.onnx", m.graph, [&](auto& v) { return m.values.at(v); });
#pragma once
#include <cstdint>
#include <vector>

#include "bnrecal/nn/network.h"
#include "bnrecal/onnx/onnx_file.h"

namespace bnrecal {

// input_shape: {C, H, W}; the graph declares the batch dimension symbolic. The network is traced
// in eval mode, as it is (its layers' policies included: trace an fp32 model). InputError naming
// the ATen operation for a forward pass that uses one without a mapping.
OnnxModel trace_network(Network& network, const std::vector<int64_t>& input_shape);

}  // namespace bnrecal

// Per-layer multiply-accumulates of one forward pass, for speedup accounting
// (docs/sysmt-arithmetic.md section 8).
//
//   std::vector<bnrecal::LayerMacs> macs = bnrecal::count_layer_macs(*net, at::zeros({1, 1, 28, 28}));
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "bnrecal/nn/network.h"

namespace bnrecal {

struct LayerMacs {
  std::string name;
  int64_t k = 0;     // reduction length: C_in/groups * kh * kw (conv) or in_features (linear)
  int64_t macs = 0;  // output elements x k
};

// Every conv/linear layer of the model, whatever its policy, for one no-grad eval-mode forward of
// sample: counted in fp32 (no calibration needed, no policy statistics touched); the layers'
// policies and the training flag are restored afterwards.
std::vector<LayerMacs> count_layer_macs(Network& model, const at::Tensor& sample);

}  // namespace bnrecal

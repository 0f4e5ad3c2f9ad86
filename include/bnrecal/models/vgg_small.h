// A small VGG-style network for 28x28 / 32x32 images: three stages of two 3x3 conv + BN + ReLU
// (widths 32, 64, 128), 2x2 max-pooling between stages, global average pooling and one linear
// classifier. A plain (non-residual) counterpart to resnet20, in the family of the compact
// quantized classifiers the final-sample BatchNorm paper trains (docs/methods.md section 1.4).
//
//   auto net = bnrecal::build_model("vgg_small", {.num_classes = 10, .in_channels = 1});
//
// Module names: "features.0" (conv), "features.1" (BN), ..., "fc".
#pragma once
#include <torch/nn/modules/container/sequential.h>

#include "bnrecal/models/zoo.h"
#include "bnrecal/nn/arith_layers.h"
#include "bnrecal/nn/network.h"

namespace bnrecal {

class VggSmall : public Network {
 public:
  explicit VggSmall(const ModelOptions& options);
  at::Tensor forward(at::Tensor input) override;

 private:
  torch::nn::Sequential features_{nullptr};
  ArithLinear fc_{nullptr};
};

}  // namespace bnrecal

#include "bnrecal/models/vgg_small.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/pooling.h>

#include "layer_factories.h"

namespace bnrecal {

VggSmall::VggSmall(const ModelOptions& options) {
  torch::nn::Sequential features;
  int64_t in = options.in_channels;
  const int64_t widths[3] = {32, 64, 128};
  for (int stage = 0; stage < 3; ++stage) {
    if (stage > 0) features->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2)));
    for (int i = 0; i < 2; ++i) {
      features->push_back(layers::conv(in, widths[stage], 3, 1, 1));
      features->push_back(layers::batch_norm(widths[stage]));
      features->push_back(torch::nn::ReLU());
      in = widths[stage];
    }
  }
  features_ = register_module("features", features);
  fc_ = register_module("fc", ArithLinear(in, options.num_classes));
}

at::Tensor VggSmall::forward(at::Tensor input) {
  const at::Tensor x = features_->forward(input);
  return fc_->forward(at::adaptive_avg_pool2d(x, {1, 1}).flatten(1));
}

namespace detail {

void add_vgg_small_models(std::vector<ZooEntry>& zoo) {
  zoo.push_back({"vgg_small", "small-image",
                 "small VGG-style net: 3 stages of 2 conv3x3+BN+ReLU (32/64/128), max-pool, GAP, fc",
                 {1, 28, 28},
                 [](const ModelOptions& o) { return std::make_shared<VggSmall>(o); }});
}

}  // namespace detail

}  // namespace bnrecal

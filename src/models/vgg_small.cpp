// A small VGG-style network for 28x28 / 32x32 images: three stages of two 3x3 conv + BN + ReLU
// (widths 32, 64, 128), 2x2 max-pooling between stages, global average pooling and one linear
// classifier. A plain (non-residual) counterpart to resnet20, in the family of the compact
// quantized classifiers the final-sample BatchNorm paper trains (docs/methods.md section 1.4).
//
// (bnrecal::build_model("vgg_small", {10, 1}) builds it; only the zoo entry is public.)
//
// Module names: "features.0" (conv), "features.1" (BN), ..., "fc".
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/pooling.h>

#include "bnrecal/models/zoo.h"
#include "layer_factories.h"

namespace bnrecal {

namespace {

class VggSmall : public Network {
 public:
  explicit VggSmall(const ModelOptions& options);
  at::Tensor forward(at::Tensor input) override;

 private:
  torch::nn::Sequential features_{nullptr};
  ArithLinear fc_{nullptr};
};

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

}  // namespace

namespace detail {

void add_vgg_small_models(std::vector<ZooEntry>& zoo) {
  zoo.push_back({"vgg_small", "small-image",
                 "small VGG-style net: 3 stages of 2 conv3x3+BN+ReLU (32/64/128), max-pool, GAP, fc",
                 {1, 28, 28},
                 [](const ModelOptions& o) { return std::make_shared<VggSmall>(o); }});
}

}  // namespace detail

}  // namespace bnrecal

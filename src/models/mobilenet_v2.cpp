// Follows torchvision/models/mobilenetv2.py (0.14) at width_mult 1.0: Conv2dNormActivation is a
// Sequential (conv, BN, ReLU6), so its children are named "0", "1", "2" as in torchvision.
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/dropout.h>

#include "bnrecal/models/mobilenet.h"
#include "bnrecal/nn/arith_layers.h"
#include "layer_factories.h"

namespace bnrecal {

namespace {

// torchvision's Conv2dNormActivation (conv, BN, ReLU6) is a Sequential, so its children are named
// "0", "1", "2". A nested torch::nn::Sequential cannot live inside another one (its forward is a
// template, which AnyModule rejects), hence this small module with the same child names.
class ConvBNReLU6 : public torch::nn::Module {
 public:
  ConvBNReLU6(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups) {
    conv = register_module("0", layers::conv(in, out, kernel, stride, (kernel - 1) / 2, groups));
    bn = register_module("1", layers::batch_norm(out));
    relu = register_module("2", torch::nn::ReLU6());
  }
  at::Tensor forward(const at::Tensor& x) { return relu(bn(conv(x))); }
  ArithConv2d conv{nullptr};
  BatchNorm2d bn{nullptr};
  torch::nn::ReLU6 relu{nullptr};
};

std::shared_ptr<ConvBNReLU6> conv_bn_relu6(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups) {
  return std::make_shared<ConvBNReLU6>(in, out, kernel, stride, groups);
}

class InvertedResidual : public torch::nn::Module {
 public:
  InvertedResidual(int64_t in, int64_t out, int64_t stride, int64_t expand_ratio)
      : use_residual_(stride == 1 && in == out) {
    const int64_t hidden = in * expand_ratio;
    torch::nn::Sequential block;
    if (expand_ratio != 1) block->push_back(conv_bn_relu6(in, hidden, 1, 1, 1));  // pointwise expansion
    block->push_back(conv_bn_relu6(hidden, hidden, 3, stride, hidden));            // depthwise
    block->push_back(layers::conv(hidden, out, 1));  // linear bottleneck
    block->push_back(layers::batch_norm(out));
    conv = register_module("conv", block);
  }
  at::Tensor forward(const at::Tensor& x) {
    at::Tensor y = conv->forward(x);
    return use_residual_ ? x + y : y;
  }
  torch::nn::Sequential conv{nullptr};

 private:
  bool use_residual_;
};

}  // namespace

MobileNetV2::MobileNetV2(const ModelOptions& options) {
  // (expand ratio t, output channels c, repeats n, first stride s), torchvision's table.
  const int64_t settings[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                  {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  const int64_t last_channel = 1280;
  torch::nn::Sequential features;
  int64_t in = 32;
  features->push_back(conv_bn_relu6(options.in_channels, in, 3, 2, 1));
  for (const auto& [t, c, n, s] : settings)
    for (int64_t i = 0; i < n; ++i) {
      features->push_back(std::make_shared<InvertedResidual>(in, c, i == 0 ? s : 1, t));
      in = c;
    }
  features->push_back(conv_bn_relu6(in, last_channel, 1, 1, 1));
  features_ = register_module("features", features);
  classifier_ = register_module(
      "classifier", torch::nn::Sequential(torch::nn::Dropout(0.2), ArithLinear(last_channel, options.num_classes)));
}

at::Tensor MobileNetV2::forward(at::Tensor input) {
  at::Tensor x = features_->forward(input);
  return classifier_->forward(at::adaptive_avg_pool2d(x, {1, 1}).flatten(1));
}

namespace detail {

void add_mobilenet_v2_models(std::vector<ZooEntry>& zoo) {
  zoo.push_back({"mobilenet_v2", "imagenet", "torchvision MobileNet-v2 (width 1.0, ReLU6)", {3, 224, 224},
                 [](const ModelOptions& o) { return std::make_shared<MobileNetV2>(o); }});
}

}  // namespace detail

}  // namespace bnrecal

// The building blocks of the GoogLeNet family, shared by googlenet.cpp (torchvision's GoogLeNet)
// and inception_small.cpp, with torchvision 0.14's module names ("conv", "bn", "branch1" ..
// "branch4") so both produce the same per-layer names ("inception3a.branch2.1.conv").
#pragma once
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/pooling.h>

#include "layer_factories.h"

namespace bnrecal::inception {

// torchvision's BasicConv2d: "conv" (no bias: BN follows) + "bn" (eps 1e-3, from the TF original).
class BasicConv2d : public torch::nn::Module {
 public:
  BasicConv2d(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1, int64_t padding = 0) {
    conv = register_module("conv", layers::conv(in, out, kernel, stride, padding));
    bn = register_module("bn", layers::batch_norm(out, 1e-3));
  }
  at::Tensor forward(const at::Tensor& x) { return at::relu(bn(conv(x))); }
  ArithConv2d conv{nullptr};
  BatchNorm2d bn{nullptr};
};

// Widths of one module's branches, in torchvision's Inception(...) argument order.
struct InceptionWidths {
  int64_t ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj;
  int64_t out() const { return ch1x1 + ch3x3 + ch5x5 + pool_proj; }
};

// Four parallel branches concatenated along channels: 1x1; 1x1 -> 3x3; 1x1 -> 3x3 (the "5x5"
// branch); 3x3 max-pool -> 1x1. All keep the spatial size.
class Inception : public torch::nn::Module {
 public:
  Inception(int64_t in, const InceptionWidths& w) {
    using torch::nn::Sequential;
    branch1 = register_module("branch1", std::make_shared<BasicConv2d>(in, w.ch1x1, 1));
    branch2 = register_module("branch2", Sequential(std::make_shared<BasicConv2d>(in, w.ch3x3red, 1),
                                                    std::make_shared<BasicConv2d>(w.ch3x3red, w.ch3x3, 3, 1, 1)));
    // A 3x3 conv where the paper has 5x5: torchvision's known bug (pytorch/vision#906), kept so
    // its weights load.
    branch3 = register_module("branch3", Sequential(std::make_shared<BasicConv2d>(in, w.ch5x5red, 1),
                                                    std::make_shared<BasicConv2d>(w.ch5x5red, w.ch5x5, 3, 1, 1)));
    // Stride 1 with padding 1 keeps the size, so ceil_mode (torchvision's) changes nothing here.
    const auto pool = torch::nn::MaxPool2dOptions(3).stride(1).padding(1).ceil_mode(true);
    branch4 = register_module("branch4", Sequential(torch::nn::MaxPool2d(pool),
                                                    std::make_shared<BasicConv2d>(in, w.pool_proj, 1)));
  }
  at::Tensor forward(const at::Tensor& x) {
    return at::cat({branch1->forward(x), branch2->forward(x), branch3->forward(x), branch4->forward(x)}, 1);
  }
  std::shared_ptr<BasicConv2d> branch1;
  torch::nn::Sequential branch2{nullptr}, branch3{nullptr}, branch4{nullptr};
};

}  // namespace bnrecal::inception

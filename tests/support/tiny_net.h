// Tiny models shared by the nn and recal tests: small enough that every test runs in
// milliseconds, with the structure the code under test cares about (first conv, BN, dropout
// before a BN, fc).
#pragma once
#include <torch/torch.h>

#include "bnrecal/nn/network.h"
#include "bnrecal/nn/arith_layers.h"
#include "bnrecal/nn/batch_norm.h"

namespace bnrecal::testing {

// conv1 -> bn1 -> relu -> dropout -> conv2 -> bn2 -> relu -> avgpool -> fc
class TinyNetImpl : public Network {
 public:
  explicit TinyNetImpl(int64_t in_channels = 1, int64_t width = 4, int64_t classes = 3) {
    conv1 = register_module("conv1", ArithConv2d(ArithConv2dOptions(in_channels, width, 3).padding(1)));
    bn1 = register_module("bn1", BatchNorm2d(width));
    dropout = register_module("dropout", torch::nn::Dropout(0.5));
    conv2 = register_module("conv2", ArithConv2d(ArithConv2dOptions(width, 2 * width, 3).padding(1).stride(2)));
    bn2 = register_module("bn2", BatchNorm2d(2 * width));
    fc = register_module("fc", ArithLinear(2 * width, classes));
  }
  at::Tensor forward(at::Tensor x) override {
    x = dropout(torch::relu(bn1(conv1(x))));
    x = torch::relu(bn2(conv2(x)));
    return fc(x.mean({2, 3}));
  }
  // The policy of conv1, conv2 and fc, e.g. {"fp32", "a8w8", "fp32"}.
  std::vector<std::string> policy_names() const {
    return {conv1->policy().name(), conv2->policy().name(), fc->policy().name()};
  }
  // Gives the BN layers non-trivial affine parameters and running statistics.
  void randomize_bn(uint64_t seed) {
    torch::NoGradGuard g;
    torch::manual_seed(seed);
    for (auto* bn : {bn1.get(), bn2.get()}) {
      bn->weight.uniform_(0.5, 1.5);
      bn->bias.uniform_(-0.5, 0.5);
      bn->running_mean.uniform_(-1, 1);
      bn->running_var.uniform_(0.5, 2);
    }
  }
  ArithConv2d conv1{nullptr}, conv2{nullptr};
  BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::Dropout dropout{nullptr};
  ArithLinear fc{nullptr};
};

// A model with no BatchNorm at all.
class NoBnNet : public Network {
 public:
  NoBnNet() { conv = register_module("conv", ArithConv2d(ArithConv2dOptions(1, 2, 3))); }
  at::Tensor forward(at::Tensor x) override { return conv(x); }
  ArithConv2d conv{nullptr};
};

inline std::vector<at::Tensor> random_batches(std::vector<int64_t> sizes, int64_t c = 1,
                                              int64_t hw = 8, uint64_t seed = 1) {
  torch::manual_seed(seed);
  std::vector<at::Tensor> out;
  for (int64_t b : sizes) out.push_back(torch::randn({b, c, hw, hw}));
  return out;
}

}  // namespace bnrecal::testing

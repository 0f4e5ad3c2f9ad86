// Residual networks with torchvision's module names and semantics, for both small images
// (CIFAR-style stem: 3x3 conv, no max-pool; He et al. 2016, section 4.2) and ImageNet
// (torchvision.models.resnet: 7x7 stride-2 conv + max-pool; stride in the bottleneck's 3x3 conv,
// "ResNet v1.5").
//
//   auto net = std::make_shared<bnrecal::ResNet>(bnrecal::ResNetConfig::small({3, 3, 3}), options);
#pragma once
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/pooling.h>

#include <vector>

#include "bnrecal/nn/network.h"
#include "bnrecal/models/zoo.h"
#include "bnrecal/nn/arith_layers.h"
#include "bnrecal/nn/batch_norm.h"

namespace bnrecal {

enum class BlockKind { kBasic, kBottleneck };
enum class StemKind { kSmallImage, kImageNet };

struct ResNetConfig {
  BlockKind block = BlockKind::kBasic;
  StemKind stem = StemKind::kSmallImage;
  std::vector<int64_t> blocks_per_stage;  // {3, 3, 3} for ResNet-20
  std::vector<int64_t> stage_planes;      // {16, 32, 64} small; {64, 128, 256, 512} ImageNet
  int64_t width_per_group = 64;           // 128 for Wide ResNet-50-2 (torchvision's meaning)
  // Per stage after the first: replace its stride 2 by dilation (torchvision's
  // replace_stride_with_dilation; bottleneck blocks only), as segmentation backbones do.
  std::vector<bool> dilate{};
  bool classifier = true;  // false: no pooling and fc (a backbone: forward gives the last stage's map)
};

class ResNet : public Network {
 public:
  ResNet(const ResNetConfig& config, const ModelOptions& options);
  at::Tensor forward(at::Tensor input) override;
  int64_t out_channels() const { return out_channels_; }

 private:
  ArithConv2d conv1_{nullptr};
  BatchNorm2d bn1_{nullptr};
  torch::nn::MaxPool2d maxpool_{nullptr};
  std::vector<torch::nn::Sequential> stages_;
  ArithLinear fc_{nullptr};
  int64_t out_channels_ = 0;
};

}  // namespace bnrecal

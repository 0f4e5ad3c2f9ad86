#include "bnrecal/models/resnet.h"

#include <torch/nn/functional/activation.h>

#include "layer_factories.h"

namespace bnrecal {

namespace {

using layers::batch_norm;
using layers::conv;

// Shared by both block kinds: the residual branch is given, the shortcut is identity or
// downsample (1x1 conv + BN, torchvision's "option B").
class ResidualBlock : public torch::nn::Module {
 public:
  virtual at::Tensor forward(at::Tensor x) = 0;

 protected:
  // Registered last, after the branch, as torchvision orders the state dict.
  void add_shortcut(int64_t in, int64_t out, int64_t stride) {
    if (stride != 1 || in != out)
      downsample = register_module("downsample", torch::nn::Sequential(conv(in, out, 1, stride, 0), batch_norm(out)));
  }
  // relu(branch + shortcut(x)).
  at::Tensor join(at::Tensor branch, const at::Tensor& x) {
    branch += downsample ? downsample->forward(x) : x;
    return at::relu(branch);
  }
  torch::nn::Sequential downsample{nullptr};
};

class BasicBlock : public ResidualBlock {
 public:
  static constexpr int64_t kExpansion = 1;
  BasicBlock(int64_t in, int64_t planes, int64_t stride) {
    conv1 = register_module("conv1", conv(in, planes, 3, stride, 1));
    bn1 = register_module("bn1", batch_norm(planes));
    conv2 = register_module("conv2", conv(planes, planes, 3, 1, 1));
    bn2 = register_module("bn2", batch_norm(planes));
    add_shortcut(in, planes, stride);
  }
  at::Tensor forward(at::Tensor x) override { return join(bn2(conv2(at::relu(bn1(conv1(x))))), x); }
  ArithConv2d conv1{nullptr}, conv2{nullptr};
  BatchNorm2d bn1{nullptr}, bn2{nullptr};
};

class Bottleneck : public ResidualBlock {
 public:
  static constexpr int64_t kExpansion = 4;
  Bottleneck(int64_t in, int64_t planes, int64_t stride, int64_t width_per_group, int64_t dilation) {
    const int64_t width = planes * width_per_group / 64;
    const int64_t out = planes * kExpansion;
    conv1 = register_module("conv1", conv(in, width, 1, 1, 0));
    bn1 = register_module("bn1", batch_norm(width));
    conv2 = register_module(
        "conv2", ArithConv2d(ArithConv2dOptions(width, width, 3).stride(stride).padding(dilation).dilation(dilation)));
    bn2 = register_module("bn2", batch_norm(width));
    conv3 = register_module("conv3", conv(width, out, 1, 1, 0));
    bn3 = register_module("bn3", batch_norm(out));
    add_shortcut(in, out, stride);
  }
  at::Tensor forward(at::Tensor x) override {
    const at::Tensor branch = at::relu(bn2(conv2(at::relu(bn1(conv1(x))))));
    return join(bn3(conv3(branch)), x);
  }
  ArithConv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
};

}  // namespace

ResNet::ResNet(const ResNetConfig& config, const ModelOptions& options) {
  const bool imagenet = config.stem == StemKind::kImageNet;
  const int64_t stem_width = config.stage_planes.at(0);
  conv1_ = register_module("conv1", imagenet ? conv(options.in_channels, stem_width, 7, 2, 3)
                                             : conv(options.in_channels, stem_width, 3, 1, 1));
  bn1_ = register_module("bn1", batch_norm(stem_width));
  if (imagenet)
    maxpool_ = torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(2).padding(1));
  const bool bottleneck = config.block == BlockKind::kBottleneck;
  const int64_t expansion = bottleneck ? Bottleneck::kExpansion : BasicBlock::kExpansion;
  int64_t in = stem_width;
  int64_t dilation = 1;
  for (size_t s = 0; s < config.blocks_per_stage.size(); ++s) {
    torch::nn::Sequential stage;
    const int64_t planes = config.stage_planes.at(s);
    // As torchvision: a dilated stage's first block keeps the dilation before it, the rest take the new one.
    const int64_t first_dilation = dilation;
    int64_t stride = s > 0 ? 2 : 1;
    if (s > 0 && s - 1 < config.dilate.size() && config.dilate[s - 1]) {
      TORCH_CHECK(bottleneck, "ResNet: dilation needs bottleneck blocks (as in torchvision)");
      dilation *= stride;
      stride = 1;
    }
    for (int64_t b = 0; b < config.blocks_per_stage[s]; ++b) {
      if (bottleneck)
        stage->push_back(std::make_shared<Bottleneck>(in, planes, b == 0 ? stride : 1, config.width_per_group,
                                                      b == 0 ? first_dilation : dilation));
      else
        stage->push_back(std::make_shared<BasicBlock>(in, planes, b == 0 ? stride : 1));
      in = planes * expansion;
    }
    stages_.push_back(register_module("layer" + std::to_string(s + 1), stage));
  }
  out_channels_ = in;
  if (config.classifier) fc_ = register_module("fc", ArithLinear(in, options.num_classes));
}

at::Tensor ResNet::forward(at::Tensor x) {
  x = at::relu(bn1_(conv1_(x)));
  if (maxpool_) x = maxpool_(x);
  for (auto& stage : stages_) x = stage->forward(x);
  if (!fc_) return x;
  x = at::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
  return fc_(x);
}

namespace detail {

void add_resnet_models(std::vector<ZooEntry>& zoo) {
  auto entry = [&zoo](std::string name, std::string family, std::string description,
                      std::vector<int64_t> input, ResNetConfig config) {
    zoo.push_back({std::move(name), std::move(family), std::move(description), std::move(input),
                   [config](const ModelOptions& o) { return std::make_shared<ResNet>(config, o); }});
  };
  const std::vector<int64_t> small_input{3, 32, 32}, imagenet_input{3, 224, 224};
  for (int depth : {20, 32, 44, 56}) {
    const int64_t n = (depth - 2) / 6;
    entry("resnet" + std::to_string(depth), "small-image",
          "ResNet-" + std::to_string(depth) + " for small images: 3 stages x " + std::to_string(n) +
              " basic blocks, widths 16/32/64",
          small_input, {BlockKind::kBasic, StemKind::kSmallImage, {n, n, n}, {16, 32, 64}});
  }
  entry("resnet29_bottleneck", "small-image",
        "ResNet-29 for small images: 3 stages x 3 bottleneck blocks, widths 16/32/64 (x4 out)",
        small_input, {BlockKind::kBottleneck, StemKind::kSmallImage, {3, 3, 3}, {16, 32, 64}});
  const std::vector<int64_t> imagenet_planes{64, 128, 256, 512};
  entry("resnet18", "imagenet", "torchvision ResNet-18", imagenet_input,
        {BlockKind::kBasic, StemKind::kImageNet, {2, 2, 2, 2}, imagenet_planes});
  entry("resnet34", "imagenet", "torchvision ResNet-34", imagenet_input,
        {BlockKind::kBasic, StemKind::kImageNet, {3, 4, 6, 3}, imagenet_planes});
  entry("resnet50", "imagenet", "torchvision ResNet-50 (v1.5: stride in the 3x3 conv)", imagenet_input,
        {BlockKind::kBottleneck, StemKind::kImageNet, {3, 4, 6, 3}, imagenet_planes});
  entry("resnet101", "imagenet", "torchvision ResNet-101", imagenet_input,
        {BlockKind::kBottleneck, StemKind::kImageNet, {3, 4, 23, 3}, imagenet_planes});
  entry("wide_resnet50_2", "imagenet", "torchvision Wide ResNet-50-2", imagenet_input,
        {BlockKind::kBottleneck, StemKind::kImageNet, {3, 4, 6, 3}, imagenet_planes, 128});
}

}  // namespace detail

}  // namespace bnrecal

#include <gtest/gtest.h>

#include <set>

#include "bnrecal/core/error.h"
#include "bnrecal/models/zoo.h"
#include "bnrecal/nn/arith_layers.h"
#include "bnrecal/nn/batch_norm.h"

namespace bnrecal {
namespace {

TEST(Zoo, ListsSmallResNetsIncludingABottleneckVariant) {
  std::set<std::string> names;
  for (const auto& e : model_zoo()) names.insert(e.name);
  for (const char* n : {"resnet20", "resnet32", "resnet56", "resnet29_bottleneck", "resnet18", "resnet50"})
    EXPECT_TRUE(names.count(n)) << n;
  EXPECT_THROW(build_model("resnet21", {}), InputError);
}

TEST(Zoo, ResNet20HasTorchvisionNamesAndTheKnownParameterCount) {
  auto net = build_model("resnet20", {10, 3});
  int64_t params = 0;
  std::set<std::string> names;
  for (const auto& p : net->named_parameters()) {
    params += p.value().numel();
    names.insert(p.key());
  }
  // He et al.'s "0.27M"; counted by hand with projection shortcuts (1x1 conv + BN) and 3 input channels:
  // stem 464, stage 1 14,016, stage 2 51,648, stage 3 205,696, fc 650.
  EXPECT_EQ(params, 272474);
  for (const char* n : {"conv1.weight", "bn1.weight", "layer1.0.conv1.weight", "layer2.0.downsample.0.weight",
                        "layer2.0.downsample.1.bias", "layer3.2.bn2.weight", "fc.weight", "fc.bias"})
    EXPECT_TRUE(names.count(n)) << n;
  at::Tensor y = net->forward(at::randn({2, 3, 32, 32}));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 10}));
}

TEST(Zoo, EveryConvIsFollowedByABatchNorm) {
  for (const char* arch : {"resnet20", "resnet29_bottleneck"}) {
    auto net = build_model(arch, {10, 1});
    std::set<std::string> bns;
    for (const auto& m : net->named_modules())
      if (dynamic_cast<BatchNorm2dImpl*>(m.value().get())) bns.insert(m.key());
    for (const auto& layer : arith_layers(*net)) {
      if (layer.linear) continue;
      std::string bn = layer.name;
      const auto pos = bn.rfind("conv");
      bn = pos != std::string::npos ? bn.replace(pos, 4, "bn") : bn;
      if (bn.size() > 2 && bn.substr(bn.size() - 2) == ".0") bn = bn.substr(0, bn.size() - 1) + "1";  // downsample.0 -> .1
      EXPECT_TRUE(bns.count(bn)) << arch << ": no BN after " << layer.name;
    }
  }
}

TEST(Zoo, VggSmallIsSixConvBnPairsAndALinearHead) {
  auto net = build_model("vgg_small", {10, 1});
  std::set<std::string> bns;
  for (const auto& m : net->named_modules())
    if (dynamic_cast<BatchNorm2dImpl*>(m.value().get())) bns.insert(m.key());
  const auto layers = arith_layers(*net);
  ASSERT_EQ(layers.size(), 7u);
  EXPECT_TRUE(layers.front().is_first_conv);
  EXPECT_EQ(layers.back().name, "fc");
  for (size_t i = 0; i + 1 < layers.size(); ++i) {
    const std::string& conv = layers[i].name;  // "features.K": its BN is "features.K+1"
    EXPECT_TRUE(bns.count("features." + std::to_string(std::stoi(conv.substr(9)) + 1))) << conv;
  }
  at::NoGradGuard no_grad;
  net->eval();
  EXPECT_EQ(net->forward(at::zeros({2, 1, 28, 28})).sizes(), at::IntArrayRef({2, 10}));
}

TEST(Zoo, FirstConvIsMarked) {
  auto net = build_model("resnet20", {10, 1});
  const auto layers = arith_layers(*net);
  ASSERT_FALSE(layers.empty());
  EXPECT_EQ(layers.front().name, "conv1");
  EXPECT_TRUE(layers.front().info().is_first_conv);
  EXPECT_TRUE(layers.back().info().is_linear);
  for (size_t i = 1; i < layers.size(); ++i) EXPECT_FALSE(layers[i].info().is_first_conv);
}

// torchvision's FCN: dilated layer3/layer4 (output stride 8), no pooling or fc in the backbone, class
// scores upsampled to the input's size; fcn_small answers 64x64 images at output stride 4.
TEST(Zoo, FcnModelsGivePerPixelScoresWithTorchvisionNames) {
  auto fcn = build_model("fcn_resnet50", {21, 3});
  std::set<std::string> names;
  for (const auto& p : fcn->named_parameters()) names.insert(p.key());
  for (const char* n : {"backbone.conv1.weight", "backbone.layer4.2.conv3.weight", "classifier.0.weight",
                        "classifier.1.weight", "classifier.4.weight", "classifier.4.bias"})
    EXPECT_TRUE(names.count(n)) << n;
  EXPECT_FALSE(names.count("backbone.fc.weight"));
  EXPECT_FALSE(names.count("aux_classifier.0.weight"));  // torchvision's training-only head
  for (const auto& l : arith_layers(*fcn)) {
    if (l.name == "backbone.layer4.1.conv2") EXPECT_EQ(l.conv->options.geometry_.dilation[0], 4);
    if (l.name == "backbone.layer4.0.conv2") EXPECT_EQ(l.conv->options.geometry_.dilation[0], 2);
    if (l.name == "backbone.layer3.0.conv2") EXPECT_EQ(l.conv->options.geometry_.stride[0], 1);
  }
  at::NoGradGuard no_grad;
  fcn->eval();
  EXPECT_EQ(fcn->forward(at::randn({1, 3, 40, 48})).sizes(), (std::vector<int64_t>{1, 21, 40, 48}));
  auto small = build_model("fcn_small", {11, 3});
  small->eval();
  EXPECT_EQ(small->forward(at::randn({2, 3, 64, 64})).sizes(), (std::vector<int64_t>{2, 11, 64, 64}));
}

}  // namespace
}  // namespace bnrecal

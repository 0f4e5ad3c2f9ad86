// The small-image GoogLeNet, DenseNet-BC and MobileNet-v1 of the zoo (inception_small,
// densenet_small, mobilenet_v1_small): logits for both input kinds (1x28x28, 3x32x32), the layer
// structure their files' header comments describe (layer and BN counts, parameters and MACs
// counted by hand, so a structural change fails here), and which layers an accelerator policy
// takes. Batches of 2 keep it fast.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "bnrecal/data/batch_stream.h"
#include "bnrecal/models/zoo.h"
#include "bnrecal/nn/arith_layers.h"
#include "bnrecal/nn/batch_norm.h"
#include "bnrecal/nn/calibration.h"
#include "bnrecal/nn/layer_macs.h"
#include "bnrecal/nn/model_calibration.h"
#include "bnrecal/nn/policy_resolution.h"
#include "tiny_net.h"

namespace bnrecal {
namespace {

const std::vector<std::string> kSmallModels = {"inception_small", "densenet_small", "mobilenet_v1_small"};

// What a model is made of, for the structure checks.
struct Census {
  int64_t convs = 0, linears = 0, batch_norms = 0, parameters = 0, macs_28x28 = 0;
  std::vector<ArithLayerRef> layers;
  std::set<std::string> bn_names;
};

Census census(Network& net) {
  Census c;
  c.layers = arith_layers(net);
  for (const auto& l : c.layers) (l.conv ? c.convs : c.linears) += 1;
  for (const auto& m : net.named_modules())
    if (dynamic_cast<BatchNorm2dImpl*>(m.value().get())) c.bn_names.insert(m.key());
  c.batch_norms = static_cast<int64_t>(c.bn_names.size());
  for (const auto& p : net.parameters()) c.parameters += p.numel();
  for (const auto& l : count_layer_macs(net, at::zeros({1, 1, 28, 28}))) c.macs_28x28 += l.macs;
  return c;
}

int64_t count_stride_two(const std::vector<ArithLayerRef>& layers) {
  int64_t n = 0;
  for (const auto& l : layers)
    if (l.conv && l.conv->options.geometry_.stride[0] == 2) ++n;
  return n;
}

TEST(SmallModels, AreListedAsSmallImageEntriesFor28x28Images) {
  std::set<std::string> found;
  for (const auto& e : model_zoo()) {
    if (std::find(kSmallModels.begin(), kSmallModels.end(), e.name) == kSmallModels.end()) continue;
    found.insert(e.name);
    EXPECT_EQ(e.family, "small-image") << e.name;
    EXPECT_EQ(e.default_input, (std::vector<int64_t>{1, 28, 28})) << e.name;
    EXPECT_FALSE(e.description.empty()) << e.name;
  }
  EXPECT_EQ(found.size(), kSmallModels.size());
}

TEST(SmallModels, MapGrayscale28AndColour32ImagesToFiniteLogits) {
  at::NoGradGuard no_grad;
  for (const auto& arch : kSmallModels) {
    for (const auto& [channels, size] : {std::pair<int64_t, int64_t>{1, 28}, {3, 32}}) {
      SCOPED_TRACE(arch + " " + std::to_string(channels) + "x" + std::to_string(size));
      auto net = build_model(arch, {10, channels});
      net->eval();
      const at::Tensor y = net->forward(at::randn({2, channels, size, size}));
      EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 10}));
      EXPECT_TRUE(at::isfinite(y).all().item<bool>());
    }
  }
}

// Every parameter takes part in the loss: a layer built but left out of forward would get no gradient.
TEST(SmallModels, TrainingStepReachesEveryParameter) {
  for (const auto& arch : kSmallModels) {
    torch::manual_seed(0);
    auto net = build_model(arch, {10, 1});
    net->train();
    const at::Tensor labels = torch::tensor({3, 7}, torch::kLong);
    const at::Tensor loss = at::cross_entropy_loss(net->forward(at::randn({2, 1, 28, 28})), labels);
    loss.backward();
    for (const auto& p : net->named_parameters()) {
      ASSERT_TRUE(p.value().grad().defined()) << arch << ": " << p.key();
      EXPECT_TRUE(at::isfinite(p.value().grad()).all().item<bool>()) << arch << ": " << p.key();
    }
  }
}

TEST(InceptionSmall, IsAStemSixInceptionModulesAndALinearHead) {
  auto net = build_model("inception_small", {10, 1});
  const Census c = census(*net);
  EXPECT_EQ(c.convs, 1 + 6 * 6);  // stem + 6 modules x (1x1, 1x1->3x3, 1x1->3x3, pool->1x1)
  EXPECT_EQ(c.linears, 1);
  EXPECT_EQ(c.batch_norms, c.convs);
  // Counted by hand from the widths in inception_small.cpp (BN: weight + bias per channel).
  EXPECT_EQ(c.parameters, 305570);
  EXPECT_EQ(c.macs_28x28, 37835264);
  for (const auto& l : c.layers) {
    if (!l.conv) continue;
    ASSERT_EQ(l.name.substr(l.name.size() - 5), ".conv");  // BasicConv2d: "X.conv" then "X.bn"
    EXPECT_TRUE(c.bn_names.count(l.name.substr(0, l.name.size() - 4) + "bn")) << l.name;
  }
  EXPECT_EQ(c.layers.front().name, "conv1.conv");
  EXPECT_EQ(c.layers[1].name, "inception3a.branch1.conv");
  EXPECT_EQ(c.layers[c.layers.size() - 2].name, "inception5b.branch4.1.conv");
  EXPECT_EQ(c.layers.back().name, "fc");
  EXPECT_EQ(c.layers.back().linear->in_features, 256);
}

TEST(DenseNetSmall, IsThreeDenseBlocksOf4And6And8LayersWithTwoTransitions) {
  auto net = build_model("densenet_small", {10, 1});
  const Census c = census(*net);
  EXPECT_EQ(c.convs, 1 + 2 * (4 + 6 + 8) + 2);  // stem, (1x1, 3x3) per dense layer, transitions
  EXPECT_EQ(c.batch_norms, c.convs + 1);       // pre-activation BN per conv, norm0, norm5
  EXPECT_EQ(c.parameters, 172498);
  EXPECT_EQ(c.macs_28x28, 39585660);
  const ArithConv2dImpl& stem = *c.layers.front().conv;
  EXPECT_EQ(c.layers.front().name, "features.conv0");
  EXPECT_EQ(stem.options.kernel_[0], 3);
  EXPECT_EQ(stem.options.out_channels_, 24);
  EXPECT_EQ(count_stride_two(c.layers), 0);  // downsampling is the transitions' average pools
  std::set<std::string> names;
  for (const auto& l : c.layers) names.insert(l.name);
  for (const char* n : {"features.denseblock1.denselayer4.conv2", "features.transition1.conv",
                        "features.denseblock3.denselayer8.conv2", "classifier"})
    EXPECT_TRUE(names.count(n)) << n;
  EXPECT_EQ(c.layers.back().linear->in_features, 150);  // 24 +48 /2 +72 /2 +96
  EXPECT_TRUE(c.bn_names.count("features.norm5"));
}

TEST(MobileNetV1Small, IsAStemFiveDepthwiseSeparableUnitsAndALinearHead) {
  auto net = build_model("mobilenet_v1_small", {10, 1});
  const Census c = census(*net);
  ASSERT_EQ(c.convs, 1 + 5 * 2);
  EXPECT_EQ(c.batch_norms, c.convs);
  EXPECT_EQ(c.parameters, 136202);
  EXPECT_EQ(c.macs_28x28, 12201600);
  EXPECT_EQ(count_stride_two(c.layers), 2);  // 28 -> 14 -> 7
  const int64_t widths[6] = {32, 64, 128, 128, 256, 256};
  for (int unit = 1; unit <= 5; ++unit) {
    const std::string prefix = "features." + std::to_string(unit);
    const ArithLayerRef& depthwise = c.layers[2 * unit - 1];
    const ArithLayerRef& pointwise = c.layers[2 * unit];
    EXPECT_EQ(depthwise.name, prefix + ".depthwise.0");
    EXPECT_EQ(depthwise.conv->options.geometry_.groups, widths[unit - 1]);
    EXPECT_TRUE(depthwise.info().is_depthwise) << depthwise.name;
    EXPECT_EQ(pointwise.name, prefix + ".pointwise.0");
    EXPECT_EQ(pointwise.conv->options.out_channels_, widths[unit]);
    EXPECT_FALSE(pointwise.info().is_depthwise) << pointwise.name;
    EXPECT_TRUE(c.bn_names.count(prefix + ".depthwise.1") && c.bn_names.count(prefix + ".pointwise.1")) << prefix;
  }
  EXPECT_EQ(c.layers.back().name, "classifier.1");
}

// Under sysmt (as under every accelerator policy) the first conv, the classifier and depthwise
// convs stay fp32; every other conv is accelerated.
TEST(SmallModels, SysmtAcceleratesEveryConvButTheFirstAndTheDepthwiseOnes) {
  for (const auto& arch : kSmallModels) {
    SCOPED_TRACE(arch);
    auto net = build_model(arch, {10, 1});
    TensorBatchStream stream(testing::random_batches({2}, 1, 28));
    const nlohmann::json metadata = {{kCalibrationKey, calibrate_activations(*net, stream, "mean_max").to_json()}};
    apply_policy(*net, PolicySpec::parse("sysmt smt=2"), 1, ModelCalibration::from_metadata(metadata));
    int64_t depthwise = 0, accelerated = 0;
    for (const auto& l : arith_layers(*net)) {
      const bool exact = l.is_first_conv || l.linear || l.info().is_depthwise;
      depthwise += l.info().is_depthwise;
      accelerated += !exact;
      EXPECT_EQ(l.policy().name(), exact ? "fp32" : "sysmt") << l.name;
    }
    EXPECT_EQ(depthwise, arch == "mobilenet_v1_small" ? 5 : 0);
    EXPECT_GT(accelerated, 0);
  }
}

// The small MobileNet's units are the 224 model's first five, so its layers resolve alike.
TEST(MobileNetV1Small, ResolvesPoliciesLikeTheImageNetMobileNetV1) {
  const auto infos = [](const char* arch) {
    auto net = build_model(arch, {10, 3});
    std::vector<LayerInfo> out;
    for (const auto& l : arith_layers(*net)) out.push_back(l.info());
    return out;
  };
  const std::vector<LayerInfo> small = infos("mobilenet_v1_small"), imagenet = infos("mobilenet_v1");
  const PolicySpec spec = PolicySpec::parse("sysmt smt=2");
  const std::vector<std::string> small_policies = resolve_layer_policies(small, spec);
  const std::vector<std::string> imagenet_policies = resolve_layer_policies(imagenet, spec);
  for (size_t i = 0; i + 1 < small.size(); ++i) {  // the stem and units 1..5; not the classifier
    EXPECT_EQ(small[i].name, imagenet[i].name);
    EXPECT_EQ(small_policies[i], imagenet_policies[i]) << small[i].name;
  }
  EXPECT_EQ(small_policies[1], "fp32");   // features.1.depthwise.0
  EXPECT_EQ(small_policies[2], "sysmt");  // features.1.pointwise.0
}

}  // namespace
}  // namespace bnrecal

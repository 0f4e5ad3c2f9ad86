#include <gtest/gtest.h>
#include <torch/torch.h>

#include "bnrecal/core/error.h"
#include "bnrecal/nn/a8w8_policy.h"
#include "bnrecal/nn/calibration.h"
#include "bnrecal/nn/policy_registry.h"
#include "tiny_net.h"

using namespace bnrecal;
using bnrecal::testing::TinyNetImpl;

namespace {
nlohmann::json calibrated_metadata(TinyNetImpl& net) {
  TensorBatchStream stream(bnrecal::testing::random_batches({4}));
  return {{kCalibrationKey, calibrate_activations(net, stream, "mean_max").to_json()}};
}
std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(PolicyRegistry, ParseSpecString) {
  PolicySpec s = PolicySpec::parse("a8w8 noise=seed-003 eta=0.04 override=fc=fp32 override=layer1.*=a8w8");
  EXPECT_EQ(s.policy, "a8w8");
  EXPECT_EQ(s.noise, "seed-003");
  EXPECT_DOUBLE_EQ(s.noise_params.eta, 0.04);
  ASSERT_EQ(s.overrides.size(), 2u);
  EXPECT_EQ(s.overrides[1].pattern, "layer1.*");
  PolicySpec back = PolicySpec::from_json(s.to_json());
  EXPECT_EQ(back.to_json(), s.to_json());
}

TEST(PolicyRegistry, TextFormRoundTrips) {
  for (const char* text : {"fp32", "a8w8 activations=signed override=fc=fp32",
                           "sysmt smt=4 idle=act round=trunc override=layer1.*=a8w8",
                           "fp32 noise=relative eta=0.04 sigma_t=0.2 sigma_s=0.1 noise_exclude=conv1"}) {
    const PolicySpec spec = PolicySpec::parse(text);
    EXPECT_EQ(spec.to_text(), text);
    EXPECT_EQ(PolicySpec::parse(spec.to_text()).to_json(), spec.to_json()) << text;
  }
}

TEST(PolicyRegistry, UnknownNamesListTheKnownOnes) {
  std::string m = message_of([] { PolicySpec::parse("int4"); });
  EXPECT_NE(m.find("a8w8"), std::string::npos);
  EXPECT_NE(m.find("fp32"), std::string::npos);
  m = message_of([] { PolicySpec::parse("fp32 noise=pink eta=0.1"); });
  EXPECT_NE(m.find("seed-003"), std::string::npos);
  EXPECT_FALSE(message_of([] { PolicySpec::parse("fp32 noise=relative eta=-1"); }).empty());
  EXPECT_FALSE(message_of([] { PolicySpec::parse("fp32 colour=red"); }).empty());
}

TEST(PolicyRegistry, A8W8LeavesFirstConvAndFcInFp32ByDefault) {
  auto net = std::make_shared<TinyNetImpl>();
  nlohmann::json meta = calibrated_metadata(*net);
  apply_policy(*net, PolicySpec::parse("a8w8"), 1, meta);
  EXPECT_EQ(net->conv1->policy().name(), "fp32");
  EXPECT_EQ(net->conv2->policy().name(), "a8w8");
  EXPECT_EQ(net->fc->policy().name(), "fp32");
  nlohmann::json summary = policy_summary(*net);
  ASSERT_EQ(summary.size(), 3u);
  EXPECT_EQ(summary[1]["name"], "conv2");
  EXPECT_EQ(summary[1]["policy"]["policy"], "a8w8");
  EXPECT_NEAR(summary[1]["policy"]["a_max"].get<double>(),
              meta[kCalibrationKey]["layers"]["conv2"]["a_max"].get<double>(), 1e-12);
  // Overrides: exact and glob; last match wins.
  apply_policy(*net, PolicySpec::parse("a8w8 override=conv*=fp32 override=conv2=a8w8"), 1, meta);
  EXPECT_EQ(net->conv1->policy().name(), "fp32");
  EXPECT_EQ(net->conv2->policy().name(), "a8w8");
}

TEST(PolicyRegistry, A8W8OnSignedFirstConvIsRefused) {
  auto net = std::make_shared<TinyNetImpl>();
  nlohmann::json meta = calibrated_metadata(*net);
  std::string m = message_of([&] { apply_policy(*net, PolicySpec::parse("a8w8 override=conv1=a8w8"), 1, meta); });
  EXPECT_NE(m.find("conv1"), std::string::npos);
  EXPECT_EQ(net->conv2->policy().name(), "fp32");  // untouched on failure
  apply_policy(*net, PolicySpec::parse("a8w8 override=conv1=a8w8 activations=signed"), 1, meta);
  EXPECT_EQ(net->conv1->policy().name(), "a8w8");
}

TEST(PolicyRegistry, A8W8WithoutCalibrationNamesTheCommand) {
  auto net = std::make_shared<TinyNetImpl>();
  std::string m = message_of([&] { apply_policy(*net, PolicySpec::parse("a8w8"), 1); });
  EXPECT_NE(m.find("bnrecal calibrate"), std::string::npos);
}

TEST(PolicyRegistry, OverrideMatchingNothingIsInputError) {
  auto net = std::make_shared<TinyNetImpl>();
  std::string m = message_of([&] { apply_policy(*net, PolicySpec::parse("fp32 override=layer9=fp32"), 1); });
  EXPECT_NE(m.find("layer9"), std::string::npos);
}

TEST(PolicyRegistry, NoiseWrapsEveryLayerAndCombinesWithA8W8) {
  auto net = std::make_shared<TinyNetImpl>();
  nlohmann::json meta = calibrated_metadata(*net);
  apply_policy(*net, PolicySpec::parse("a8w8 noise=seed-003 eta=0.04"), 3, meta);
  EXPECT_EQ(net->conv1->policy().name(), "fp32+noise");
  EXPECT_EQ(net->conv2->policy().name(), "a8w8+noise");
  EXPECT_EQ(net->fc->policy().name(), "fp32+noise");
  auto* noisy = dynamic_cast<NoisyWeightsPolicy*>(&net->conv2->policy());
  ASSERT_NE(noisy, nullptr);
  EXPECT_NE(dynamic_cast<A8W8Policy*>(&noisy->inner()), nullptr);
  apply_policy(*net, PolicySpec::parse("fp32 noise=relative eta=0.1 noise_exclude=conv1 noise_exclude=fc"), 3);
  EXPECT_EQ(net->conv1->policy().name(), "fp32");
  EXPECT_EQ(net->conv2->policy().name(), "fp32+noise");
}

TEST(PolicyRegistry, SameSeedSameOutputsDifferentSeedDifferent) {
  auto net = std::make_shared<TinyNetImpl>();
  net->eval();
  at::Tensor x = bnrecal::testing::random_batches({4})[0];
  torch::NoGradGuard g;
  auto run = [&](uint64_t seed) {
    apply_policy(*net, PolicySpec::parse("fp32 noise=seed-003 eta=0.1"), seed);
    return std::make_pair(net->forward(x), net->forward(x));
  };
  auto a = run(1), b = run(1), c = run(2);
  EXPECT_TRUE(a.first.equal(b.first));
  EXPECT_TRUE(a.second.equal(b.second));
  EXPECT_FALSE(a.first.equal(a.second));  // temporal noise re-drawn per batch
  EXPECT_FALSE(a.first.equal(c.first));
}

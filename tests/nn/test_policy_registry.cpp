#include <gtest/gtest.h>
#include <torch/torch.h>

#include "bnrecal/core/error.h"
#include "test_support.h"
#include "bnrecal/nn/a8w8_policy.h"
#include "bnrecal/nn/calibration.h"
#include "bnrecal/nn/policy_registry.h"
#include "bnrecal/nn/policy_resolution.h"
#include "sysmt_test_support.h"
#include "tiny_net.h"

using namespace bnrecal;
using bnrecal::testing::TinyNetImpl;
using bnrecal::testing::calibration_of;

namespace {
}  // namespace

TEST(PolicyRegistry, ParseSpecString) {
  PolicySpec s = PolicySpec::parse("a8w8 noise=seed-003 eta=0.04 override=fc=fp32 override=layer1.*=a8w8");
  EXPECT_EQ(s.policy, "a8w8");
  EXPECT_EQ(s.noise.preset, "seed-003");
  EXPECT_DOUBLE_EQ(s.noise.params.eta, 0.04);
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
  std::string m = bnrecal::testing::input_error_message([] { PolicySpec::parse("int4"); });
  EXPECT_NE(m.find("a8w8"), std::string::npos);
  EXPECT_NE(m.find("fp32"), std::string::npos);
  m = bnrecal::testing::input_error_message([] { PolicySpec::parse("fp32 noise=pink eta=0.1"); });
  EXPECT_NE(m.find("seed-003"), std::string::npos);
  EXPECT_FALSE(bnrecal::testing::input_error_message([] { PolicySpec::parse("fp32 noise=relative eta=-1"); }).empty());
  EXPECT_FALSE(bnrecal::testing::input_error_message([] { PolicySpec::parse("fp32 colour=red"); }).empty());
}

TEST(PolicyRegistry, A8W8LeavesFirstConvAndFcInFp32ByDefault) {
  auto net = std::make_shared<TinyNetImpl>();
  const ModelCalibration cal = calibration_of(*net);
  apply_policy(*net, PolicySpec::parse("a8w8"), 1, cal);
  EXPECT_EQ(net->policy_names(), (std::vector<std::string>{"fp32", "a8w8", "fp32"}));
  nlohmann::json summary = policy_summary(*net);
  ASSERT_EQ(summary.size(), 3u);
  EXPECT_EQ(summary[1]["name"], "conv2");
  EXPECT_EQ(summary[1]["policy"]["policy"], "a8w8");
  EXPECT_NEAR(summary[1]["policy"]["a_max"].get<double>(),
              cal.activations->layers.at("conv2").a_max, 1e-12);
  // Overrides: exact and glob; last match wins.
  apply_policy(*net, PolicySpec::parse("a8w8 override=conv*=fp32 override=conv2=a8w8"), 1, cal);
  EXPECT_EQ(net->conv1->policy().name(), "fp32");
  EXPECT_EQ(net->conv2->policy().name(), "a8w8");
}

TEST(PolicyRegistry, A8W8OnSignedFirstConvIsRefused) {
  auto net = std::make_shared<TinyNetImpl>();
  const ModelCalibration cal = calibration_of(*net);
  std::string m = bnrecal::testing::input_error_message([&] { apply_policy(*net, PolicySpec::parse("a8w8 override=conv1=a8w8"), 1, cal); });
  EXPECT_NE(m.find("conv1"), std::string::npos);
  EXPECT_EQ(net->conv2->policy().name(), "fp32");  // untouched on failure
  apply_policy(*net, PolicySpec::parse("a8w8 override=conv1=a8w8 activations=signed"), 1, cal);
  EXPECT_EQ(net->conv1->policy().name(), "a8w8");
}

TEST(PolicyRegistry, A8W8WithoutCalibrationNamesTheCommand) {
  auto net = std::make_shared<TinyNetImpl>();
  std::string m = bnrecal::testing::input_error_message([&] { apply_policy(*net, PolicySpec::parse("a8w8"), 1); });
  EXPECT_NE(m.find("bnrecal calibrate"), std::string::npos);
}

TEST(PolicyRegistry, OverrideMatchingNothingIsInputError) {
  auto net = std::make_shared<TinyNetImpl>();
  std::string m = bnrecal::testing::input_error_message([&] { apply_policy(*net, PolicySpec::parse("fp32 override=layer9=fp32"), 1); });
  EXPECT_NE(m.find("layer9"), std::string::npos);
}

TEST(PolicyRegistry, NoiseWrapsEveryLayerAndCombinesWithA8W8) {
  auto net = std::make_shared<TinyNetImpl>();
  const ModelCalibration cal = calibration_of(*net);
  apply_policy(*net, PolicySpec::parse("a8w8 noise=seed-003 eta=0.04"), 3, cal);
  EXPECT_EQ(net->policy_names(), (std::vector<std::string>{"fp32+noise", "a8w8+noise", "fp32+noise"}));
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

TEST(PolicySpec, UnknownKeysNameTheKeyAndTheValidOnes) {
  std::string m = bnrecal::testing::input_error_message([] { PolicySpec::parse("sysmt threads=4"); });
  EXPECT_NE(m.find("'threads'"), std::string::npos) << m;
  for (const char* valid : {"smt", "idle", "round", "activations", "override", "eta"})
    EXPECT_NE(m.find(valid), std::string::npos) << valid << ": " << m;
  m = bnrecal::testing::input_error_message([] { PolicySpec::from_json({{"policy", "a8w8"}, {"params", {{"bits", 4}}}}); });
  EXPECT_NE(m.find("'bits'"), std::string::npos) << m;
  m = bnrecal::testing::input_error_message([] { PolicySpec::from_json({{"policy", "a8w8"}, {"overides", nlohmann::json::array()}}); });
  EXPECT_NE(m.find("'overides'"), std::string::npos) << m;
}

TEST(PolicySpec, ParameterValuesAreCheckedAgainstTheirDeclarations) {
  EXPECT_NE(bnrecal::testing::input_error_message([] { PolicySpec::parse("sysmt smt=3"); }).find("smt=1|2|4"), std::string::npos);
  EXPECT_FALSE(bnrecal::testing::input_error_message([] { PolicySpec::parse("sysmt smt=two"); }).empty());
  EXPECT_FALSE(bnrecal::testing::input_error_message([] { PolicySpec::parse("sysmt diagnostics=yes"); }).empty());
  EXPECT_FALSE(bnrecal::testing::input_error_message([] { PolicySpec::from_json({{"policy", "sysmt"}, {"params", {{"smt", "2"}}}}); }).empty());
  EXPECT_EQ(PolicySpec::parse("sysmt smt=4").param("smt"), 4);
  EXPECT_EQ(PolicySpec::parse("sysmt").param("smt"), 2);  // the declared default
}

TEST(PolicySpec, ReadsThePreRegistryJsonOfOlderCheckpoints) {
  const nlohmann::json legacy = {{"policy", "sysmt"},
                                 {"activations", "unsigned"},
                                 {"overrides", {{{"pattern", "fc"}, {"policy", "a8w8"}}}},
                                 {"sysmt", {{"threads", 4}, {"idle", "act"}, {"round", "trunc"}, {"diagnostics", false}}},
                                 {"noise", nullptr}};
  const PolicySpec s = PolicySpec::from_json(legacy);
  EXPECT_EQ(s.to_text(), "sysmt smt=4 idle=act round=trunc override=fc=a8w8");
  EXPECT_EQ(PolicySpec::from_json(s.to_json()).to_json(), s.to_json());
}

// The extension point: a policy is one entry; specs, resolution and overrides need nothing else.
TEST(PolicyRegistry, ANewPolicyIsOneRegistration) {
  PolicyEntry e;
  e.name = "test_scaled";
  e.description = "fp32 times a factor (test only)";
  e.params = {ParamDef::number("test_factor", 2.0, "output scale").range(0, 10)};
  e.factory = [](const LayerInfo&, const PolicyContext& ctx) -> std::shared_ptr<ArithPolicy> {
    struct Scaled : Fp32Policy {
      double factor = 1;
      std::string name() const override { return "test_scaled"; }
      at::Tensor linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) override {
        return Fp32Policy::linear(x, w, b) * factor;
      }
    };
    auto p = std::make_shared<Scaled>();
    p->factor = ctx.params.get<double>("test_factor");
    return p;
  };
  register_policy(e);
  EXPECT_THROW(register_policy(e), std::logic_error);  // a name is registered once
  auto net = std::make_shared<TinyNetImpl>();
  apply_policy(*net, PolicySpec::parse("fp32 override=fc=test_scaled test_factor=3"), 1);
  EXPECT_EQ(net->fc->policy().name(), "test_scaled");
  EXPECT_EQ(net->conv2->policy().name(), "fp32");
  EXPECT_EQ(PolicySpec::parse("fp32 override=fc=test_scaled test_factor=3").to_text(),
            "fp32 test_factor=3.0 override=fc=test_scaled");
  EXPECT_FALSE(bnrecal::testing::input_error_message([] { PolicySpec::parse("fp32 test_factor=11"); }).empty());
  PolicyEntry clash = e;
  clash.name = "test_clash";
  clash.params = {ParamDef::integer("smt", 8, "a different smt")};
  EXPECT_THROW(register_policy(clash), std::logic_error);  // one key, one meaning
}

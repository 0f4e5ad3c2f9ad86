#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "bnrecal/core/error.h"
#include "bnrecal/nn/noise_policy.h"

using namespace bnrecal;

namespace {
LayerInfo conv_info(const std::string& name, int64_t o = 64, int64_t i = 64) {
  LayerInfo info;
  info.name = name;
  info.in_channels = i;
  info.out_channels = o;
  info.kernel = {3, 3};
  return info;
}
NoisyWeightsPolicy make(const std::string& preset, double eta, uint64_t seed,
                        const std::string& name = "layer1.0.conv1") {
  return NoisyWeightsPolicy(std::make_shared<Fp32Policy>(), noise_preset(preset, eta), conv_info(name), seed);
}
// Tolerance for a sample mean: 5 standard errors.
double mean_tol(double std, int64_t n) { return 5 * std / std::sqrt(double(n)) + 1e-7; }
}  // namespace

TEST(NoisePolicy, SameSeedGivesBitIdenticalWeights) {
  at::Tensor w = torch::randn({64, 64, 3, 3});
  auto a = make("seed-003", 0.04, 11), b = make("seed-003", 0.04, 11);
  for (int batch = 0; batch < 3; ++batch) EXPECT_TRUE(a.noisy_weight(w).equal(b.noisy_weight(w)));
  auto c = make("seed-003", 0.04, 12);
  EXPECT_FALSE(make("seed-003", 0.04, 11).noisy_weight(w).equal(c.noisy_weight(w)));
}

TEST(NoisePolicy, LayerNameChangesTheDrawsButNotTheOrder) {
  at::Tensor w = torch::randn({64, 64, 3, 3});
  auto a = make("relative", 0.1, 3, "conv1");
  auto b = make("relative", 0.1, 3, "conv2");
  EXPECT_FALSE(a.noisy_weight(w).equal(b.noisy_weight(w)));
  // Creating other layers first does not change conv2's draws.
  auto b2 = make("relative", 0.1, 3, "conv2");
  EXPECT_TRUE(make("relative", 0.1, 3, "conv2").noisy_weight(w).equal(b2.noisy_weight(w)));
}

TEST(NoisePolicy, DrawsDoNotDependOnThreadCount) {
  at::Tensor w = torch::randn({64, 64, 3, 3});
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  at::Tensor one = make("seed-003", 0.06, 5).noisy_weight(w);
  at::set_num_threads(std::max(2, threads));
  at::Tensor many = make("seed-003", 0.06, 5).noisy_weight(w);
  at::set_num_threads(threads);
  EXPECT_TRUE(one.equal(many));
}

TEST(NoisePolicy, TemporalFactorsChangeBetweenBatchesSpatialOnesDoNot) {
  at::Tensor w = torch::ones({64, 64, 3, 3});
  auto p = make("seed-003", 0.05, 9);
  at::Tensor spatial = p.spatial_draw(1).clone();
  at::Tensor first = p.noisy_weight(w), second = p.noisy_weight(w);
  EXPECT_FALSE(first.equal(second));
  EXPECT_TRUE(p.spatial_draw(1).equal(spatial));
  EXPECT_FALSE(p.spatial_draw(0).defined());
  // With the temporal spread at zero, only the (fixed) spatial factor remains.
  NoisePresetParams params;
  params.eta = 0.05;
  params.sigma_t = 0.0;
  NoisyWeightsPolicy q(std::make_shared<Fp32Policy>(), noise_preset("seed-003", params), conv_info("x"), 9);
  EXPECT_TRUE(q.noisy_weight(w).equal(q.noisy_weight(w)));
  EXPECT_EQ(q.forward_count(), 2);
}

TEST(NoisePolicy, Seed003FactorStatisticsMatchThePreset) {
  const double eta = 0.04;
  at::Tensor w = torch::ones({64, 64, 3, 3});
  auto p = make("seed-003", eta, 21);
  at::Tensor ns = p.spatial_draw(1).to(at::kDouble);
  const int64_t n = ns.numel();
  EXPECT_NEAR(ns.mean().item<double>(), 1.0, mean_tol(0.1, n));
  EXPECT_NEAR(ns.std().item<double>(), 0.1, 5 * 0.1 / std::sqrt(2.0 * n));
  // W = 1: W_noisy - 1 = N_T * N_S, so N_T = (W_noisy - 1) / N_S.
  at::Tensor nt = (p.noisy_weight(w).to(at::kDouble) - 1) / ns;
  EXPECT_NEAR(nt.mean().item<double>(), eta, mean_tol(0.2 * eta, n));
  EXPECT_NEAR(nt.std().item<double>(), 0.2 * eta, 5 * 0.2 * eta / std::sqrt(2.0 * n) + 1e-6);
}

TEST(NoisePolicy, RelativeAndAdditiveMaxPresets) {
  const double eta = 0.1;
  at::Tensor w = torch::full({64, 64, 3, 3}, 2.0);
  w[0][0][0][0] = -4.0;  // max |W| = 4
  auto rel = make("relative", eta, 1);
  at::Tensor xi = (rel.noisy_weight(w).to(at::kDouble) / w.to(at::kDouble) - 1);
  const int64_t n = xi.numel();
  EXPECT_NEAR(xi.mean().item<double>(), 0.0, mean_tol(eta, n));
  EXPECT_NEAR(xi.std().item<double>(), eta, 5 * eta / std::sqrt(2.0 * n));
  auto add = make("additive-max", eta, 1);
  at::Tensor d = (add.noisy_weight(w) - w).to(at::kDouble) / 4.0;
  EXPECT_NEAR(d.mean().item<double>(), 0.0, mean_tol(eta, n));
  EXPECT_NEAR(d.std().item<double>(), eta, 5 * eta / std::sqrt(2.0 * n));
}

TEST(NoisePolicy, EtaZeroIsIdentity) {
  at::Tensor w = torch::randn({64, 64, 3, 3});
  for (const auto& preset : {"seed-003", "relative", "additive-max"}) {
    EXPECT_TRUE(make(preset, 0.0, 1).noisy_weight(w).equal(w)) << preset;
    EXPECT_TRUE(noise_preset(preset, 0.0).is_identity());
  }
}

TEST(NoisePolicy, BadPresetOrEtaIsInputError) {
  try {
    noise_preset("gaussian", 0.1);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("seed-003"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("additive-max"), std::string::npos);
  }
  EXPECT_THROW(noise_preset("seed-003", -0.01), InputError);
}

TEST(NoisePolicy, GeneralModelRoundTripsThroughJson) {
  NoiseModel m;
  m.factors.push_back({0.0, 0.05, false, false});  // one value per layer, drawn once
  NoiseModel back = NoiseModel::from_json(m.to_json());
  ASSERT_EQ(back.factors.size(), 1u);
  EXPECT_FALSE(back.factors[0].per_weight);
  EXPECT_FALSE(back.factors[0].redraw_per_batch);
  at::Tensor w = torch::ones({64, 64, 3, 3});
  NoisyWeightsPolicy p(std::make_shared<Fp32Policy>(), back, conv_info("x"), 4);
  at::Tensor a = p.noisy_weight(w);
  // Per-layer factor: every weight scaled the same; drawn once: same next batch.
  EXPECT_TRUE(a.eq(a.flatten()[0]).all().item<bool>());
  EXPECT_TRUE(p.noisy_weight(w).equal(a));
}

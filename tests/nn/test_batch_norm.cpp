// bnrecal::BatchNorm2d against torch::nn::BatchNorm2d: same names, same outputs and running
// statistics in every mode (eval, training with grad, training under no-grad where its own
// batch-statistics path runs), the observer, and the errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "bnrecal/nn/batch_norm.h"

namespace bnrecal {
namespace {

// A stock and a bnrecal BN with the same options, affine parameters and running statistics.
struct Pair {
  torch::nn::BatchNorm2d stock{nullptr};
  BatchNorm2d ours{nullptr};
  explicit Pair(const BatchNorm2dOptions& options, uint64_t seed = 3) {
    stock = torch::nn::BatchNorm2d(options);
    ours = BatchNorm2d(options);
    torch::NoGradGuard g;
    torch::manual_seed(seed);
    if (options.affine()) {
      stock->weight.uniform_(0.5, 1.5);
      stock->bias.uniform_(-0.5, 0.5);
      ours->weight.copy_(stock->weight);
      ours->bias.copy_(stock->bias);
    }
    if (options.track_running_stats()) {
      stock->running_mean.uniform_(-1, 1);
      stock->running_var.uniform_(0.5, 2);
      ours->running_mean.copy_(stock->running_mean);
      ours->running_var.copy_(stock->running_var);
    }
  }
  void expect_same_state(const char* where) const {
    if (!stock->options.track_running_stats()) return;
    EXPECT_TRUE(at::allclose(ours->running_mean, stock->running_mean, 1e-6, 1e-6)) << where;
    EXPECT_TRUE(at::allclose(ours->running_var, stock->running_var, 1e-6, 1e-6)) << where;
    EXPECT_TRUE(ours->num_batches_tracked.equal(stock->num_batches_tracked)) << where;
  }
};

at::Tensor activations(int64_t n, int64_t c, int64_t hw, uint64_t seed) {
  torch::manual_seed(seed);
  return torch::randn({n, c, hw, hw}) * 2 + 0.7;
}

TEST(BatchNorm2d, HasTheStockModulesParameterAndBufferNames) {
  Pair p(BatchNorm2dOptions(5));
  auto names = [](const torch::nn::Module& m) {
    std::vector<std::string> out;
    for (const auto& t : m.named_parameters()) out.push_back("p:" + t.key());
    for (const auto& t : m.named_buffers()) out.push_back("b:" + t.key());
    return out;
  };
  EXPECT_EQ(names(*p.ours), names(*p.stock));
  BatchNorm2d fresh(5);
  EXPECT_TRUE(fresh->weight.equal(torch::ones({5})));
  EXPECT_TRUE(fresh->bias.equal(torch::zeros({5})));
  EXPECT_TRUE(fresh->running_var.equal(torch::ones({5})));
  EXPECT_EQ(fresh->num_batches_tracked.item<int64_t>(), 0);
}

struct ModeCase {
  const char* name;
  bool training, grad;
  c10::optional<double> momentum;
};

class BatchNormModeTest : public ::testing::TestWithParam<ModeCase> {};

TEST_P(BatchNormModeTest, MatchesStockOutputsAndRunningStatistics) {
  const ModeCase mode = GetParam();
  Pair p(BatchNorm2dOptions(6).momentum(mode.momentum).eps(1e-3));
  p.stock->train(mode.training);
  p.ours->train(mode.training);
  torch::AutoGradMode grad(mode.grad);
  for (int t = 0; t < 3; ++t) {
    const at::Tensor x = activations(4 + t, 6, 5, 10 + t);
    const at::Tensor want = p.stock(x), got = p.ours(x);
    EXPECT_TRUE(at::allclose(got, want, 1e-5, 1e-5)) << mode.name << " batch " << t;
    p.expect_same_state(mode.name);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Modes, BatchNormModeTest,
    ::testing::Values(ModeCase{"eval", false, false, 0.1},
                      ModeCase{"train_with_grad", true, true, 0.1},
                      ModeCase{"train_no_grad", true, false, 0.1},
                      ModeCase{"train_no_grad_cumulative", true, false, c10::nullopt},
                      ModeCase{"train_no_grad_momentum_1", true, false, 1.0}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(BatchNorm2d, GradientsMatchStockInTraining) {
  Pair p(BatchNorm2dOptions(3));
  const at::Tensor x = activations(4, 3, 4, 2);
  const at::Tensor xs = x.clone().requires_grad_(true), xo = x.clone().requires_grad_(true);
  (p.stock(xs) * torch::arange(3).view({1, 3, 1, 1})).sum().backward();
  (p.ours(xo) * torch::arange(3).view({1, 3, 1, 1})).sum().backward();
  EXPECT_TRUE(at::allclose(xo.grad(), xs.grad(), 1e-5, 1e-6));
  EXPECT_TRUE(at::allclose(p.ours->weight.grad(), p.stock->weight.grad(), 1e-5, 1e-6));
}

TEST(BatchNorm2d, NonContiguousAndDoubleInputsTakeTheGeneralPathWithTheSameResult) {
  torch::NoGradGuard g;
  const at::Tensor x = activations(5, 4, 6, 4);
  for (const at::Tensor& input : {x.contiguous(at::MemoryFormat::ChannelsLast), x.to(at::kDouble)}) {
    Pair p(BatchNorm2dOptions(4));
    if (input.scalar_type() == at::kDouble) {
      p.stock->to(at::kDouble);
      p.ours->to(at::kDouble);
    }
    const at::Tensor want = p.stock(input), got = p.ours(input);
    EXPECT_TRUE(at::allclose(got, want, 1e-5, 1e-5)) << input.scalar_type();
    p.expect_same_state("general path");
  }
}

TEST(BatchNorm2d, WithoutRunningStatisticsUsesBatchStatisticsLikeStock) {
  torch::NoGradGuard g;
  Pair p(BatchNorm2dOptions(3).track_running_stats(false).affine(false));
  p.stock->eval();
  p.ours->eval();
  const at::Tensor x = activations(3, 3, 4, 6);
  EXPECT_TRUE(at::allclose(p.ours(x), p.stock(x), 1e-5, 1e-5));
}

TEST(BatchNorm2d, ObserverSeesEachNoGradTrainingBatchOnly) {
  BatchNorm2d bn(3);
  std::vector<BatchMoments> seen;
  bn->observe_batch_moments([&](const BatchMoments& m) { seen.push_back(m); });
  const at::Tensor x = activations(4, 3, 5, 8);
  {
    torch::NoGradGuard g;
    bn(x);
    bn->eval();
    bn(x);  // eval: running statistics, nothing to report
    bn->train();
  }
  bn(x);  // grad mode (training): the stock path
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].count, 4 * 5 * 5);
  const at::Tensor xd = x.to(at::kDouble);
  const at::Tensor mean = xd.mean({0, 2, 3});
  EXPECT_TRUE(at::allclose(seen[0].mean, mean, 1e-6, 1e-6));
  EXPECT_TRUE(at::allclose(seen[0].m2, (xd - mean.view({1, 3, 1, 1})).pow(2).sum({0, 2, 3}), 1e-6, 1e-6));
  bn->observe_batch_moments(nullptr);
  torch::NoGradGuard g;
  bn(x);
  EXPECT_EQ(seen.size(), 1u);
}

TEST(BatchNorm2d, BadInputsAreRejectedLikeStock) {
  torch::NoGradGuard g;
  BatchNorm2d bn(2);
  EXPECT_THROW(bn(torch::randn({1, 2, 1, 1})), c10::Error);  // one value per channel
  EXPECT_THROW(bn(torch::randn({4, 2, 3})), c10::Error);     // not 4D
  bn->eval();
  EXPECT_NO_THROW(bn(torch::randn({1, 2, 1, 1})));  // fine with running statistics
}

TEST(BatchNorm2d, BatchMomentsOfTheFastAndGeneralPathsAgree) {
  const at::Tensor x = activations(7, 5, 9, 12) * 10 + 100;
  const BatchMoments fast = batch_moments(x);
  const BatchMoments general = batch_moments(x.to(at::kDouble));
  EXPECT_EQ(fast.count, general.count);
  EXPECT_TRUE(at::allclose(fast.mean, general.mean, 1e-7, 1e-6));
  EXPECT_TRUE(at::allclose(fast.m2, general.m2, 1e-6, 1e-6));
}

}  // namespace
}  // namespace bnrecal

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "tiny_net.h"
#include "bnrecal/core/error.h"
#include "bnrecal/nn/noise_policy.h"
#include "bnrecal/nn/policy_resolution.h"
#include "bnrecal/recal/pooled_stats.h"
#include "bnrecal/recal/recalibrate.h"

using namespace bnrecal;
using bnrecal::testing::TinyNetImpl;

namespace {

struct Stats {
  at::Tensor mean, var;  // float64
};

// Biased and unbiased per-channel statistics of NCHW activations, in float64.
std::pair<at::Tensor, at::Tensor> batch_stats(const at::Tensor& a) {
  at::Tensor x = a.to(at::kDouble);
  const double n = double(x.numel() / x.size(1));
  at::Tensor mean = x.mean({0, 2, 3});
  at::Tensor biased = (x - mean.reshape({1, -1, 1, 1})).pow(2).mean({0, 2, 3});
  return {mean, biased * (n / (n - 1))};
}

// The closed-form estimate of each estimator from the per-batch pre-BN activations.
Stats reference(Estimator e, const std::vector<at::Tensor>& pre_bn, const Stats& start, double m) {
  Stats r = start;
  if (e == Estimator::kPooled) {
    at::Tensor all = at::cat(pre_bn, 0).to(at::kDouble).transpose(0, 1).reshape({pre_bn[0].size(1), -1});
    return {all.mean(1), all.var(1, /*unbiased=*/true)};
  }
  if (e != Estimator::kEma) {
    r.mean = at::zeros_like(start.mean);
    r.var = at::ones_like(start.var);
  }
  for (size_t t = 0; t < pre_bn.size(); ++t) {
    auto [bm, bv] = batch_stats(pre_bn[t]);
    double k = m;
    if (e == Estimator::kCumulative) k = 1.0 / double(t + 1);
    if (e == Estimator::kFinal) k = 1.0;
    r.mean = (1 - k) * r.mean + k * bm;
    r.var = (1 - k) * r.var + k * bv;
  }
  return r;
}

Stats current(const BatchNorm2d& bn) {
  return {bn->running_mean.to(at::kDouble).clone(), bn->running_var.to(at::kDouble).clone()};
}

// Pre-BN activations as a one-pass recalibration sees them: bn1 in training mode (batch
// statistics), dropout off.
std::pair<std::vector<at::Tensor>, std::vector<at::Tensor>> pre_bn_one_pass(
    TinyNetImpl& net, const std::vector<at::Tensor>& batches) {
  torch::NoGradGuard g;
  std::vector<at::Tensor> a1, a2;
  for (const auto& x : batches) {
    at::Tensor c1 = net.conv1(x);
    at::Tensor n1 = at::batch_norm(c1, net.bn1->weight, net.bn1->bias, {}, {}, true, 0.0, 1e-5, false);
    a1.push_back(c1);
    a2.push_back(net.conv2(torch::relu(n1)));
  }
  return {a1, a2};
}

void expect_close(const at::Tensor& got, const at::Tensor& want, const char* what) {
  EXPECT_TRUE(at::allclose(got.to(at::kDouble), want, 1e-5, 1e-5))
      << what << "\n got " << got << "\n want " << want;
}

class EstimatorTest : public ::testing::TestWithParam<Estimator> {};

}  // namespace

TEST_P(EstimatorTest, MatchesClosedFormReference) {
  const Estimator e = GetParam();
  auto net = std::make_shared<TinyNetImpl>();
  net->randomize_bn(4);
  auto batches = bnrecal::testing::random_batches({6, 5, 7});
  auto [a1, a2] = pre_bn_one_pass(*net, batches);
  const double m = 0.3;
  Stats ref1 = reference(e, a1, current(net->bn1), m);
  Stats ref2 = reference(e, a2, current(net->bn2), m);
  at::Tensor gamma = net->bn1->weight.clone(), beta = net->bn2->bias.clone();

  TensorBatchStream stream(batches);
  RecalOptions opt;
  opt.estimator = e;
  opt.momentum = m;
  RecalReport report = recalibrate_bn(*net, stream, opt);
  EXPECT_EQ(report.images, 18);
  EXPECT_EQ(report.batches, 3);
  expect_close(net->bn1->running_mean, ref1.mean, "bn1 mean");
  expect_close(net->bn1->running_var, ref1.var, "bn1 var");
  // bn2's inputs depend on dropout: equality shows dropout stayed off.
  expect_close(net->bn2->running_mean, ref2.mean, "bn2 mean");
  expect_close(net->bn2->running_var, ref2.var, "bn2 var");
  EXPECT_TRUE(net->bn1->weight.equal(gamma));
  EXPECT_TRUE(net->bn2->bias.equal(beta));
  EXPECT_TRUE(net->is_training());  // mode restored (modules start in training mode)
  EXPECT_DOUBLE_EQ(net->bn1->options.momentum().value(), 0.1);  // momentum restored
}

INSTANTIATE_TEST_SUITE_P(AllEstimators, EstimatorTest,
                         ::testing::Values(Estimator::kEma, Estimator::kEmaReset, Estimator::kCumulative,
                                           Estimator::kFinal, Estimator::kPooled),
                         [](const auto& info) {
                           std::string n = estimator_name(info.param);
                           n.erase(std::remove(n.begin(), n.end(), '-'), n.end());
                           return n;
                         });

TEST(Recalibrate, PooledIsIndependentOfBatchOrderAndSize) {
  auto batches = bnrecal::testing::random_batches({4, 6, 6});
  at::Tensor all = at::cat(batches, 0);
  std::vector<at::Tensor> reordered = {batches[2], batches[0], batches[1]};
  std::vector<at::Tensor> resized = {all.slice(0, 0, 9), all.slice(0, 9, 16)};
  std::vector<at::Tensor> single = {all};
  std::vector<Stats> results;
  for (const auto& split : {batches, reordered, resized, single}) {
    auto net = std::make_shared<TinyNetImpl>();  // same init: seeded below
    torch::manual_seed(0);
    net = std::make_shared<TinyNetImpl>();
    TensorBatchStream stream(split);
    RecalOptions opt;
    opt.estimator = Estimator::kPooled;
    opt.sequential = true;  // every layer's inputs then depend on the image alone
    recalibrate_bn(*net, stream, opt);
    results.push_back(current(net->bn2));
  }
  for (size_t i = 1; i < results.size(); ++i) {
    EXPECT_TRUE(at::allclose(results[i].mean, results[0].mean, 1e-6, 1e-7)) << i;
    EXPECT_TRUE(at::allclose(results[i].var, results[0].var, 1e-6, 1e-7)) << i;
  }
}

TEST(Recalibrate, ChanMergeEqualsDirectComputation) {
  torch::manual_seed(8);
  at::Tensor a = torch::randn({3, 2, 4, 4}) * 3 + 1, b = torch::randn({5, 2, 4, 4}) - 2;
  PooledChannelStats s(2);
  for (const at::Tensor& batch : {b, a}) {
    at::Tensor x = batch.to(at::kDouble).transpose(0, 1).reshape({2, -1});
    at::Tensor mean = x.mean(1);
    s.merge(x.size(1), mean, (x - mean.unsqueeze(1)).pow(2).sum(1));
  }
  at::Tensor all = at::cat({a, b}, 0).to(at::kDouble).transpose(0, 1).reshape({2, -1});
  EXPECT_TRUE(at::allclose(s.mean(), all.mean(1), 1e-12, 1e-12));
  EXPECT_TRUE(at::allclose(s.unbiased_variance(), all.var(1, true), 1e-12, 1e-12));
  EXPECT_TRUE(at::allclose(s.biased_variance(), all.var(1, false), 1e-12, 1e-12));
  EXPECT_EQ(s.count(), 8 * 16);
}

TEST(Recalibrate, UndoRestoresBitIdenticalStatistics) {
  auto net = std::make_shared<TinyNetImpl>();
  net->randomize_bn(5);
  auto before1 = net->bn1->running_var.clone(), before2 = net->bn2->running_mean.clone();
  auto tracked = net->bn2->num_batches_tracked.clone();
  BnSnapshot snap(*net);
  TensorBatchStream stream(bnrecal::testing::random_batches({4, 4}));
  RecalOptions opt;
  opt.estimator = Estimator::kCumulative;
  recalibrate_bn(*net, stream, opt);
  EXPECT_FALSE(net->bn1->running_var.equal(before1));
  snap.restore(*net);
  EXPECT_TRUE(net->bn1->running_var.equal(before1));
  EXPECT_TRUE(net->bn2->running_mean.equal(before2));
  EXPECT_TRUE(net->bn2->num_batches_tracked.equal(tracked));
}

TEST(Recalibrate, UndoRestoresGammaAndBeta) {
  // Re-normalization layers take a new gamma/beta with each clean target; the snapshot undoes it.
  auto net = std::make_shared<TinyNetImpl>();
  net->randomize_bn(5);
  const auto gamma = net->bn1->weight.detach().clone(), beta = net->bn2->bias.detach().clone();
  BnSnapshot snap(*net);
  make_identity_at_running_statistics(*net, {"bn1", "bn2"});
  EXPECT_FALSE(net->bn1->weight.equal(gamma));
  EXPECT_FALSE(net->bn2->bias.equal(beta));
  snap.restore(*net);
  EXPECT_TRUE(net->bn1->weight.equal(gamma));
  EXPECT_TRUE(net->bn2->bias.equal(beta));
}

TEST(Recalibrate, SequentialDiffersFromOnePassWhereItShould) {
  auto batches = bnrecal::testing::random_batches({5, 5, 5});
  auto make = [] {
    torch::manual_seed(0);
    auto n = std::make_shared<TinyNetImpl>();
    n->randomize_bn(6);
    return n;
  };
  auto one = make(), seq = make();
  RecalOptions opt;
  opt.estimator = Estimator::kPooled;
  TensorBatchStream s1(batches), s2(batches);
  recalibrate_bn(*one, s1, opt);
  opt.sequential = true;
  RecalReport r = recalibrate_bn(*seq, s2, opt);
  EXPECT_EQ(r.passes, 2);
  // The first layer sees the same inputs either way.
  EXPECT_TRUE(seq->bn1->running_mean.equal(one->bn1->running_mean));
  EXPECT_TRUE(seq->bn1->running_var.equal(one->bn1->running_var));
  // The second differs: sequentially, bn1 normalizes with its new running statistics.
  EXPECT_GT((seq->bn2->running_var - one->bn2->running_var).abs().max().item<double>(), 1e-4);
  // ... and equals the reference computed that way.
  torch::NoGradGuard g;
  seq->eval();
  std::vector<at::Tensor> a2;
  for (const auto& x : batches) a2.push_back(seq->conv2(torch::relu(seq->bn1(seq->conv1(x)))));
  Stats ref = reference(Estimator::kPooled, a2, current(seq->bn2), 0);
  expect_close(seq->bn2->running_mean, ref.mean, "seq bn2 mean");
  expect_close(seq->bn2->running_var, ref.var, "seq bn2 var");
}

TEST(Recalibrate, LayerSelectionByPattern) {
  auto net = std::make_shared<TinyNetImpl>();
  net->randomize_bn(7);
  auto bn2_before = net->bn2->running_mean.clone();
  TensorBatchStream stream(bnrecal::testing::random_batches({4}));
  RecalOptions opt;
  opt.estimator = Estimator::kFinal;
  opt.layers = {"bn1"};
  RecalReport r = recalibrate_bn(*net, stream, opt);
  ASSERT_EQ(r.layers.size(), 1u);
  EXPECT_TRUE(net->bn2->running_mean.equal(bn2_before));
  opt.layers = {"nothing*"};
  EXPECT_THROW(recalibrate_bn(*net, stream, opt), InputError);
}

TEST(Recalibrate, TemporalNoiseIsRedrawnEveryBatch) {
  auto net = std::make_shared<TinyNetImpl>();
  apply_policy(*net, PolicySpec::parse("fp32 noise=seed-003 eta=0.05"), 1);
  TensorBatchStream stream(bnrecal::testing::random_batches({3, 3, 3, 3}));
  RecalOptions opt;
  opt.estimator = Estimator::kEmaReset;
  recalibrate_bn(*net, stream, opt);
  auto* noisy = dynamic_cast<NoisyWeightsPolicy*>(&net->conv2->policy());
  ASSERT_NE(noisy, nullptr);
  EXPECT_EQ(noisy->forward_count(), 4);
}

TEST(Recalibrate, BadInputIsInputErrorAndLeavesTheModelUnchanged) {
  EXPECT_THROW(parse_estimator("median"), InputError);
  EXPECT_THROW(momentum_from_decay(1.5), InputError);
  EXPECT_DOUBLE_EQ(momentum_from_decay(0.999), 1.0 - 0.999);
  auto net = std::make_shared<TinyNetImpl>();
  net->randomize_bn(1);
  auto before = net->bn1->running_mean.clone();
  TensorBatchStream stream(bnrecal::testing::random_batches({2}));
  RecalOptions opt;
  opt.momentum = 1.5;
  EXPECT_THROW(recalibrate_bn(*net, stream, opt), InputError);
  opt.momentum = -0.1;
  EXPECT_THROW(recalibrate_bn(*net, stream, opt), InputError);
  TensorBatchStream empty({});
  opt.momentum = 0.1;
  EXPECT_THROW(recalibrate_bn(*net, empty, opt), InputError);
  EXPECT_TRUE(net->bn1->running_mean.equal(before));
  bnrecal::testing::NoBnNet plain;
  EXPECT_THROW(recalibrate_bn(plain, stream, opt), InputError);
}

TEST(Recalibrate, StockBatchNormIsRefusedByName) {
  // Recalibration needs bnrecal::BatchNorm2d (batch statistics for the pooled estimator); a
  // stock torch::nn::BatchNorm2d would silently take another code path, so it is refused.
  struct StockBnNet : Network {
    StockBnNet() { bn = register_module("bn", torch::nn::BatchNorm2d(1)); }
    at::Tensor forward(at::Tensor x) override { return bn(x); }
    torch::nn::BatchNorm2d bn{nullptr};
  } net;
  TensorBatchStream stream(bnrecal::testing::random_batches({2}));
  try {
    recalibrate_bn(net, stream, RecalOptions{});
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("'bn' is a stock torch::nn::BatchNorm2d"), std::string::npos)
        << e.what();
  }
}

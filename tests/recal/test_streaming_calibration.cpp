#include <gtest/gtest.h>
#include <torch/torch.h>

#include "test_support.h"
#include "tiny_net.h"
#include "bnrecal/recal/streaming_calibration.h"

using namespace bnrecal;
using bnrecal::testing::TinyNetImpl;

namespace {

std::shared_ptr<TinyNetImpl> random_tiny_net() {
  auto net = std::make_shared<TinyNetImpl>();
  net->randomize_bn(3);
  net->eval();
  return net;
}

// The model's outputs on each batch in turn, under no-grad.
std::vector<at::Tensor> outputs(TinyNetImpl& net, const std::vector<at::Tensor>& batches) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> out;
  for (const at::Tensor& x : batches) out.push_back(net.forward(x));
  return out;
}

void expect_identical(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(at::equal(a[i], b[i])) << "batch " << i;
}

StreamingOptions streaming(double momentum, bool before, bool mixture = false) {
  StreamingOptions o;
  o.momentum = momentum;
  o.update_before_predicting = before;
  o.mixture_variance = mixture;
  return o;
}

}  // namespace

TEST(StreamingCalibration, MomentumZeroIsPlainEvaluationBitForBit) {
  auto net = random_tiny_net();
  const auto batches = bnrecal::testing::random_batches({4, 1, 3, 1});
  const auto plain = outputs(*net, batches);
  for (bool before : {false, true}) {
    for (bool mixture : {false, true}) {
      StreamingCalibration s(*net, streaming(0.0, before, mixture));
      expect_identical(outputs(*net, batches), plain);
    }
  }
}

TEST(StreamingCalibration, MomentumOneBeforePredictingIsTrainingModeBatchNormBitForBit) {
  auto net = random_tiny_net();
  const auto batches = bnrecal::testing::random_batches({4, 1, 2, 5});
  net->bn1->train();  // batch statistics in BN only; dropout stays off
  net->bn2->train();
  const auto training_mode = outputs(*net, batches);
  net->eval();
  for (bool mixture : {false, true}) {
    net->randomize_bn(3);  // the training-mode passes moved the running statistics
    StreamingCalibration s(*net, streaming(1.0, /*before=*/true, mixture));
    expect_identical(outputs(*net, batches), training_mode);
  }
}

// After predicting, each layer folds in the biased moments of the input it saw in that forward; the
// mixture variance adds m (1 - m) (batch mean - old mean)^2.
TEST(StreamingCalibration, AfterPredictingFoldsTheMomentsOfWhatEachLayerSaw) {
  for (bool mixture : {false, true}) {
    SCOPED_TRACE(mixture ? "mixture" : "batch");
    auto net = random_tiny_net();
    const at::Tensor x = bnrecal::testing::random_batches({3})[0];
    std::vector<at::Tensor> seen(2);
    net->bn1->probe_activations([&](const at::Tensor& in, const at::Tensor&) { seen[0] = in.clone(); });
    net->bn2->probe_activations([&](const at::Tensor& in, const at::Tensor&) { seen[1] = in.clone(); });
    const double m = 0.25;
    std::vector<at::Tensor> old_mean, old_var;
    for (BatchNorm2dImpl* bn : {net->bn1.get(), net->bn2.get()}) {
      old_mean.push_back(bn->running_mean.to(at::kDouble));
      old_var.push_back(bn->running_var.to(at::kDouble));
    }
    StreamingCalibration s(*net, streaming(m, /*before=*/false, mixture));
    outputs(*net, {x});
    net->bn1->probe_activations(nullptr);
    net->bn2->probe_activations(nullptr);
    size_t i = 0;
    for (BatchNorm2dImpl* bn : {net->bn1.get(), net->bn2.get()}) {
      const at::Tensor a = seen[i].to(at::kDouble);
      const at::Tensor mean = a.mean({0, 2, 3});
      const at::Tensor var = a.var({0, 2, 3}, /*unbiased=*/false);
      const at::Tensor spread = mixture ? m * (1 - m) * (mean - old_mean[i]).square() : at::zeros_like(var);
      EXPECT_TRUE(at::allclose(bn->running_mean.to(at::kDouble), (1 - m) * old_mean[i] + m * mean, 1e-6, 1e-6));
      const at::Tensor expected_var = (1 - m) * old_var[i] + m * var + spread;
      EXPECT_TRUE(at::allclose(bn->running_var.to(at::kDouble), expected_var, 1e-6, 1e-6));
      EXPECT_EQ(bn->num_batches_tracked.item<int64_t>(), 1);
      ++i;
    }
  }
}

TEST(StreamingCalibration, AfterPredictingTheFirstBatchSeesTheOriginalStatistics) {
  auto net = random_tiny_net();
  const auto batches = bnrecal::testing::random_batches({2, 2});
  const auto plain = outputs(*net, batches);
  StreamingCalibration s(*net, streaming(1.0, /*before=*/false));
  const auto streamed = outputs(*net, batches);
  EXPECT_TRUE(at::equal(streamed[0], plain[0]));
  EXPECT_FALSE(at::equal(streamed[1], plain[1]));
}

TEST(StreamingCalibration, EndingRestoresStatisticsAndEvaluation) {
  auto net = random_tiny_net();
  const auto batches = bnrecal::testing::random_batches({4, 4});
  const auto plain = outputs(*net, batches);
  const at::Tensor mean = net->bn2->running_mean.clone(), var = net->bn2->running_var.clone();
  {
    StreamingCalibration s(*net, streaming(0.5, false));
    outputs(*net, batches);
    EXPECT_FALSE(at::equal(net->bn2->running_mean, mean));
  }
  EXPECT_TRUE(at::equal(net->bn2->running_mean, mean));
  EXPECT_TRUE(at::equal(net->bn2->running_var, var));
  EXPECT_EQ(net->bn2->num_batches_tracked.item<int64_t>(), 0);
  expect_identical(outputs(*net, batches), plain);
}

TEST(StreamingCalibration, LayerPatternsSelectWhichLayersStream) {
  auto net = random_tiny_net();
  const at::Tensor bn1_mean = net->bn1->running_mean.clone();
  StreamingOptions o = streaming(0.5, false);
  o.layers = {"bn2"};
  StreamingCalibration s(*net, o);
  EXPECT_EQ(s.layers(), std::vector<std::string>{"bn2"});
  outputs(*net, bnrecal::testing::random_batches({4}));
  EXPECT_TRUE(at::equal(net->bn1->running_mean, bn1_mean));
  EXPECT_EQ(net->bn2->num_batches_tracked.item<int64_t>(), 1);
}

TEST(StreamingCalibration, BatchOfOneImage) {
  auto net = random_tiny_net();
  StreamingCalibration s(*net, streaming(0.001, true));
  const at::Tensor y = outputs(*net, bnrecal::testing::random_batches({1}))[0];
  EXPECT_TRUE(y.isfinite().all().item<bool>());
}

TEST(StreamingCalibration, BadOptionsAreInputErrorsAndLeaveTheModelAlone) {
  using bnrecal::testing::input_error_message;
  auto net = random_tiny_net();
  const auto batches = bnrecal::testing::random_batches({2});
  const auto before = outputs(*net, batches);
  EXPECT_NE(input_error_message([&] { StreamingCalibration s(*net, streaming(1.5, false)); }).find("momentum"),
            std::string::npos);
  StreamingOptions none = streaming(0.1, false);
  none.layers = {"layer9.*"};
  EXPECT_NE(input_error_message([&] { StreamingCalibration s(*net, none); }).find("select no BatchNorm"),
            std::string::npos);
  bnrecal::testing::NoBnNet no_bn;
  EXPECT_NE(input_error_message([&] { StreamingCalibration s(no_bn, streaming(0.1, false)); }).find("no BatchNorm"),
            std::string::npos);
  expect_identical(outputs(*net, batches), before);
  EXPECT_TRUE(parse_streaming_variance("mixture"));
  EXPECT_NE(input_error_message([] { parse_streaming_variance("exact"); }).find("mixture"), std::string::npos);
  EXPECT_TRUE(parse_streaming_order("before"));
  EXPECT_FALSE(parse_streaming_order("after"));
  EXPECT_NE(input_error_message([] { parse_streaming_order("sideways"); }).find("after"), std::string::npos);
}

TEST(StreamingCalibration, KeepStatisticsLeavesTheStreamedOnesAndStopsStreaming) {
  auto net = random_tiny_net();
  const auto batches = bnrecal::testing::random_batches({4, 4});
  const at::Tensor clean_mean = net->bn2->running_mean.clone();
  at::Tensor streamed_mean, streamed_var;
  {
    StreamingCalibration s(*net, streaming(0.5, false));
    outputs(*net, batches);
    streamed_mean = net->bn2->running_mean.clone();
    streamed_var = net->bn2->running_var.clone();
    s.keep_statistics();
  }
  EXPECT_FALSE(at::equal(streamed_mean, clean_mean));
  EXPECT_TRUE(at::equal(net->bn2->running_mean, streamed_mean));
  EXPECT_TRUE(at::equal(net->bn2->running_var, streamed_var));
  outputs(*net, batches);  // plain evaluation again: nothing folds in any more
  EXPECT_TRUE(at::equal(net->bn2->running_mean, streamed_mean));
}

// Streaming calibration through evaluate() and the study protocol (the layer itself:
// tests/recal/test_streaming_calibration.cpp).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "tensor_source.h"
#include "test_support.h"
#include "tiny_net.h"
#include "bnrecal/eval/evaluate.h"
#include "bnrecal/eval/study_protocol.h"

using namespace bnrecal;
using bnrecal::testing::TensorSource;
using bnrecal::testing::TinyNetImpl;

namespace {

std::shared_ptr<TinyNetImpl> random_tiny_net() {
  auto net = std::make_shared<TinyNetImpl>();
  net->randomize_bn(5);
  return net;
}

EvalOptions streaming_eval(double momentum, bool before, int64_t batch) {
  EvalOptions o;
  o.batch_size = batch;
  o.streaming = StreamingOptions{momentum, before, false, {}};
  return o;
}

// One recalibration draw of 32 images, and streaming at batch 1 with this momentum.
StudyProtocol streaming_study(double momentum) {
  StudyProtocol p;
  p.recal.images = 32;
  p.recal.draws = 1;
  p.streaming = StreamingProtocol{StreamingOptions{momentum, false, false, {}}, 1};
  return p;
}

// One process pretending to be rank 0 of two.
class HalfGroup : public WorkGroup {
 public:
  int rank() const override { return 0; }
  int size() const override { return 2; }
  std::vector<std::string> all_gather(const std::string& local) override { return {local, local}; }
};

}  // namespace

TEST(StreamingEvaluation, MomentumZeroScoresEveryImageAsPlainEvaluation) {
  auto net = random_tiny_net();
  const TensorSource test(64, 7);
  EvalOptions plain_options;
  plain_options.batch_size = 1;
  const EvalResult plain = evaluate(*net, test, plain_options);
  const EvalResult streamed = evaluate(*net, test, streaming_eval(0.0, false, 1));
  EXPECT_EQ(streamed.correct, plain.correct);
  EXPECT_EQ(streamed.loss, plain.loss);
  EXPECT_EQ(streamed.streaming.at("batch_size"), 1);
  EXPECT_EQ(streamed.to_json().at("streaming").at("order"), "after");
  EXPECT_FALSE(plain.to_json().contains("streaming"));
}

TEST(StreamingEvaluation, LeavesTheModelsStatisticsAsTheyWere) {
  auto net = random_tiny_net();
  const at::Tensor mean = net->bn1->running_mean.clone();
  evaluate(*net, TensorSource(32, 2), streaming_eval(0.5, true, 4));
  EXPECT_TRUE(at::equal(net->bn1->running_mean, mean));
  EXPECT_EQ(net->bn1->num_batches_tracked.item<int64_t>(), 0);
}

TEST(StreamingEvaluation, IsOneProcessOnly) {
  auto net = random_tiny_net();
  HalfGroup group;
  EvalOptions o = streaming_eval(0.1, false, 8);
  o.group = &group;
  EXPECT_NE(bnrecal::testing::input_error_message([&] { evaluate(*net, TensorSource(16, 2), o); }).find("one process"),
            std::string::npos);
}

TEST(StreamingEvaluation, StudyProtocolMeasuresItBesideRecalibration) {
  auto net = random_tiny_net();
  const TensorSource train(64, 11), test(48, 12);
  StudyProtocol p = streaming_study(0.0);
  const BnSnapshot clean(*net);
  const PlainAndRecalibrated m = measure_plain_and_recalibrated(*net, {train, test}, p, 3, clean);
  ASSERT_TRUE(m.streamed.has_value());
  EXPECT_EQ(m.streamed->correct, m.plain.correct);  // momentum 0: no change
  EXPECT_EQ(m.streaming_gain.only_a + m.streaming_gain.only_b, 0);
  EXPECT_TRUE(m.to_json().at("streamed").contains("gain"));
  p.streaming->batch_size = 0;
  EXPECT_NE(bnrecal::testing::input_error_message([&] { check_study_inputs(*net, {train, test}, p); }).find("streaming"),
            std::string::npos);
}

TEST(StreamingEvaluation, AWarmUpStreamsADrawOfTrainingImagesAndTheStudyRestoresTheStatistics) {
  auto net = random_tiny_net();
  net->eval();
  const TensorSource train(64, 11), test(48, 12);
  StudyProtocol p = streaming_study(0.1);
  const BnSnapshot clean(*net);
  const at::Tensor clean_mean = net->bn2->running_mean.clone();

  warm_up_streaming(*net, {train, test}, p, 5);  // warmup_images 0: nothing happens
  EXPECT_TRUE(at::equal(net->bn2->running_mean, clean_mean));

  p.streaming->warmup_images = 16;
  warm_up_streaming(*net, {train, test}, p, 5);
  const at::Tensor warmed = net->bn2->running_mean.clone();
  EXPECT_FALSE(at::equal(warmed, clean_mean));
  EXPECT_FALSE(net->is_training());
  clean.restore(*net);
  warm_up_streaming(*net, {train, test}, p, 5);  // the same draw: the same statistics
  EXPECT_TRUE(at::equal(net->bn2->running_mean, warmed));
  clean.restore(*net);
  warm_up_streaming(*net, {train, test}, p, 6);  // another draw: others
  EXPECT_FALSE(at::equal(net->bn2->running_mean, warmed));
  clean.restore(*net);

  const PlainAndRecalibrated m = measure_plain_and_recalibrated(*net, {train, test}, p, 3, clean);
  ASSERT_TRUE(m.streamed.has_value());
  EXPECT_TRUE(at::equal(net->bn2->running_mean, clean_mean));  // put back after the streamed run
  EXPECT_EQ(p.streaming->to_json().at("warmup_images"), 16);

  p.streaming->warmup_images = 65;  // more than the training split holds
  const std::string error =
      bnrecal::testing::input_error_message([&] { check_study_inputs(*net, {train, test}, p); });
  EXPECT_NE(error.find("--stream-warmup"), std::string::npos) << error;
}

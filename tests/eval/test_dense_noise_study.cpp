// The noise study of a dense task, on a tiny fashion-mosaic with an untrained fcn_small: what must
// hold whatever the weights are. Streaming at momentum 0 is the plain model, image for image;
// eta 0 is the clean model; every recalibration draw is undone; the JSON has every row.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "bnrecal/core/files.h"
#include "bnrecal/data/fashion_tasks.h"
#include "bnrecal/eval/dense_noise_study.h"
#include "bnrecal/models/zoo.h"
#include "bnrecal/recal/recalibrate.h"
#include "test_support.h"

using namespace bnrecal;

TEST(DenseNoiseStudy, StreamingAtMomentumZeroIsPlainAndTheModelIsLeftClean) {
  if (!file_exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "apt-get install dataset-fashion-mnist";
  const std::string root = bnrecal::testing::temp_dir() + "/mosaic";
  FashionMosaicOptions task;
  task.train_images = 32;
  task.val_images = 8;
  task.canvas = 32;
  make_fashion_mosaic(root, task);
  const auto train = open_voc_segmentation(root, Split::kTrain);
  const auto val = open_voc_segmentation(root, Split::kTest);
  torch::manual_seed(0);
  auto net = build_model("fcn_small", {.num_classes = train->num_classes(), .in_channels = 3});
  net->eval();
  std::vector<at::Tensor> means_before;
  for (const BnLayerRef& b : bn_layers(*net)) means_before.push_back(b.bn->running_mean.clone());
  const auto scorer = segmentation_scorer(*val);

  NoiseStudyOptions o;
  o.etas = {0, 0.1};
  o.seeds = 2;
  o.protocol.eval.batch_size = 4;
  o.protocol.recal.images = 16;
  o.protocol.recal.draws = 2;
  // Spatial noise only: temporal factors are redrawn every batch from a generator that runs on
  // between the plain and the streamed run, so those would differ however BN is calibrated.
  o.base.noise.preset = "seed-003";
  o.base.noise.params.sigma_t = 0;
  StreamingProtocol streaming;
  streaming.options.momentum = 0;
  streaming.batch_size = 4;
  o.protocol.streaming = streaming;
  const DenseNoiseStudyResult r = run_dense_noise_study(*net, {}, *train, *scorer, o);

  ASSERT_EQ(r.cells.size(), 2u);
  EXPECT_EQ(r.test_images, 8);
  ASSERT_EQ(r.clean.size(), 2u);
  EXPECT_EQ(r.clean[0].metric, "mean_iou");
  for (const DenseNoiseCell& c : r.cells) {
    ASSERT_EQ(c.metrics.size(), 2u);
    for (const DenseMetricCell& m : c.metrics) {
      EXPECT_EQ(m.plain.values.size(), 2u);
      EXPECT_EQ(m.recalibrated.values.size(), 4u);  // seeds x draws
      EXPECT_EQ(m.gain.runs, 4);
      EXPECT_EQ(m.streamed.values, m.plain.values) << m.metric << " at eta " << c.eta;
      EXPECT_EQ(m.streaming_gain.difference.mean, 0.0);
      EXPECT_EQ(m.streaming_gain.standard_error, 0.0);
    }
  }
  // eta 0: the noise-free model, whichever seed.
  EXPECT_EQ(r.cells[0].metrics[0].plain.values[0], r.clean[0].value);
  EXPECT_EQ(r.cells[0].metrics[0].plain.values[1], r.clean[0].value);
  // Noise at eta 0.1 changes the untrained model's predictions.
  EXPECT_NE(r.cells[1].metrics[1].plain.values[0], r.clean[1].value);
  // The model leaves with its own statistics and without noise.
  const std::vector<BnLayerRef> after = bn_layers(*net);
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_TRUE(after[i].bn->running_mean.equal(means_before[i])) << after[i].name;
  }
  const ScoredRun again = scorer->score(*net, o.protocol.eval, std::nullopt);
  EXPECT_EQ(again.scores[0].value, r.clean[0].value);

  const nlohmann::json j = r.to_json();
  EXPECT_EQ(j["task"], "segmentation");
  EXPECT_TRUE(j["noise"][1]["mean_iou"].contains("streaming_gain"));
  EXPECT_EQ(j["noise"][1]["runs"][0]["recalibrated"].size(), 2u);
}

TEST(DenseNoiseStudy, GainsCountSignificantRunsAndAverageStandardErrors) {
  const DenseGain g = dense_gain({{"m", 2.0, 0.5}, {"m", 0.5, 0.5}, {"m", -3.0, 1.0}});
  EXPECT_EQ(g.runs, 3);
  EXPECT_EQ(g.significant_runs, 2);  // |2| > 0.98, |0.5| < 0.98, |-3| > 1.96
  EXPECT_NEAR(g.difference.mean, -0.5 / 3, 1e-12);
  EXPECT_NEAR(g.standard_error, std::sqrt((0.25 + 0.25 + 1.0) / 3), 1e-12);
}

// Training a segmentation model: per-pixel cross-entropy with the ignore label left out, pixel
// accuracy while training, mIoU and pixel accuracy at each evaluation, on a tiny fashion-mosaic.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/data/fashion_tasks.h"
#include "bnrecal/data/segmentation_source.h"
#include "bnrecal/eval/segmentation_eval.h"
#include "bnrecal/models/zoo.h"
#include "bnrecal/train/trainer.h"
#include "tensor_source.h"
#include "test_support.h"

using namespace bnrecal;

namespace {

std::string tiny_mosaic() {
  const std::string root = bnrecal::testing::temp_dir() + "/mosaic";
  FashionMosaicOptions o;
  o.train_images = 64;
  o.val_images = 16;
  o.canvas = 32;
  make_fashion_mosaic(root, o);
  return root;
}

}  // namespace

TEST(SegmentationTraining, PerPixelLossFallsAndEvaluationScoresMeanIou) {
  if (!file_exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "apt-get install dataset-fashion-mnist";
  const std::string root = tiny_mosaic();
  const auto train = open_voc_segmentation(root, Split::kTrain);
  const auto val = open_voc_segmentation(root, Split::kTest);
  torch::manual_seed(0);
  auto net = build_model("fcn_small", {.num_classes = train->num_classes(), .in_channels = 3});
  TrainOptions o;
  o.epochs = 4;
  o.batch_size = 16;
  o.lr = 0.05;
  o.eval_every = 2;
  const auto reports = train_model(*net, *train, val.get(), o, {});
  ASSERT_EQ(reports.size(), 4u);
  EXPECT_LT(reports[3].train_loss, 0.8 * reports[0].train_loss);
  // Speed counts images, not the pixels the loss and the running accuracy count.
  EXPECT_NEAR(reports[0].images_per_second * reports[0].seconds, 64.0, 1e-6);
  EXPECT_FALSE(reports[0].evaluated);
  ASSERT_TRUE(reports[3].evaluated && reports[3].eval_segmentation.has_value());
  const SegmentationScores& s = reports[3].eval_segmentation->scores;
  EXPECT_EQ(s.images, 16);
  // The last evaluation is the trained model's, scored as `eval` scores it.
  const SegmentationEvalResult again = evaluate_segmentation(*net, *val, {});
  EXPECT_EQ(s.mean_iou, again.estimate.scores.mean_iou);
  EXPECT_EQ(s.pixel_accuracy, again.estimate.scores.pixel_accuracy);
  EXPECT_GT(s.mean_iou, 0.0);
  EXPECT_TRUE(reports[3].to_json()["eval"].contains("scores"));
}

TEST(SegmentationTraining, RefusesMixedTasksAndStepEvaluations) {
  if (!file_exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "apt-get install dataset-fashion-mnist";
  const std::string root = tiny_mosaic();
  const auto train = open_voc_segmentation(root, Split::kTrain);
  auto net = build_model("fcn_small", {.num_classes = train->num_classes(), .in_channels = 3});
  TrainOptions o;
  o.epochs = 1;
  o.batch_size = 16;
  o.eval_every_steps = 2;
  EXPECT_THROW(train_model(*net, *train, train.get(), o, {}), InputError);
  o.eval_every_steps = 0;
  const bnrecal::testing::TensorSource labels(16, 0, 11);  // classification data as the evaluation split
  EXPECT_THROW(train_model(*net, *train, &labels, o, {}), InputError);
}

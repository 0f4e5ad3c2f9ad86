// Training a detector: the YOLO loss on the boxes of each batch's images (looked up through
// Batch::indices, so shuffling cannot misalign them), COCO AP at each evaluation.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "bnrecal/core/files.h"
#include "bnrecal/data/detection_source.h"
#include "bnrecal/data/fashion_tasks.h"
#include "bnrecal/models/zoo.h"
#include "bnrecal/train/trainer.h"
#include "tensor_source.h"
#include "test_support.h"

using namespace bnrecal;

TEST(DetectionTraining, LossFallsAndEvaluationsScoreCocoAp) {
  if (!file_exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "apt-get install dataset-fashion-mnist";
  const std::string root = bnrecal::testing::temp_dir() + "/scatter";
  FashionScatterOptions task;
  task.train_images = 32;
  task.val_images = 8;
  task.canvas = 64;
  make_fashion_scatter(root, task);
  const auto train = open_coco_detection(root, Split::kTrain);
  const auto val = open_coco_detection(root, Split::kTest);
  torch::manual_seed(0);
  auto net = build_model("yolo_small", {.num_classes = train->num_classes(), .in_channels = 3});
  TrainOptions o;
  o.epochs = 8;
  o.batch_size = 8;
  o.lr = 0.02;
  o.eval_every = 8;
  const auto reports = train_model(*net, *train, val.get(), o, {});
  ASSERT_EQ(reports.size(), 8u);
  EXPECT_LT(reports[7].train_loss, 0.75 * reports[0].train_loss);
  EXPECT_NEAR(reports[0].images_per_second * reports[0].seconds, 32.0, 1e-6);
  ASSERT_TRUE(reports[7].evaluated && reports[7].eval_detection.has_value());
  EXPECT_EQ(reports[7].eval_n, 8);
  EXPECT_GE(reports[7].eval_detection->metrics.ap50, 0.0);  // defined: the val images have objects
  EXPECT_TRUE(reports[7].to_json()["eval"].contains("metrics"));
}

TEST(DetectionTraining, TheLoaderNamesEachBatchsImages) {
  const bnrecal::testing::TensorSource source(10, 0);
  LoaderOptions o;
  o.batch_size = 4;
  o.shuffle = true;
  o.seed = 3;
  BatchLoader loader(source, o);
  std::vector<int64_t> seen;
  for (Batch b; loader.next(b);) {
    ASSERT_EQ(static_cast<int64_t>(b.indices.size()), b.images.size(0));
    for (size_t i = 0; i < b.indices.size(); ++i) {
      EXPECT_TRUE(b.images[static_cast<int64_t>(i)].equal(
          (source.images()[b.indices[i]] - 0.5) / 0.25));  // the loader normalizes with the source's default
    }
    seen.insert(seen.end(), b.indices.begin(), b.indices.end());
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

// Segmentation from the command line: make a tiny fashion-mosaic, train fcn_small on it, evaluate
// it (mIoU and pixel accuracy) and run the noise study with offline and streaming calibration.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "bnrecal/core/files.h"
#include "test_support.h"

namespace bnrecal {
namespace {

using testing::bnrecal_cli;

TEST(CliSegmentation, TrainEvaluateAndNoiseStudy) {
  if (!file_exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "apt-get install dataset-fashion-mnist";
  const std::string dir = testing::temp_dir();
  const std::string task = dir + "/mosaic", model = dir + "/fcn.safetensors";
  ASSERT_EQ(bnrecal_cli("make-task segmentation --train-images 48 --val-images 8 --canvas 32 -q -o " + task).exit_code,
            0);

  const auto train = bnrecal_cli("train --arch fcn_small --data voc:" + task + " --epochs 1 --batch-size 16 -q -o " +
                                 model + " --json " + dir + "/train.json");
  ASSERT_EQ(train.exit_code, 0) << train.output;
  EXPECT_NE(train.output.find("mIoU"), std::string::npos) << train.output;
  const nlohmann::json trained = nlohmann::json::parse(read_file(dir + "/train.json"));
  EXPECT_TRUE(trained["accuracy"].contains("mean_iou")) << trained.dump();

  const auto eval = bnrecal_cli("eval --model " + model + " --batch-size 16 -q --json " + dir + "/eval.json");
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  EXPECT_NE(eval.output.find("mIoU"), std::string::npos) << eval.output;
  const nlohmann::json scores = nlohmann::json::parse(read_file(dir + "/eval.json"));
  EXPECT_EQ(scores["scores"]["images"], 8);
  EXPECT_NEAR(scores["scores"]["mean_iou"].get<double>() * 100, trained["accuracy"]["mean_iou"].get<double>(), 1e-9);

  const auto study = bnrecal_cli("experiment noise --model " + model + " --eta 0.1 --seeds 1 --recal-images 16 "
                                 "--recal-draws 1 --stream-decay 0.9 --stream-batch-size 2 -q --json " + dir +
                                 "/noise.json");
  ASSERT_EQ(study.exit_code, 0) << study.output;
  EXPECT_NE(study.output.find("| 0.10 | mean_iou |"), std::string::npos) << study.output;
  const nlohmann::json noise = nlohmann::json::parse(read_file(dir + "/noise.json"));
  EXPECT_TRUE(noise["noise"][0]["pixel_accuracy"].contains("streaming_gain")) << noise.dump();
}

TEST(CliSegmentation, ArchitectureAndDataMustBeTheSameTask) {
  if (!file_exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "apt-get install dataset-fashion-mnist";
  const std::string task = testing::temp_dir() + "/mosaic";
  ASSERT_EQ(bnrecal_cli("make-task segmentation --train-images 16 --val-images 4 --canvas 32 -q -o " + task).exit_code,
            0);
  const auto classifier = bnrecal_cli("train --arch resnet20 --data voc:" + task + " --epochs 1 -o /tmp/never.st");
  EXPECT_EQ(classifier.exit_code, 1) << classifier.output;
  EXPECT_NE(classifier.output.find("classification model"), std::string::npos) << classifier.output;
  const auto fcn = bnrecal_cli("train --arch fcn_small --epochs 1 -o /tmp/never.st");  // fashion-mnist labels
  EXPECT_EQ(fcn.exit_code, 1) << fcn.output;
  EXPECT_NE(fcn.output.find("voc:DIR"), std::string::npos) << fcn.output;
}

}  // namespace
}  // namespace bnrecal

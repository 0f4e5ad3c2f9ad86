// Detection from the command line: make a tiny fashion-scatter, train yolo_small on it, evaluate it
// (COCO AP and AR) and run the noise study with offline and streaming calibration.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "bnrecal/core/files.h"
#include "test_support.h"

namespace bnrecal {
namespace {

using testing::bnrecal_cli;

TEST(CliDetection, TrainEvaluateAndNoiseStudy) {
  if (!file_exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "apt-get install dataset-fashion-mnist";
  const std::string dir = testing::temp_dir();
  const std::string task = dir + "/scatter", model = dir + "/yolo.safetensors";
  ASSERT_EQ(bnrecal_cli("make-task detection --train-images 16 --val-images 4 --canvas 64 -q -o " + task).exit_code, 0);

  const auto train = bnrecal_cli("train --arch yolo_small --data coco:" + task + " --epochs 1 --batch-size 8 -q -o " +
                                 model + " --json " + dir + "/train.json");
  ASSERT_EQ(train.exit_code, 0) << train.output;
  EXPECT_NE(train.output.find("AP@.5"), std::string::npos) << train.output;
  const nlohmann::json trained = nlohmann::json::parse(read_file(dir + "/train.json"));
  EXPECT_TRUE(trained["accuracy"].contains("ap50")) << trained.dump();

  const auto eval = bnrecal_cli("eval --model " + model + " --batch-size 4 -q --json " + dir + "/eval.json");
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  EXPECT_NE(eval.output.find("AP@.5"), std::string::npos) << eval.output;
  const nlohmann::json scores = nlohmann::json::parse(read_file(dir + "/eval.json"));
  EXPECT_NEAR(100 * scores["metrics"]["ap50"].get<double>(), trained["accuracy"]["ap50"].get<double>(), 1e-9);

  const auto study = bnrecal_cli("experiment noise --model " + model + " --eta 0.1 --seeds 1 --recal-images 8 "
                                 "--recal-draws 1 --stream-decay 0.9 --stream-batch-size 2 -q --json " + dir +
                                 "/noise.json");
  ASSERT_EQ(study.exit_code, 0) << study.output;
  EXPECT_NE(study.output.find("| 0.10 | ap50 |"), std::string::npos) << study.output;
  const nlohmann::json noise = nlohmann::json::parse(read_file(dir + "/noise.json"));
  EXPECT_TRUE(noise["noise"][0]["ar50"].contains("streaming_gain")) << noise.dump();
}

TEST(CliDetection, ADetectorNeedsDetectionData) {
  const auto r = bnrecal_cli("train --arch yolo_small --epochs 1 -o /tmp/never.st");  // fashion-mnist labels
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("coco:DIR"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace bnrecal

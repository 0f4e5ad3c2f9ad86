// Streaming BN calibration from the command line: `eval --stream-momentum/--stream-decay` and the
// noise study's streaming rows, on the committed reference model.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "bnrecal/core/files.h"
#include "test_support.h"

namespace bnrecal {
namespace {

using testing::bnrecal_cli;

bool have_reference_data() {
  return file_exists(testing::source_dir() + "/models/fashion-mnist-resnet20.safetensors") &&
         file_exists("/usr/share/datasets/fashion-mnist");
}

nlohmann::json eval_json(const std::string& flags) {
  const std::string json = testing::temp_dir() + "/eval.json";
  const auto r = bnrecal_cli("eval --limit 200 --json " + json + " " + flags);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return nlohmann::json::parse(read_file(json));
}

TEST(CliStreaming, MomentumZeroMatchesPlainEvaluation) {
  if (!have_reference_data()) GTEST_SKIP() << "needs the reference model and Fashion-MNIST";
  const nlohmann::json plain = eval_json("--batch-size 1");
  const nlohmann::json streamed = eval_json("--batch-size 1 --stream-momentum 0 --stream-variance mixture");
  EXPECT_EQ(streamed["top1"], plain["top1"]);
  EXPECT_EQ(streamed["loss"], plain["loss"]);
  EXPECT_EQ(streamed["config"]["streaming"]["order"], "after");
  EXPECT_EQ(streamed["config"]["streaming"]["variance"], "mixture");
  EXPECT_EQ(streamed["streaming"]["batch_size"], 1);
  EXPECT_FALSE(plain["config"].contains("streaming"));
}

TEST(CliStreaming, BadStreamingFlagsAreUsageErrors) {
  EXPECT_EQ(bnrecal_cli("eval --stream-momentum 1.5").exit_code, 2);
  EXPECT_EQ(bnrecal_cli("eval --stream-decay -0.1").exit_code, 2);
  EXPECT_EQ(bnrecal_cli("eval --stream-momentum 0.1 --stream-decay 0.9").exit_code, 2);
  const auto order = bnrecal_cli("eval --stream-momentum 0.1 --stream-order sideways");
  EXPECT_EQ(order.exit_code, 2);
  EXPECT_NE(order.output.find("sideways"), std::string::npos) << order.output;
  EXPECT_EQ(bnrecal_cli("eval --stream-momentum 0.1 --stream-variance exact").exit_code, 2);
}

TEST(CliStreaming, NoiseStudyReportsStreamingBesideRecalibration) {
  if (!have_reference_data()) GTEST_SKIP() << "needs the reference model and Fashion-MNIST";
  const std::string json = testing::temp_dir() + "/noise.json";
  const auto r = bnrecal_cli("experiment noise --limit 128 --eta 0.1 --seeds 1 --recal-images 128 --recal-draws 1 "
                             "--no-quantization --stream-decay 0.99 --stream-batch-size 8 --json " + json);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("streaming gain (paired)"), std::string::npos) << r.output;
  const nlohmann::json j = nlohmann::json::parse(read_file(json));
  const nlohmann::json& row = j["noise"][0];
  EXPECT_TRUE(row.contains("streamed_top1"));
  EXPECT_EQ(row["streaming_gain"]["draws"].size(), 1u);
  EXPECT_NEAR(j["config"]["streaming"]["momentum_pytorch"].get<double>(), 0.01, 1e-12);
}

}  // namespace
}  // namespace bnrecal

// Quantization-aware training from the CLI: a W1A2 model trains, saves, reloads and evaluates to
// exactly its training-time result; BN-final and the evaluation time series are recorded; bad
// combinations are refused with the documented exit codes and nothing written.
#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "bnrecal/core/files.h"
#include "bnrecal/models/checkpoint.h"
#include "test_support.h"

namespace bnrecal {
namespace {

using testing::bnrecal_cli;

bool have_fashion_mnist() { return file_exists("/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz"); }

const char* kTiny = " --epochs 1 --train-limit 256 --batch-size 64 --eval-limit 128 --lr 0.05 ";

TEST(LowBitCli, TrainsW1A2AndEvaluatesToTheTrainingTimeResult) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "apt-get install dataset-fashion-mnist";
  const std::string dir = testing::temp_dir();
  auto r = bnrecal_cli(std::string("train --arch resnet20") + kTiny +
                       "--policy \"lowbit w_bits=1 a_bits=2\" --bn-stats final --eval-every-steps 2 -o " + dir +
                       "/w1a2.safetensors --json " + dir + "/train.json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const ModelCard card = load_model(dir + "/w1a2.safetensors").card;
  ASSERT_TRUE(card.calibration.training_arithmetic.has_value());
  EXPECT_EQ(card.calibration.training_arithmetic->to_text(), "lowbit w_bits=1 a_bits=2 w_scale=channel");
  EXPECT_EQ(card.training->options.at("bn_momentum"), 1.0);
  EXPECT_EQ(card.training->evaluations.size(), 2u);  // 4 steps, every 2
  const std::string series = read_file(dir + "/w1a2.safetensors.evals.jsonl");
  EXPECT_EQ(std::count(series.begin(), series.end(), '\n'), 2) << series;
  EXPECT_EQ(nlohmann::json::parse(series.substr(0, series.find('\n')))["step"], 2);
  ASSERT_TRUE(card.accuracy.has_value());

  // The saved model evaluates under its own arithmetic, to the training-time number exactly.
  r = bnrecal_cli("eval --limit 128 --model " + dir + "/w1a2.safetensors --json " + dir + "/eval.json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("arith  lowbit w_bits=1 a_bits=2"), std::string::npos) << r.output;
  const auto eval = nlohmann::json::parse(read_file(dir + "/eval.json"));
  EXPECT_EQ(eval["top1"].get<double>(), card.accuracy->value);
  EXPECT_EQ(eval["n"], 128);
  // ... and recalibrates under it (BN-final after the fact: the `final` estimator).
  r = bnrecal_cli("recalibrate --images 64 --estimator final --model " + dir + "/w1a2.safetensors -o " + dir +
                  "/recal.safetensors");
  EXPECT_EQ(r.exit_code, 0) << r.output;

  // Arithmetic the weights were not trained for is refused (exit 1), and writes nothing.
  r = bnrecal_cli("eval --limit 16 --policy fp32 --model " + dir + "/w1a2.safetensors --json " + dir + "/never.json");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("trained in 'lowbit"), std::string::npos) << r.output;
  EXPECT_FALSE(file_exists(dir + "/never.json"));
  r = bnrecal_cli("recalibrate --images 16 --policy \"lowbit w_bits=2\" --model " + dir + "/w1a2.safetensors -o " +
                  dir + "/never.safetensors");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_FALSE(file_exists(dir + "/never.safetensors"));
}

TEST(LowBitCli, BadBitWidthsAndUntrainablePoliciesAreUsageErrors) {
  const std::string dir = testing::temp_dir();
  for (const char* policy : {"lowbit w_bits=3", "lowbit a_bits=0", "lowbit w_scale=tensor", "sysmt", "a8w8"}) {
    const auto r = bnrecal_cli(std::string("train --arch resnet20") + kTiny + "--policy \"" + policy + "\" -o " + dir +
                               "/never.safetensors");
    EXPECT_EQ(r.exit_code, 2) << policy << "\n" << r.output;
    EXPECT_FALSE(file_exists(dir + "/never.safetensors")) << policy;
  }
  const auto r = bnrecal_cli(std::string("train --arch resnet20") + kTiny + "--noise seed-003 --eta 0.1 -o " + dir +
                             "/never.safetensors");
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

TEST(LowBitCli, Divide255ModelsReadPixelsAndRefuseNormalizedInput) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "apt-get install dataset-fashion-mnist";
  const std::string dir = testing::temp_dir();
  auto r = bnrecal_cli(std::string("train --arch resnet20") + kTiny + "--policy \"lowbit input=divide255\" -o " + dir +
                       "/d255.safetensors");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  LoadedModel m = load_model(dir + "/d255.safetensors");
  EXPECT_EQ(m.card.normalization.mean, std::vector<double>({0.0}));
  EXPECT_EQ(m.card.normalization.std, std::vector<double>({1.0}));
  r = bnrecal_cli("eval --limit 64 --model " + dir + "/d255.safetensors");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // The same weights fed standardized images (a card edited to the dataset's normalization).
  m.card.normalization = {{0.286}, {0.353}};
  save_checkpoint(dir + "/normalized.safetensors", *m.network, m.card);
  r = bnrecal_cli("eval --limit 64 --model " + dir + "/normalized.safetensors --json " + dir + "/never.json");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("normalized images were fed"), std::string::npos) << r.output;
  EXPECT_FALSE(file_exists(dir + "/never.json"));
}

// The committed W1A2 reference model evaluates under its recorded arithmetic to the accuracy
// README and docs/results.md state.
TEST(LowBitCli, CommittedReferenceModelGivesItsDocumentedAccuracy) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "apt-get install dataset-fashion-mnist";
  const std::string dir = testing::temp_dir();
  const std::string model = testing::source_dir() + "/models/fashion-mnist-resnet20-w1a2.safetensors";
  const auto r = bnrecal_cli("eval --model " + model + " --json " + dir + "/eval.json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("arith  lowbit w_bits=1 a_bits=2 w_scale=channel"), std::string::npos) << r.output;
  const auto eval = nlohmann::json::parse(read_file(dir + "/eval.json"));
  EXPECT_EQ(eval["n"], 10000);
  EXPECT_NEAR(eval["top1"].get<double>(), 80.80, 0.005);
}

}  // namespace
}  // namespace bnrecal

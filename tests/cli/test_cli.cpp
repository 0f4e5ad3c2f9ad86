// The CLI as users run it: help texts, an evaluation of the committed model on a small slice,
// JSON results, and error exits (1: bad input, 2: bad usage).
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "bnrecal/core/files.h"
#include "bnrecal/models/checkpoint.h"
#include "test_support.h"

namespace bnrecal {
namespace {

using testing::cli_path;
using testing::run_command;

std::string reference_model() { return testing::source_dir() + "/models/fashion-mnist-resnet20.safetensors"; }

TEST(Cli, HelpListsEverySubcommand) {
  const auto r = run_command(cli_path() + " --help");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  for (const char* sub : {"models", "train", "eval"}) EXPECT_NE(r.output.find(sub), std::string::npos) << sub;
}

TEST(Cli, EverySubcommandHasHelp) {
  for (const char* sub : {"models", "train", "eval"}) {
    const auto r = run_command(cli_path() + " " + sub + " --help");
    EXPECT_EQ(r.exit_code, 0) << sub << ": " << r.output;
    EXPECT_NE(r.output.find("--"), std::string::npos) << sub;
  }
  const auto r = run_command(cli_path() + " eval --help");
  for (const char* option : {"--model", "--data", "--limit", "--batch-size", "--threads", "--json"})
    EXPECT_NE(r.output.find(option), std::string::npos) << option;
}

TEST(Cli, ModelsListsTheZoo) {
  const auto r = run_command(cli_path() + " models");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("resnet20"), std::string::npos);
  EXPECT_NE(r.output.find("fashion-mnist"), std::string::npos);
}

TEST(Cli, EvalOnASmallSliceWritesJson) {
  if (!file_exists(reference_model())) GTEST_SKIP() << "reference model not committed yet";
  if (!file_exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "apt-get install dataset-fashion-mnist";
  const std::string json = testing::temp_dir() + "/eval.json";
  const auto r = run_command(cli_path() + " eval --limit 500 --quiet --json " + json);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("top-1"), std::string::npos);
  const auto j = nlohmann::json::parse(read_file(json));
  for (const char* key : {"top1", "top5", "top1_stderr", "n", "config", "seed", "git_revision", "libtorch_version"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["n"], 500);
  EXPECT_GT(j["top1"].get<double>(), 85.0);  // the reference model reaches ~93 %
  EXPECT_EQ(j["config"]["data"], "fashion-mnist");
}

TEST(Cli, MissingModelExitsOneWithAClearMessage) {
  const std::string json = testing::temp_dir() + "/never.json";
  const auto r = run_command(cli_path() + " eval --model /nonexistent.safetensors --json " + json);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("/nonexistent.safetensors"), std::string::npos) << r.output;
  EXPECT_FALSE(file_exists(json));
}

TEST(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(run_command(cli_path() + " eval --no-such-option").exit_code, 2);
  EXPECT_EQ(run_command(cli_path() + " eval --limit -3").exit_code, 2);
  EXPECT_EQ(run_command(cli_path()).exit_code, 2);  // a subcommand is required
  EXPECT_EQ(run_command(cli_path() + " experiment assign -m none.safetensors --smt 2").exit_code, 2);  // meaningless
}

TEST(Cli, WrongImageSizeForTheModelIsAnInputError) {
  if (!file_exists(reference_model())) GTEST_SKIP() << "reference model not committed yet";
  // An IDX folder of 20x20 images: the 28x28 model must refuse it by name.
  const std::string dir = testing::temp_dir();
  const std::string script = "import gzip,struct\n"
                             "open('" + dir + "/t10k-images-idx3-ubyte','wb').write(struct.pack('>BBBBIII',0,0,8,3,4,20,20)+bytes(1600))\n"
                             "open('" + dir + "/t10k-labels-idx1-ubyte','wb').write(struct.pack('>BBBBI',0,0,8,1,4)+bytes(4))\n";
  {
    std::ofstream(dir + "/make.py") << script;
  }
  ASSERT_EQ(run_command("python3 " + dir + "/make.py").exit_code, 0);
  const auto r = run_command(cli_path() + " eval --data " + dir);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("1x20x20"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1x28x28"), std::string::npos) << r.output;
}

TEST(Cli, TrainsATinyModelAndEvaluatesIt) {
  if (!file_exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "apt-get install dataset-fashion-mnist";
  const std::string dir = testing::temp_dir();
  auto r = run_command(cli_path() + " train --arch resnet20 --epochs 1 --train-limit 256 --eval-limit 128 "
                       "--batch-size 64 --quiet -o " + dir + "/m.safetensors --json " + dir + "/t.json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto t = nlohmann::json::parse(read_file(dir + "/t.json"));
  EXPECT_EQ(t["epochs"].size(), 1u);
  r = run_command(cli_path() + " eval --quiet --limit 128 --model " + dir + "/m.safetensors");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // Resuming a finished run is refused with exit 1.
  r = run_command(cli_path() + " train --epochs 1 --from " + dir + "/m.safetensors --resume -o " + dir + "/n.safetensors");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_FALSE(file_exists(dir + "/n.safetensors"));
}

// Fine-tuning a recalibrated checkpoint gives new weights: the recorded perturbation (and every
// other weight-derived section) must not follow them, or a plain `eval` would apply it.
TEST(Cli, FineTuningARecalibratedModelDropsItsRecordedPerturbation) {
  if (!file_exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "apt-get install dataset-fashion-mnist";
  const std::string dir = testing::temp_dir();
  auto r = run_command(cli_path() + " recalibrate --quiet --images 64 --noise seed-003 --eta 0.05 --seed 3 -o " + dir +
                       "/recal.safetensors");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_command(cli_path() + " eval --limit 64 --quiet --model " + dir + "/recal.safetensors");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("noise=seed-003"), std::string::npos) << r.output;  // the recorded perturbation
  r = run_command(cli_path() + " train --quiet --epochs 1 --train-limit 128 --eval-limit 64 --batch-size 64 --from " +
                  dir + "/recal.safetensors -o " + dir + "/tuned.safetensors");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json meta = read_safetensors(dir + "/tuned.safetensors").metadata;
  EXPECT_FALSE(meta.contains("recalibration")) << meta.dump();
  r = run_command(cli_path() + " eval --limit 64 --quiet --model " + dir + "/tuned.safetensors");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("arith  fp32 (from default"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace bnrecal

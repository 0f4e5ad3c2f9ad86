// CLI tests for calibrate / recalibrate / experiment noise (need the commands wired into main).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "bnrecal/core/files.h"
#include "bnrecal/models/checkpoint.h"
#include "test_support.h"

using namespace bnrecal;
using namespace bnrecal::testing;

namespace {

const std::string& model_path() { return untrained_resnet20_checkpoint(); }

// exit_code 1: bad input (the model, the data); 2: bad usage (an option's value).
void expect_error(int exit_code, const std::string& args, const std::string& out, const std::string& needle = "") {
  CommandResult r = bnrecal_cli(args + " -o " + out);
  EXPECT_EQ(r.exit_code, exit_code) << args << "\n" << r.output;
  EXPECT_FALSE(file_exists(out)) << args;
  if (!needle.empty()) EXPECT_NE(r.output.find(needle), std::string::npos) << r.output;
}

}  // namespace

TEST(RecalCli, BadInputExitsOneAndWritesNothing) {
  const std::string m = "recalibrate --model " + model_path() + " --images 32 --batch-size 16";
  const std::string out = temp_dir() + "/never.safetensors";
  expect_error(2, m + " --estimator median", out, "pooled");
  expect_error(2, m + " --momentum 1.5", out, "momentum");
  expect_error(2, m + " --decay -0.5", out, "decay");
  expect_error(2, m + " --noise seed-003 --eta -0.1", out, "eta");
  expect_error(2, m + " --noise seed-003", out, "--eta");  // noise at eta 0 would be no noise
  expect_error(2, m + " --eta 0.1", out, "--noise");
  expect_error(2, m + " --noise pink --eta 0.1", out, "seed-003");
  expect_error(2, m + " --policy int3", out, "a8w8");
  expect_error(2, m + " --policy \"sysmt smt=3\"", out, "smt=1|2|4");
  expect_error(1, m + " --policy a8w8", out, "bnrecal calibrate");
  expect_error(1, m + " --layers nothing", out, "BN");
  expect_error(1, "recalibrate --model " + model_path() + " --images 100000000", out, "training split");
  // Both conventions at once is a usage error.
  CommandResult r = bnrecal_cli(m + " --momentum 0.1 --decay 0.9 -o " + out);
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

TEST(RecalCli, CalibrateThenRecalibrateA8W8ThenNoiseStudy) {
  const std::string cal = temp_dir() + "/cal.safetensors";
  CommandResult r = bnrecal_cli("calibrate --model " + model_path() + " --images 64 --batch-size 32 -o " + cal);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Checkpoint c = read_safetensors(cal);
  ASSERT_TRUE(c.metadata.contains("activation_calibration"));
  EXPECT_EQ(c.metadata["activation_calibration"]["images"], 64);
  EXPECT_TRUE(c.metadata["activation_calibration"]["layers"].contains("layer1.0.conv1"));

  const std::string rec = temp_dir() + "/rec.safetensors";
  const std::string json = temp_dir() + "/rec.json";
  r = bnrecal_cli("recalibrate --model " + cal + " --policy a8w8 --noise seed-003 --eta 0.05 --images 64 "
                  "--batch-size 32 --estimator pooled --seed 3 -o " + rec + " --json " + json);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Checkpoint rc = read_safetensors(rec);
  ASSERT_TRUE(rc.metadata.contains("recalibration"));
  const auto& entry = rc.metadata["recalibration"].back();
  EXPECT_EQ(entry["estimator"], "pooled");
  EXPECT_EQ(entry["images"], 64);
  EXPECT_EQ(entry["seed"], 3);
  EXPECT_EQ(entry["perturbation"]["policy"], "a8w8");
  EXPECT_NE(entry["variance"].get<std::string>().find("unbiased"), std::string::npos);
  EXPECT_TRUE(file_exists(json));

  // eval without perturbation flags evaluates under the recorded perturbation and seed: the same
  // result as giving them explicitly, and not the fp32 result.
  auto eval_json = [&](const std::string& flags) {
    const std::string out = temp_dir() + "/eval.json";
    CommandResult e = bnrecal_cli("eval --model " + rec + " --limit 64 --json " + out + " " + flags);
    EXPECT_EQ(e.exit_code, 0) << e.output;
    return nlohmann::json::parse(read_file(out));
  };
  const nlohmann::json recorded = eval_json("");
  EXPECT_EQ(recorded["config"]["perturbation_source"], "checkpoint (last recalibration)");
  EXPECT_EQ(recorded["config"]["perturbation"]["policy"], "a8w8");
  EXPECT_EQ(recorded["seed"], 3);
  const nlohmann::json explicit_flags = eval_json("--policy a8w8 --noise seed-003 --eta 0.05 --seed 3");
  EXPECT_EQ(explicit_flags["config"]["perturbation_source"], "flags");
  EXPECT_EQ(recorded["top1"], explicit_flags["top1"]);
  EXPECT_EQ(recorded["loss"], explicit_flags["loss"]);
  const nlohmann::json fp32 = eval_json("--policy fp32");
  EXPECT_NE(recorded["loss"], fp32["loss"]);

  const std::string md = temp_dir() + "/noise.md";
  r = bnrecal_cli("experiment noise --model " + cal + " --eta 0,0.05 --seeds 2 --recal-images 64 "
                  "--recal-batch-size 32 --limit 64 --markdown " + md);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string table = read_file(md);
  EXPECT_NE(table.find("eta0=0.05"), std::string::npos) << table;
  EXPECT_NE(table.find("A8W8 + recal"), std::string::npos) << table;
  EXPECT_NE(table.find("recal gain (paired)"), std::string::npos) << table;  // the default 3 draws
  EXPECT_NE(table.find("McNemar"), std::string::npos) << table;
}

// `bnrecal prune` as users run it: the pruned checkpoint, its metadata, bad input, and
// fine-tuning with `train --from` that keeps the pruned weights at zero.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "bnrecal/core/files.h"
#include "bnrecal/models/checkpoint.h"
#include "test_support.h"

namespace bnrecal {
namespace {

using testing::cli_path;
using testing::run_command;
using testing::temp_dir;

std::string reference_model() { return testing::source_dir() + "/models/fashion-mnist-resnet20.safetensors"; }

at::Tensor tensor_of(const Checkpoint& c, const std::string& name) {
  for (const auto& [n, t] : c.tensors)
    if (n == name) return t;
  ADD_FAILURE() << "no tensor " << name;
  return at::zeros({1});
}

int64_t zeros_in(const Checkpoint& c, const std::string& name) { return (tensor_of(c, name) == 0).sum().item<int64_t>(); }

TEST(CliPrune, BadInputExitsOneAndWritesNothing) {
  const std::string out = temp_dir() + "/never.safetensors";
  for (const char* args : {"--fraction 1", "--fraction -0.2", "--fraction 0.3 --layers nothing.here"}) {
    const auto r = run_command(cli_path() + " prune -m " + reference_model() + " " + args + " -o " + out + " 2>&1");
    EXPECT_EQ(r.exit_code, 1) << args << "\n" << r.output;
    EXPECT_FALSE(file_exists(out)) << args;
  }
  const auto r = run_command(cli_path() + " prune -m " + reference_model() + " --fraction 0.3 --scope channel -o " +
                             out + " 2>&1");
  EXPECT_EQ(r.exit_code, 2) << r.output;  // not one of the scopes: a usage error
  EXPECT_FALSE(file_exists(out));
}

TEST(CliPrune, PruneThenFineTuneKeepsTheZeros) {
  if (!file_exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "apt-get install dataset-fashion-mnist";
  const std::string pruned = temp_dir() + "/pruned.safetensors", json = temp_dir() + "/prune.json";
  auto r = run_command(cli_path() + " prune --fraction 0.4 --scope global -o " + pruned + " --json " + json + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("total"), std::string::npos) << r.output;
  const nlohmann::json report = nlohmann::json::parse(read_file(json));
  EXPECT_NEAR(report["sparsity"].get<double>(), 0.4, 1e-4);
  const Checkpoint c = read_safetensors(pruned);
  EXPECT_EQ(c.metadata["pruning"]["scope"], "global");
  EXPECT_EQ(zeros_in(c, "conv1.weight"), 0);  // the first conv is not accelerated: not pruned
  const int64_t zeros = zeros_in(c, "layer3.1.conv2.weight");
  EXPECT_GT(zeros, 0);

  const std::string tuned = temp_dir() + "/tuned.safetensors";
  r = run_command(cli_path() + " train --from " + pruned + " --epochs 1 --train-limit 256 --batch-size 64 "
                  "--eval-limit 64 --lr 0.01 --quiet --threads 2 -o " + tuned + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const Checkpoint t = read_safetensors(tuned);
  const at::Tensor before = tensor_of(c, "layer3.1.conv2.weight"), after = tensor_of(t, "layer3.1.conv2.weight");
  EXPECT_TRUE((after == 0).equal(before == 0));
  EXPECT_FALSE(after.equal(before));
  EXPECT_TRUE(t.metadata.contains("pruning"));
}

}  // namespace
}  // namespace bnrecal

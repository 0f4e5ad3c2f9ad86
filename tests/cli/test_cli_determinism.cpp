// Same seed, same results: eval, calibrate and recalibrate give bit-identical outputs when run
// again and when run on another thread count (the kernels split work by output element, never
// the order of a sum; random draws come from per-purpose seeded generators, not from threads).
#include <gtest/gtest.h>

#include "bnrecal/core/files.h"
#include "bnrecal/models/checkpoint.h"
#include "test_support.h"

using namespace bnrecal;
using namespace bnrecal::testing;

namespace {

std::string reference(const std::string& name) { return source_dir() + "/models/" + name; }

// The results of `bnrecal ARGS --threads T --json ...`, provenance (times, thread count) removed.
nlohmann::json eval_results(const std::string& args, int threads) {
  const std::string json = temp_dir() + "/eval.json";
  const CommandResult r =
      run_command(cli_path() + " " + args + " --quiet --threads " + std::to_string(threads) + " --json " + json + " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(read_file(json));
  return {{"top1", j.at("top1")}, {"loss", j.at("loss")}};
}

// Every tensor and the metadata of the checkpoint that `bnrecal ARGS -o OUT --threads T` writes.
Checkpoint written_checkpoint(const std::string& args, int threads) {
  const std::string out = temp_dir() + "/out.safetensors";
  const CommandResult r =
      run_command(cli_path() + " " + args + " --quiet --threads " + std::to_string(threads) + " -o " + out + " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return read_safetensors(out);
}

void expect_identical(const Checkpoint& a, const Checkpoint& b) {
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    EXPECT_EQ(a.tensors[i].first, b.tensors[i].first);
    EXPECT_TRUE(at::equal(a.tensors[i].second, b.tensors[i].second)) << a.tensors[i].first;
  }
  auto without_times = [](nlohmann::json m) {
    if (m.contains("recalibration")) {
      for (auto& record : m["recalibration"]) record.erase("seconds");  // wall time, not a result
    }
    return m;
  };
  EXPECT_EQ(without_times(a.metadata), without_times(b.metadata))
      << nlohmann::json::diff(a.metadata, b.metadata).dump();
}

}  // namespace

TEST(Determinism, EvalIsIdenticalAcrossRunsAndThreadCounts) {
  if (!file_exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "apt-get install dataset-fashion-mnist";
  const std::string args = "eval -m " + reference("fashion-mnist-resnet20.calibrated.safetensors") +
                           " --policy \"sysmt smt=4\" --noise seed-003 --eta 0.04 --seed 5 --limit 512";
  const nlohmann::json one = eval_results(args, 1);
  EXPECT_EQ(eval_results(args, 1), one);
  EXPECT_EQ(eval_results(args, 2), one);
}

TEST(Determinism, CalibrateAndRecalibrateAreIdenticalAcrossRunsAndThreadCounts) {
  if (!file_exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "apt-get install dataset-fashion-mnist";
  const std::string calibrate = "calibrate -m " + reference("fashion-mnist-resnet20.safetensors") + " --images 256 --seed 3";
  const Checkpoint calibrated = written_checkpoint(calibrate, 1);
  expect_identical(written_checkpoint(calibrate, 1), calibrated);
  expect_identical(written_checkpoint(calibrate, 2), calibrated);

  const std::string recalibrate = "recalibrate -m " + reference("fashion-mnist-resnet20.calibrated.safetensors") +
                                  " --policy \"sysmt smt=2\" --noise seed-003 --eta 0.04 --images 256 --seed 3";
  const Checkpoint recalibrated = written_checkpoint(recalibrate, 1);
  expect_identical(written_checkpoint(recalibrate, 1), recalibrated);
  expect_identical(written_checkpoint(recalibrate, 2), recalibrated);
}

// `bnrecal study` end to end: a run killed with SIGKILL in the middle and resumed gives the same
// report as an uninterrupted run, with every step recorded exactly once; a changed job refuses to
// reuse its old records; a config mistake or a missing model exits 1 before anything is written.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "bnrecal/core/files.h"
#include "test_support.h"

using namespace bnrecal;
using namespace bnrecal::testing;

namespace {

std::string write_config(const std::string& name, int64_t limit) {
  const nlohmann::json config = {
      {"name", "kill-test"},
      {"defaults", {{"limit", limit}, {"batch_size", 32}, {"recal", {{"images", 64}, {"draws", 2}}}}},
      {"jobs",
       {{{"experiment", "nbsmt"}, {"threads", {2}}, {"diag_images", 8},
         {"model", source_dir() + "/models/fashion-mnist-resnet20.calibrated.safetensors"}},
        {{"experiment", "noise"}, {"etas", {0.02, 0.05, 0.1}}, {"seeds", 2}, {"quantization", false},
         {"model", untrained_resnet20_checkpoint()}}}}};
  const std::string path = temp_dir() + "/" + name;
  write_file_atomic(path, config.dump(2));
  return path;
}

int journal_records(const std::string& path) {
  if (!file_exists(path)) return 0;
  const std::string text = read_file(path);
  return static_cast<int>(std::count(text.begin(), text.end(), '\n')) - 1;  // minus the header
}

std::vector<std::string> recorded_steps(const std::string& path) {
  std::vector<std::string> steps;
  const std::string text = read_file(path);
  size_t start = text.find('\n') + 1;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    steps.push_back(nlohmann::json::parse(text.substr(start, end - start))["step"]);
    start = end + 1;
  }
  return steps;
}

}  // namespace

TEST(StudyCli, AKilledRunResumesWithoutLosingOrRepeatingAStep) {
  const std::string config = write_config("study.json", 48);
  const std::string whole = temp_dir() + "/whole", killed = temp_dir() + "/killed";
  // Not quiet: the study-level progress (step N of M, an ETA once a step has finished).
  CommandResult r = run_command(cli_path() + " study " + config + " -o " + whole + " --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(journal_records(whole + "/journal.jsonl"), 4);
  EXPECT_NE(r.output.find("[study 1/4] step 1 of 4: nbsmt:fashion-mnist-resnet20/2T\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("step 4 of 4: noise:r20/eta=0.1, ETA "), std::string::npos) << r.output;

  // Start the same study in the background and kill it as soon as its first step is recorded.
  r = run_command(cli_path() + " study " + config + " -o " + killed +
                  " --quiet --threads 2 >/dev/null 2>&1 & echo $!");
  const std::string pid = r.output.substr(0, r.output.find('\n'));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while (journal_records(killed + "/journal.jsonl") < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  run_command("kill -9 " + pid + "; while kill -0 " + pid + " 2>/dev/null; do sleep 0.05; done");
  const int before = journal_records(killed + "/journal.jsonl");
  ASSERT_GE(before, 1);

  r = bnrecal_cli("study " + config + " -o " + killed);  // without --resume: refused, nothing touched
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("--resume"), std::string::npos) << r.output;
  EXPECT_EQ(journal_records(killed + "/journal.jsonl"), before);

  r = bnrecal_cli("study " + config + " -o " + killed + " --resume");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(recorded_steps(killed + "/journal.jsonl").size(), 4u);
  std::vector<std::string> steps = recorded_steps(killed + "/journal.jsonl");
  std::sort(steps.begin(), steps.end());
  EXPECT_EQ(std::unique(steps.begin(), steps.end()), steps.end()) << "a step recorded twice";
  EXPECT_EQ(read_file(killed + "/study.md"), read_file(whole + "/study.md"));
  EXPECT_EQ(read_file(killed + "/study.csv"), read_file(whole + "/study.csv"));
  EXPECT_NE(read_file(whole + "/study.md").find("| noise:r20 | 0.020 |"), std::string::npos)
      << read_file(whole + "/study.md");

  // The same output with a changed job: its old records are not reused silently.
  r = bnrecal_cli("study " + write_config("changed.json", 40) + " -o " + killed + " --resume");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("another configuration of its job"), std::string::npos) << r.output;
}

TEST(StudyCli, AConfigMistakeOrAMissingModelExitsOneBeforeWritingAnything) {
  nlohmann::json config = {{"jobs", {{{"experiment", "noise"}, {"model", "m.safetensors"}, {"seedz", 2}}}}};
  const std::string path = temp_dir() + "/bad.json", out = temp_dir() + "/bad-out";
  write_file_atomic(path, config.dump());
  const CommandResult r = bnrecal_cli("study " + path + " -o " + out);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("jobs[0]: unknown key 'seedz'"), std::string::npos) << r.output;
  EXPECT_FALSE(file_exists(out + "/journal.jsonl"));

  config["jobs"][0].erase("seedz");  // valid now, but the model does not exist
  write_file_atomic(path, config.dump());
  const CommandResult missing = bnrecal_cli("study " + path + " -o " + out);
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_NE(missing.output.find("m.safetensors' not found"), std::string::npos) << missing.output;
  EXPECT_FALSE(file_exists(out + "/journal.jsonl"));
}

// Distributed runs over loopback (127.0.0.1 only): `bnrecal launch -n 2|3 -- eval|recalibrate|study`
// must give what one process gives, bit for bit; a study resumes with another number of ranks; a
// rank that dies or a store that is not there must stop the others with an error in bounded time.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "bnrecal/core/files.h"
#include "bnrecal/models/checkpoint.h"
#include "bnrecal/recal/recalibrate.h"
#include "test_support.h"

using namespace bnrecal;
using namespace bnrecal::testing;

namespace {

const std::string& reference_model() {
  static const std::string path = source_dir() + "/models/fashion-mnist-resnet20.calibrated.safetensors";
  return path;
}

nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(read_file(path)); }

// `bnrecal ARGS` alone, or as N ranks through `launch`; the result JSON it wrote.
nlohmann::json run_json(const std::string& args, int processes, const std::string& json_path) {
  const std::string command = processes == 1 ? args : "launch -n " + std::to_string(processes) + " -- " + args;
  const CommandResult r = bnrecal_cli(command + " --json " + json_path);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return read_json(json_path);
}

// A small study: NB-SMT 2T on the reference model and noise at three levels on an untrained one
// (4 steps); `with_noise` false keeps only the NB-SMT job.
std::string write_study(const std::string& path, bool with_noise) {
  nlohmann::json jobs = {{{"experiment", "nbsmt"}, {"threads", {2}}, {"diag_images", 8}, {"model", reference_model()}}};
  if (with_noise) {
    jobs.push_back({{"experiment", "noise"}, {"etas", {0.02, 0.05, 0.1}}, {"seeds", 2}, {"quantization", false},
                    {"model", untrained_resnet20_checkpoint()}});
  }
  const nlohmann::json config = {
      {"name", "shared"},
      {"defaults", {{"limit", 48}, {"batch_size", 32}, {"recal", {{"images", 64}, {"draws", 2}}}}},
      {"jobs", jobs}};
  write_file_atomic(path, config.dump(2));
  return path;
}

// The steps of a journal, sorted; and how many lines it has.
std::vector<std::string> journal_steps(const std::string& path) {
  std::vector<std::string> steps;
  const std::string text = read_file(path);
  for (size_t start = text.find('\n') + 1; start < text.size();) {
    const size_t end = text.find('\n', start);
    steps.push_back(nlohmann::json::parse(text.substr(start, end - start))["step"]);
    start = end + 1;
  }
  std::sort(steps.begin(), steps.end());
  return steps;
}

// Every BN layer's running statistics and batch count, equal bit for bit.
void expect_same_statistics(const std::string& a, const std::string& b) {
  LoadedModel ma = load_model(a), mb = load_model(b);
  const auto la = bn_layers(*ma.network), lb = bn_layers(*mb.network);
  ASSERT_EQ(la.size(), lb.size());
  for (size_t i = 0; i < la.size(); ++i) {
    EXPECT_TRUE(la[i].bn->running_mean.equal(lb[i].bn->running_mean)) << la[i].name;
    EXPECT_TRUE(la[i].bn->running_var.equal(lb[i].bn->running_var)) << la[i].name;
    EXPECT_TRUE(la[i].bn->num_batches_tracked.equal(lb[i].bn->num_batches_tracked)) << la[i].name;
  }
}

// Starts `bnrecal ARGS` as rank `rank` of a 2-rank job on loopback `port`, with the given timeout,
// its output in `log`.
pid_t start_rank(int rank, int port, int timeout_seconds, const std::string& args, const std::string& log) {
  const std::string command = "RANK=" + std::to_string(rank) + " WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" +
                              std::to_string(port) + " BNRECAL_DIST_TIMEOUT=" + std::to_string(timeout_seconds) +
                              " exec " + cli_path() + " " + args + " > " + log + " 2>&1";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

std::string read_if_present(const std::string& path) { return file_exists(path) ? read_file(path) : std::string(); }

// Kills `victim` (SIGKILL) once `text` appears in `log` (at most 2 minutes on), and reaps it.
void kill_once_logged(pid_t victim, const std::string& log, const std::string& text) {
  const auto start = std::chrono::steady_clock::now();
  while (read_if_present(log).find(text) == std::string::npos &&
         std::chrono::steady_clock::now() - start < std::chrono::minutes(2)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(victim, SIGKILL);
  ::waitpid(victim, nullptr, 0);
}

// Waits for `pid`; its exit code (-1 when a signal ended it) and the seconds it took.
std::pair<int, double> wait_exit(pid_t pid) {
  const auto start = std::chrono::steady_clock::now();
  int status = 0;
  ::waitpid(pid, &status, 0);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, seconds};
}

}  // namespace

TEST(DistributedCli, EvaluationEqualsOneProcess) {
  const std::string dir = temp_dir();
  // 500 images in batches of 48: 11 batches, the last one short, split 6/5 and 4/4/3.
  const std::string args = "eval -m " + reference_model() + " --limit 500 --batch-size 48 --policy \"sysmt smt=2\"";
  const nlohmann::json one = run_json(args, 1, dir + "/one.json");
  for (int processes : {2, 3}) {
    const nlohmann::json many = run_json(args, processes, dir + "/many.json");
    for (const char* key : {"n", "top1", "top5", "top1_stderr", "top5_stderr", "loss"}) {
      EXPECT_EQ(many.at(key), one.at(key)) << key << " with " << processes << " processes";
    }
  }
}

TEST(DistributedCli, EveryEstimatorRecalibratesAsOneProcess) {
  const std::string dir = temp_dir();
  const std::string base = "recalibrate -m " + reference_model() + " --policy \"sysmt smt=2\" --images 200 --batch-size 32";
  struct Case {
    std::string flags;
    int processes;
  };
  // 200 images in batches of 32: 7 batches, the last short; pooled and sequential also on 3 ranks.
  const std::vector<Case> cases = {{"--estimator ema --momentum 0.2", 2}, {"--estimator ema-reset", 2},
                                   {"--estimator cumulative", 2},         {"--estimator final", 2},
                                   {"--estimator pooled", 2},             {"--estimator pooled", 3},
                                   {"--estimator cumulative --sequential --layers \"layer3.*\"", 3}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.flags + " on " + std::to_string(c.processes) + " processes");
    const CommandResult one = bnrecal_cli(base + " " + c.flags + " -o " + dir + "/one.safetensors");
    ASSERT_EQ(one.exit_code, 0) << one.output;
    const CommandResult many = bnrecal_cli("launch -n " + std::to_string(c.processes) + " -- " + base + " " + c.flags +
                                           " -o " + dir + "/many.safetensors");
    ASSERT_EQ(many.exit_code, 0) << many.output;
    expect_same_statistics(dir + "/one.safetensors", dir + "/many.safetensors");
  }
  // Only rank 0 writes: no temporary or second file beside the checkpoint.
  size_t files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 2u);
}

TEST(DistributedCli, CommandsThatRunInOneProcessRefuseToBeLaunched) {
  const CommandResult r = bnrecal_cli("launch -n 2 -- calibrate -m " + reference_model() + " -o " + temp_dir() + "/c.safetensors");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("runs in one process"), std::string::npos) << r.output;
}

TEST(DistributedCli, MalformedLaunchVariablesAreErrorsNamingTheVariable) {
  const CommandResult r = run_command("RANK=2 WORLD_SIZE=2 " + cli_path() + " eval --limit 10 -q 2>&1");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("RANK must be in 0..1"), std::string::npos) << r.output;
}

TEST(DistributedCli, AStoreThatIsNotThereIsAnErrorWithinTheTimeout) {
  // Rank 1 of 2 with nobody serving the port: it must give up after the 3 s timeout.
  const auto start = std::chrono::steady_clock::now();
  const CommandResult r = run_command("RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=1 BNRECAL_DIST_TIMEOUT=3 " +
                                      cli_path() + " eval --limit 10 -q 2>&1");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("cannot reach the store"), std::string::npos) << r.output;
  EXPECT_LT(seconds, 60.0);
}

TEST(DistributedCli, ARankThatDiesStopsTheOthersWithAnError) {
  // Rank 1 is killed once rank 0 reports progress; rank 0 must then fail with an error, not hang.
  const std::string dir = temp_dir();
  const int port = 29000 + static_cast<int>(::getpid() % 2000);
  const std::string args = "eval -m " + reference_model() + " --batch-size 16 --threads 1 --policy \"sysmt smt=4\"";
  const pid_t rank0 = start_rank(0, port, 20, args, dir + "/rank0.log");
  const pid_t rank1 = start_rank(1, port, 20, args, dir + "/rank1.log");
  // Rank 0 prints progress lines (not a terminal: one every ~10 %); kill rank 1 at the first.
  kill_once_logged(rank1, dir + "/rank0.log", "eval ");
  const auto [code, seconds] = wait_exit(rank0);
  const std::string log = read_file(dir + "/rank0.log");
  EXPECT_EQ(code, 1) << log;
  EXPECT_NE(log.find("lost the other ranks"), std::string::npos) << log;
  // Rank 0 finishes its own half first (5,000 images at 4T on one thread), then fails at once (the
  // closed connection) or at the latest after the 20 s timeout.
  EXPECT_LT(seconds, 300.0) << log;
}

TEST(DistributedCli, AStudySharedByRanksEqualsOneProcessAndResumesWithAnotherWorldSize) {
  const std::string dir = temp_dir();
  const std::string config = write_study(dir + "/study.json", true);
  CommandResult r = bnrecal_cli("study " + config + " -o " + dir + "/alone");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::vector<std::string> all_steps = journal_steps(dir + "/alone/journal.jsonl");
  ASSERT_EQ(all_steps.size(), 4u);

  r = bnrecal_cli("launch -n 2 -- study " + config + " -o " + dir + "/shared");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(journal_steps(dir + "/shared/journal.jsonl"), all_steps);  // each step exactly once
  EXPECT_EQ(read_file(dir + "/shared/study.md"), read_file(dir + "/alone/study.md"));
  EXPECT_EQ(read_file(dir + "/shared/study.csv"), read_file(dir + "/alone/study.csv"));

  // Part of the study on 3 ranks (more ranks than steps), the rest resumed on 2.
  r = bnrecal_cli("launch -n 3 -- study " + write_study(dir + "/part.json", false) + " -o " + dir + "/resumed");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(journal_steps(dir + "/resumed/journal.jsonl").size(), 1u);
  r = bnrecal_cli("launch -n 2 -- study " + config + " -o " + dir + "/resumed --resume");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(journal_steps(dir + "/resumed/journal.jsonl"), all_steps);
  EXPECT_EQ(read_file(dir + "/resumed/study.md"), read_file(dir + "/alone/study.md"));
}

TEST(DistributedCli, ARankThatDiesStopsTheStudyAndResumeCompletesIt) {
  const std::string dir = temp_dir();
  const std::string config = write_study(dir + "/study.json", true);
  const int port = 31000 + static_cast<int>(::getpid() % 2000);
  const std::string args = "study " + config + " -o " + dir + "/out --threads 1";
  const pid_t rank0 = start_rank(0, port, 5, args, dir + "/rank0.log");
  const pid_t rank1 = start_rank(1, port, 5, args, dir + "/rank1.log");
  kill_once_logged(rank1, dir + "/rank0.log", "[study rank 0] step");  // both are at work by then
  const auto [code, seconds] = wait_exit(rank0);
  const std::string log = read_file(dir + "/rank0.log");
  EXPECT_EQ(code, 1) << log;
  // Rank 0 may finish the remaining steps itself before the watchdog's 5 s run out; either way it
  // must not wait for rank 1 longer than the timeout and a few heartbeats.
  EXPECT_NE(log.find("rank 1 has not answered for 5 s"), std::string::npos) << log;
  EXPECT_LT(seconds, 60.0) << log;

  const CommandResult r = bnrecal_cli("study " + config + " -o " + dir + "/out --resume");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(journal_steps(dir + "/out/journal.jsonl").size(), 4u);
}

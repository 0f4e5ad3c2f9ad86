// The launch variables and a one-rank job (a real TCPStore and Gloo group on loopback); the
// multi-process behaviour is tested through the CLI (tests/cli/test_cli_distributed.cpp).
#include <gtest/gtest.h>

#include <cstdlib>

#include "bnrecal/core/error.h"
#include "bnrecal/dist/process_group.h"
#include "test_support.h"

using namespace bnrecal;
using namespace bnrecal::testing;

namespace {
// Sets the launch variables for one test and clears them afterwards.
struct LaunchEnvironment {
  explicit LaunchEnvironment(std::initializer_list<std::pair<const char*, const char*>> values) {
    clear();
    for (const auto& [name, value] : values) ::setenv(name, value, 1);
  }
  ~LaunchEnvironment() { clear(); }
  static void clear() {
    for (const char* name : {"RANK", "WORLD_SIZE", "SLURM_PROCID", "SLURM_NTASKS", "MASTER_ADDR", "MASTER_PORT",
                             "BNRECAL_DIST_TIMEOUT"}) {
      ::unsetenv(name);
    }
  }
};
}  // namespace

TEST(DistOptions, NoLaunchVariablesMeanOneProcess) {
  LaunchEnvironment env({});
  const DistOptions o = dist_options_from_environment();
  EXPECT_EQ(o.world_size, 1);
  EXPECT_EQ(o.rank, 0);
}

TEST(DistOptions, TorchrunAndSlurmVariables) {
  {
    LaunchEnvironment env({{"RANK", "2"}, {"WORLD_SIZE", "4"}, {"MASTER_ADDR", "node7"}, {"MASTER_PORT", "1234"},
                           {"BNRECAL_DIST_TIMEOUT", "9"}});
    const DistOptions o = dist_options_from_environment();
    EXPECT_EQ(o.rank, 2);
    EXPECT_EQ(o.world_size, 4);
    EXPECT_EQ(o.master_addr, "node7");
    EXPECT_EQ(o.master_port, 1234);
    EXPECT_EQ(o.timeout, std::chrono::seconds(9));
    EXPECT_EQ(o.describe(), "rank 2 of 4 (store node7:1234)");
  }
  LaunchEnvironment env({{"SLURM_PROCID", "1"}, {"SLURM_NTASKS", "3"}});
  EXPECT_EQ(dist_options_from_environment().rank, 1);
  EXPECT_EQ(dist_options_from_environment().world_size, 3);
}

TEST(DistOptions, MalformedVariablesAreInputErrorsNamingThem) {
  auto message = [](std::initializer_list<std::pair<const char*, const char*>> values) {
    LaunchEnvironment env(values);
    return input_error_message([] { dist_options_from_environment(); });
  };
  EXPECT_NE(message({{"RANK", "0"}}).find("RANK is set but WORLD_SIZE is not"), std::string::npos);
  EXPECT_NE(message({{"RANK", "x"}, {"WORLD_SIZE", "2"}}).find("RANK must be an integer"), std::string::npos);
  EXPECT_NE(message({{"RANK", "2"}, {"WORLD_SIZE", "2"}}).find("RANK must be in 0..1"), std::string::npos);
  EXPECT_NE(message({{"RANK", "0"}, {"WORLD_SIZE", "0"}}).find("WORLD_SIZE must be in 1..4096"), std::string::npos);
  EXPECT_NE(message({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "70000"}}).find("MASTER_PORT must be in"),
            std::string::npos);
  EXPECT_NE(message({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"BNRECAL_DIST_TIMEOUT", "0"}}).find("at least 1"),
            std::string::npos);
}

TEST(ProcessGroup, OneRankGathersItsOwnBytesAndSharesTheStore) {
  DistOptions o;
  o.master_port = 0;  // let the store pick a free port
  o.timeout = std::chrono::seconds(10);
  std::unique_ptr<ProcessGroup> group = join_process_group(o);
  EXPECT_EQ(group->size(), 1);
  EXPECT_TRUE(group->owns(0) && group->owns(7));
  const std::string bytes("a\0b", 3);
  EXPECT_EQ(group->all_gather(bytes), std::vector<std::string>{bytes});
  const nlohmann::json value = {{"x", 0.1}, {"v", {1, 2}}};
  EXPECT_EQ(group->all_gather_json(value), std::vector<nlohmann::json>{value});  // doubles bit for bit
  EXPECT_EQ(group->store_add("counter", 2), 2);
  EXPECT_EQ(group->store_add("counter", 1), 3);
  EXPECT_FALSE(group->store_get("missing", std::chrono::milliseconds(50)).has_value());
  group->store_set("key", "value");
  EXPECT_EQ(group->store_get("key", std::chrono::milliseconds(0)), std::optional<std::string>("value"));
}

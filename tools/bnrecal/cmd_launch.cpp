// `bnrecal launch -n N -- COMMAND ...`: N ranks of a distributed job on this machine, as torchrun
// starts them: copies of this executable with RANK, WORLD_SIZE, MASTER_ADDR=127.0.0.1 and
// MASTER_PORT set. When one rank fails, the others are stopped, so a job never outlives a crash.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "bnrecal/core/error.h"
#include "cli_common.h"
#include "commands.h"

namespace bnrecal::cli {

namespace {
struct LaunchSpec {
  int processes = 2;
  int port = 0;
  int grace_seconds = 10;
  std::vector<std::string> command;
};

// A TCP port the kernel reports free now (bound to port 0, read back, closed).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  require(fd >= 0, "launch: cannot open a socket to find a free port");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  ::close(fd);
  require(ok, "launch: cannot find a free port (give --port)");
  return ntohs(address.sin_port);
}

pid_t start_rank(const std::vector<std::string>& command, int rank, int size, int port) {
  const pid_t pid = ::fork();
  require(pid >= 0, "launch: fork failed");
  if (pid > 0) return pid;
  ::setenv("RANK", std::to_string(rank).c_str(), 1);
  ::setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
  ::setenv("WORLD_SIZE", std::to_string(size).c_str(), 1);
  ::setenv("MASTER_ADDR", "127.0.0.1", 1);
  ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
  std::vector<char*> argv;
  std::string self = "/proc/self/exe";
  argv.push_back(self.data());
  for (const auto& a : command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execv(self.c_str(), argv.data());
  std::perror("bnrecal launch: exec");
  ::_exit(127);
}

int exit_code_of(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

// Waits for every rank; after the first failure the rest get `grace` to stop on their own (they
// see the lost peer) and are then killed. Returns the first failure's code, or 0.
int wait_for_ranks(std::vector<pid_t> pids, std::chrono::seconds grace) {
  int first_failure = 0;
  auto deadline = std::chrono::steady_clock::time_point::max();
  while (!pids.empty()) {
    int status = 0;
    const pid_t done = ::waitpid(-1, &status, deadline == std::chrono::steady_clock::time_point::max() ? 0 : WNOHANG);
    if (done > 0) {
      for (size_t r = 0; r < pids.size(); ++r) {
        if (pids[r] != done) continue;
        pids.erase(pids.begin() + static_cast<std::ptrdiff_t>(r));
        const int code = exit_code_of(status);
        if (code != 0 && first_failure == 0) {
          first_failure = code;
          deadline = std::chrono::steady_clock::now() + grace;
        }
      }
      continue;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      std::fprintf(stderr, "bnrecal launch: a rank failed; stopping the %zu still running\n", pids.size());
      for (pid_t pid : pids) ::kill(pid, SIGKILL);
      deadline = std::chrono::steady_clock::time_point::max();
      continue;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return first_failure;
}
}  // namespace

void add_launch_command(CLI::App& app) {
  auto spec = std::make_shared<LaunchSpec>();
  CLI::App* sub = app.add_subcommand(
      "launch",
      "Run a command as N processes of one distributed job on this machine (torchrun-style; on several machines "
      "set RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT yourself, see docs/distributed.md). Commands that run distributed: "
      "eval, recalibrate, study");
  sub->add_option("--nproc,-n", spec->processes, "Processes (ranks)")->check(CLI::Range(1, 256))->capture_default_str();
  sub->add_option("--port", spec->port, "Port of rank 0's store (default: a free one)")->check(CLI::Range(0, 65535));
  sub->add_option("--grace", spec->grace_seconds,
                  "Seconds the other ranks get to stop on their own after one fails, before they are killed")
      ->check(CLI::Range(0, 3600))->capture_default_str();
  sub->add_option("command", spec->command, "The bnrecal command and its options, after --")->required();
  sub->callback([spec] {
    const int port = spec->port ? spec->port : free_port();
    std::fflush(nullptr);
    std::vector<pid_t> pids;
    for (int r = 0; r < spec->processes; ++r) pids.push_back(start_rank(spec->command, r, spec->processes, port));
    const int code = wait_for_ranks(pids, std::chrono::seconds(spec->grace_seconds));
    if (code != 0) throw ExitStatus{code};
  });
}

}  // namespace bnrecal::cli

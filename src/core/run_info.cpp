#include "bnrecal/core/run_info.h"

#include <ATen/Parallel.h>
#include <torch/version.h>

#include <thread>

#include "bnrecal/git_revision.h"

namespace bnrecal {

namespace {
std::string& command_line_storage() {
  static std::string line;
  return line;
}

// Quotes an argument only when a shell would need it, so the recorded command can be pasted.
std::string shell_quote(const std::string& arg) {
  if (!arg.empty() && arg.find_first_of(" \t\n'\"\\$`*?;&|<>(){}[]!#~") == std::string::npos)
    return arg;
  std::string quoted = "'";
  for (char c : arg) quoted += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}
}  // namespace

std::string git_revision() { return BNRECAL_GIT_REVISION; }
std::string libtorch_version() { return TORCH_VERSION; }
std::string bnrecal_version() { return "0.1.0"; }

void set_command_line(int argc, char** argv) {
  std::string line;
  for (int i = 0; i < argc; ++i) {
    if (i) line += ' ';
    line += shell_quote(i == 0 ? std::string("bnrecal") : std::string(argv[i]));
  }
  command_line_storage() = line;
}

const std::string& command_line() { return command_line_storage(); }

int configure_threads(int requested) {
  int threads = requested > 0 ? requested : static_cast<int>(std::thread::hardware_concurrency());
  if (threads <= 0) threads = 1;
  at::set_num_threads(threads);
  return threads;
}

nlohmann::json run_provenance(uint64_t seed, const nlohmann::json& config) {
  return {{"config", config},
          {"seed", seed},
          {"git_revision", git_revision()},
          {"libtorch_version", libtorch_version()},
          {"bnrecal_version", bnrecal_version()},
          {"threads", at::get_num_threads()},
          {"command", command_line()}};
}

}  // namespace bnrecal

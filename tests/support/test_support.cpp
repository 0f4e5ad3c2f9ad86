#include "test_support.h"

#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "bnrecal/models/checkpoint.h"
#include "bnrecal/models/zoo.h"

namespace bnrecal::testing {

namespace {
// Deliberately leaked: the atexit cleanup must still find it after static destructors ran.
std::vector<std::string>& created_dirs() {
  static auto* dirs = new std::vector<std::string>();
  return *dirs;
}
void remove_created_dirs() {
  for (const auto& d : created_dirs()) std::filesystem::remove_all(d);
}
}  // namespace

std::string temp_dir() {
  static const bool cleanup_registered = (std::atexit(remove_created_dirs), true);
  (void)cleanup_registered;
  std::string pattern = (std::filesystem::temp_directory_path() / "bnrecal-test-XXXXXX").string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (!::mkdtemp(buffer.data())) std::abort();
  created_dirs().emplace_back(buffer.data());
  return created_dirs().back();
}

std::string cli_path() { return BNRECAL_CLI_PATH; }
std::string source_dir() { return BNRECAL_SOURCE_DIR; }

CommandResult run_command(const std::string& command) {
  CommandResult result{-1, ""};
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return result;
  char chunk[4096];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, pipe)) > 0) result.output.append(chunk, n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

CommandResult bnrecal_cli(const std::string& args) {
  return run_command(cli_path() + " " + args + " --quiet --threads 2 2>&1");
}

const std::string& untrained_resnet20_checkpoint() {
  static const std::string path = [] {
    ModelOptions o;
    o.num_classes = 10;
    o.in_channels = 1;
    torch::manual_seed(0);
    auto net = build_model("resnet20", o);
    const std::string p = temp_dir() + "/r20.safetensors";
    save_checkpoint(p, *net, ModelCard::from_json({{"arch", "resnet20"}, {"num_classes", 10},
                                                   {"input_shape", {1, 28, 28}}, {"dataset", "fashion-mnist"}}));
    return p;
  }();
  return path;
}

}  // namespace bnrecal::testing

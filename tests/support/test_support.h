// Helpers shared by the test executables.
#pragma once
#include <string>

namespace bnrecal::testing {

// A fresh, empty temporary folder, removed at process exit.
std::string temp_dir();

// Path of the built CLI and the source tree (compile definitions set by tests/CMakeLists.txt).
std::string cli_path();
std::string source_dir();

struct CommandResult {
  int exit_code;
  std::string output;  // stdout and stderr together
};
CommandResult run_command(const std::string& command);

}  // namespace bnrecal::testing

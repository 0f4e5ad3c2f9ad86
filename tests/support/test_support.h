// Helpers shared by the test executables.
#pragma once
#include <string>

#include "bnrecal/core/error.h"

namespace bnrecal::testing {

// The message of the InputError that f throws ("" when it throws none).
template <class F>
std::string input_error_message(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

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
// `bnrecal ARGS --quiet --threads 2`, stderr merged into the output.
CommandResult bnrecal_cli(const std::string& args);

// An untrained resnet20 checkpoint for Fashion-MNIST (seed 0; for tests where accuracy is
// irrelevant), saved once per process.
const std::string& untrained_resnet20_checkpoint();

}  // namespace bnrecal::testing

// Provenance for result files: every JSON result records what produced it.
//
//   nlohmann::json out = bnrecal::run_provenance(seed, config);
//   out["top1"] = 92.3;
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace bnrecal {

std::string git_revision();
std::string libtorch_version();
std::string bnrecal_version();

// {"config": config, "seed": seed, "git_revision", "libtorch_version", "bnrecal_version",
//  "threads", "command"}.
nlohmann::json run_provenance(uint64_t seed, const nlohmann::json& config);

// The command line of this process (set once by main), recorded in checkpoints and results.
void set_command_line(int argc, char** argv);
const std::string& command_line();

// Sets libtorch's intra-op threads (0 = all cores) and returns the number in use.
int configure_threads(int requested);

}  // namespace bnrecal

#include "distributed_job.h"

#include <memory>

#include "bnrecal/core/error.h"

namespace bnrecal::cli {

namespace {
std::unique_ptr<ProcessGroup>& job() {
  static std::unique_ptr<ProcessGroup> group;
  return group;
}
}  // namespace

ProcessGroup* distributed_job() {
  if (!job()) {
    const DistOptions options = dist_options_from_environment();
    if (options.world_size == 1) return nullptr;
    job() = join_process_group(options);
  }
  return job().get();
}

bool reports_results() { return dist_options_from_environment().rank == 0; }

void require_single_process(const std::string& command) {
  const DistOptions options = dist_options_from_environment();
  if (options.world_size == 1) return;
  throw UsageError("`bnrecal " + command + "` runs in one process, but this is " + options.describe() +
                   "; eval, recalibrate and study run distributed");
}

}  // namespace bnrecal::cli

// The distributed job a process of `bnrecal eval`, `recalibrate` or `study` belongs to.
// Launch variables (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT; dist/process_group.h) make a
// command one rank of a job; without them it runs alone. Only rank 0 reports: it prints, writes
// --json and checkpoints; the other ranks compute their share silently.
#pragma once
#include <string>

#include "bnrecal/dist/process_group.h"

namespace bnrecal::cli {

// The job, joined on the first call (every rank must reach it); null when the process runs alone.
ProcessGroup* distributed_job();
// Alone or rank 0.
bool reports_results();
// UsageError when launch variables ask for several processes but `command` runs in one only.
void require_single_process(const std::string& command);

}  // namespace bnrecal::cli

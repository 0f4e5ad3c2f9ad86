// The pending steps of a study shared by the ranks of a job: whichever rank is free claims the next
// step, runs it and submits its record; rank 0 collects the records and alone writes the journal,
// so the journal, the reports and --resume are those of a single-process run, whatever the number
// of ranks (a run can be resumed with another world size).
//
//   StepQueue queue(*group, rank0 ? pending_ids : {});
//   while (auto k = queue.claim()) queue.submit(*k, run(queue.pending()[*k]));
//   queue.finish();
//   if (group->rank() == 0) for (auto& r : queue.collect(/*wait_for_all=*/true)) journal.append(...);
//
// A watchdog thread keeps a heartbeat for every rank in the store. Rank 0's stops the job when a
// rank that has not finished misses its heartbeat for the timeout (it died, or its machine did);
// every rank stops when the job is aborted (a step failed on some rank) or when the store is gone
// (rank 0 died). Stopping prints one line naming the cause and exits the process with status 1:
// the journal's lines are on disk as soon as they are appended, and --resume reruns only the steps
// without a record.
#pragma once
#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "bnrecal/dist/process_group.h"

namespace bnrecal {

class StepQueue {
 public:
  // Rank 0 publishes `pending` (step id -> the step's spec, so the ranks can check they read the
  // same config); the others receive it and ignore their argument.
  StepQueue(ProcessGroup& group, const std::vector<std::pair<std::string, nlohmann::json>>& pending);
  ~StepQueue();
  StepQueue(const StepQueue&) = delete;
  StepQueue& operator=(const StepQueue&) = delete;

  const std::vector<std::pair<std::string, nlohmann::json>>& pending() const { return pending_; }
  // The index of the next unclaimed pending step, or nullopt when every step is claimed.
  std::optional<size_t> claim();
  void submit(size_t index, const nlohmann::json& record);
  // This rank claims no more steps; rank 0 stops watching its heartbeat. A rank other than 0 must
  // not use the store after it.
  void finish();
  // Tells every rank to stop (a step failed here with `message`).
  void abort(const std::string& message);

  // Rank 0: the records submitted so far that it has not returned yet, as (pending index, record);
  // with wait_for_all, blocks until every pending step has been recorded and every rank finished.
  std::vector<std::pair<size_t, nlohmann::json>> collect(bool wait_for_all);

 private:
  void watch();
  [[noreturn]] void stop(const std::string& message);
  ProcessGroup& group_;
  std::vector<std::pair<std::string, nlohmann::json>> pending_;
  int64_t collected_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread watchdog_;
};

}  // namespace bnrecal

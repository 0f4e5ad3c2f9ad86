// Several bnrecal processes, on one machine or many, working as one job over torch.distributed's
// c10d: a TCPStore served by rank 0 for rendezvous and small messages, and a Gloo process group for
// the collectives. Launched the way PyTorch jobs are: torchrun (`torchrun --no-python bnrecal ...`),
// Slurm (`srun`), Kubernetes, or `bnrecal launch`, which set
//   RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT   (Slurm: SLURM_PROCID and SLURM_NTASKS stand in
//                                                 for RANK and WORLD_SIZE)
// GLOO_SOCKET_IFNAME picks the network interface, as in PyTorch.
//
//   std::unique_ptr<bnrecal::ProcessGroup> group = bnrecal::join_process_group(bnrecal::dist_options_from_environment());
//   EvalOptions options;  options.group = group.get();       // evaluate() splits the batches
//
// Every wait is bounded by the timeout: a rank that dies or a store that cannot be reached gives
// an InputError naming what was lost, never a hang.
#pragma once
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "bnrecal/core/work_group.h"

namespace bnrecal {

struct DistOptions {
  int rank = 0;
  int world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::chrono::milliseconds timeout{std::chrono::seconds(300)};
  std::string describe() const;  // "rank 1 of 3 (store 127.0.0.1:29500)"
};

// The launch variables above; world size 1 when none is set. InputError on a malformed or
// inconsistent value (RANK without WORLD_SIZE, RANK >= WORLD_SIZE, a port outside 1..65535).
// BNRECAL_DIST_TIMEOUT (seconds) overrides the timeout.
DistOptions dist_options_from_environment();

class ProcessGroup : public WorkGroup {
 public:
  ~ProcessGroup() override;
  int rank() const override;
  int size() const override;
  std::vector<std::string> all_gather(const std::string& local) override;
  void barrier();

  // The key-value store every rank shares (small values: step ids, records, heartbeats). Safe to
  // call from several threads (one connection, taken in turn).
  void store_set(const std::string& key, const std::string& value);
  // Blocks until the key exists, at most `wait`; nullopt when it does not appear in time.
  std::optional<std::string> store_get(const std::string& key, std::chrono::milliseconds wait);
  int64_t store_add(const std::string& key, int64_t delta);

  const DistOptions& options() const;

 private:
  friend std::unique_ptr<ProcessGroup> join_process_group(const DistOptions& options);
  struct State;
  explicit ProcessGroup(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
  std::mutex store_mutex_;
};

// Connects to (rank 0: serves) the store and forms the group; returns once every rank has joined.
// InputError when the store cannot be reached or the others do not join within the timeout.
std::unique_ptr<ProcessGroup> join_process_group(const DistOptions& options);

}  // namespace bnrecal

#include "bnrecal/core/stage_profile.h"

#include <atomic>
#include <chrono>
#include <thread>

namespace bnrecal {
namespace {

std::atomic<bool> g_on{false};
// Written by set_stage_profiling(true) before it publishes g_on (release); timers read it only
// after seeing g_on (acquire). The header asks for profiling to be switched on before a forward.
std::thread::id g_timed_thread;
std::array<std::atomic<int64_t>, kStageCount> g_ns{};
std::atomic<int64_t> g_exact_macs{0}, g_run_macs{0};

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

const char* stage_name(Stage stage) {
  static const char* const names[kStageCount] = {"quantize", "im2col", "kernel", "rescale", "batchnorm"};
  return names[static_cast<int>(stage)];
}

void set_stage_profiling(bool on) {
  if (on) g_timed_thread = std::this_thread::get_id();
  g_on.store(on, std::memory_order_release);
}
bool stage_profiling() { return g_on.load(std::memory_order_relaxed); }

std::array<double, kStageCount> stage_seconds() {
  std::array<double, kStageCount> s{};
  for (int i = 0; i < kStageCount; ++i) s[i] = static_cast<double>(g_ns[i].load()) * 1e-9;
  return s;
}

void reset_stage_profile() {
  for (auto& ns : g_ns) ns.store(0);
  g_exact_macs.store(0);
  g_run_macs.store(0);
}

void count_integer_macs(int64_t exact, int64_t run) {
  if (!g_on.load(std::memory_order_relaxed)) return;
  g_exact_macs.fetch_add(exact, std::memory_order_relaxed);
  g_run_macs.fetch_add(run, std::memory_order_relaxed);
}

IntegerMacs integer_macs() { return {g_exact_macs.load(), g_run_macs.load()}; }

StageTimer::StageTimer(Stage stage)
    : stage_(stage),
      start_ns_(g_on.load(std::memory_order_acquire) && std::this_thread::get_id() == g_timed_thread
                    ? now_ns()
                    : -1) {}

StageTimer::~StageTimer() {
  if (start_ns_ >= 0) g_ns[static_cast<int>(stage_)].fetch_add(now_ns() - start_ns_);
}

}  // namespace bnrecal

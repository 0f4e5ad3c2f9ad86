// Where a perturbed forward spends its wall-clock time, by stage, for `bnrecal eval --profile` and
// the benchmarks. Off by default; when off a StageTimer costs one relaxed atomic load.
//
//   bnrecal::set_stage_profiling(true);
//   { bnrecal::StageTimer t(bnrecal::Stage::kIm2col); im2col_u8(...); }
//   std::array<double, bnrecal::kStageCount> s = bnrecal::stage_seconds();
//
// Timers measure wall time on the thread that switched profiling on and do nothing on any other
// thread: a stage that runs its own parallel region is timed whole, and where the tiles of a
// layer are shared out among threads (bnrecal/arith/parallel_tiles.h) the calling thread's
// tiles stand for the team's. Timers must not nest. Switch profiling on before a forward starts.
#pragma once
#include <array>
#include <cstdint>

namespace bnrecal {

enum class Stage : int { kQuantize, kIm2col, kKernel, kRescale, kBatchNorm };
inline constexpr int kStageCount = 5;

// "quantize", "im2col", "kernel", "rescale", "batchnorm".
const char* stage_name(Stage stage);

void set_stage_profiling(bool on);
bool stage_profiling();
// Seconds per stage (indexed by Stage) since the last reset.
std::array<double, kStageCount> stage_seconds();
void reset_stage_profile();

class StageTimer {
 public:
  explicit StageTimer(Stage stage);
  ~StageTimer();
  StageTimer(const StageTimer&) = delete;
  StageTimer& operator=(const StageTimer&) = delete;

 private:
  Stage stage_;
  int64_t start_ns_;  // -1 when profiling was off at construction
};

}  // namespace bnrecal

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

// Multiply-accumulates of the integer GEMMs while profiling is on (reset with the stage times),
// counted on every thread: `exact` are the layers' own products (rows x outputs x K), `run` those
// of the GEMM the kernel actually runs (rows x outputs x its expanded depth, see
// bnrecal/arith/sysmt.h). run / exact is the GEMM work SySMT's operand expansion adds.
struct IntegerMacs {
  int64_t exact = 0;
  int64_t run = 0;
  // run / exact, or 0 when no integer GEMM ran.
  double work() const { return exact > 0 ? static_cast<double>(run) / static_cast<double>(exact) : 0.0; }
};
void count_integer_macs(int64_t exact, int64_t run);
IntegerMacs integer_macs();

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

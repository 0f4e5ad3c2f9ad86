// The NB-SMT study's mixed-setting sweep schedule (docs/sysmt-arithmetic.md section 8; the
// SySMT paper leaves "which layers to decelerate" open): accelerated layers ranked by their MSE
// against exact A8W8, highest first; phase 1 moves the top i layers from 4T to 2T, phase 2 the
// top i from 2T to 1T (the rest at 2T), for i = step, 2*step, ..., all. Pure functions, so the
// schedule is tested apart from the study.
//
//   std::vector<size_t> ranked = bnrecal::rank_by_mse(mse);          // layer indices
//   for (const auto& point : bnrecal::nbsmt_sweep_schedule(ranked.size(), 3)) ...
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bnrecal {

struct SweepPoint {
  std::string label;         // "3 at 2T, rest 4T"
  std::vector<int> threads;  // T for each ranked layer, highest MSE first
};

// Indices of the entries of mse, highest first (stable: equal MSEs keep their order).
std::vector<size_t> rank_by_mse(const std::vector<double>& mse);

// Both phases for `layers` ranked layers; the last point of each phase takes all of them.
// Empty when layers == 0; step < 1 is treated as 1.
std::vector<SweepPoint> nbsmt_sweep_schedule(size_t layers, int64_t step);

}  // namespace bnrecal

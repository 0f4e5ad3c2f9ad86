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

// The thread-assignment search's path (nbsmt_assignment.h): from every layer at 1T to every layer
// at 4T, one move per point (a layer 1T -> 2T or 2T -> 4T), cheapest first, where a move's price
// is its measured accuracy cost (e.g. validation-loss increase) per cycle it saves (macs / 2 for
// 1T -> 2T, macs / 4 for 2T -> 4T); a layer's 2T -> 4T move waits for its 1T -> 2T move. Returns
// 2 * layers + 1 points, threads in the layers' own order (not ranked), labelled "greedy k".
std::vector<SweepPoint> greedy_thread_path(const std::vector<int64_t>& macs, const std::vector<double>& cost_1to2,
                                           const std::vector<double>& cost_2to4);

}  // namespace bnrecal

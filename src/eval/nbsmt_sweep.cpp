#include "bnrecal/eval/nbsmt_sweep.h"

#include <algorithm>
#include <numeric>

namespace bnrecal {

std::vector<size_t> rank_by_mse(const std::vector<double>& mse) {
  std::vector<size_t> order(mse.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return mse[a] > mse[b]; });
  return order;
}

std::vector<SweepPoint> nbsmt_sweep_schedule(size_t layers, int64_t step) {
  const size_t stride = static_cast<size_t>(std::max<int64_t>(step, 1));
  std::vector<size_t> counts;  // how many ranked layers each point decelerates
  for (size_t i = stride; i < layers; i += stride) counts.push_back(i);
  if (layers > 0) counts.push_back(layers);
  // Phase 1: top i at 2T, rest 4T. Phase 2: top i at 1T, rest 2T.
  const int fast[2] = {4, 2}, slow[2] = {2, 1};
  std::vector<SweepPoint> points;
  for (int phase = 0; phase < 2; ++phase) {
    for (const size_t i : counts) {
      SweepPoint p;
      p.label = std::to_string(i) + " at " + std::to_string(slow[phase]) + "T, rest " +
                std::to_string(fast[phase]) + "T";
      for (size_t j = 0; j < layers; ++j) p.threads.push_back(j < i ? slow[phase] : fast[phase]);
      points.push_back(p);
    }
  }
  return points;
}

}  // namespace bnrecal

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

std::vector<SweepPoint> greedy_thread_path(const std::vector<int64_t>& macs, const std::vector<double>& cost_1to2,
                                           const std::vector<double>& cost_2to4) {
  const size_t n = macs.size();
  struct Move {
    size_t layer;
    int to;
    double price;
  };
  std::vector<Move> moves;
  for (size_t l = 0; l < n; ++l) {
    const double m = static_cast<double>(std::max<int64_t>(macs[l], 1));
    moves.push_back({l, 2, cost_1to2[l] / (m / 2)});
    moves.push_back({l, 4, cost_2to4[l] / (m / 4)});
  }
  std::stable_sort(moves.begin(), moves.end(), [](const Move& a, const Move& b) { return a.price < b.price; });
  std::vector<SweepPoint> path(1);
  path[0].threads.assign(n, 1);
  std::vector<bool> deferred(n, false);  // 2T -> 4T reached before the layer's 1T -> 2T
  auto step = [&](size_t layer, int to) {
    SweepPoint p{"", path.back().threads};
    p.threads[layer] = to;
    path.push_back(p);
  };
  for (const Move& m : moves) {
    if (m.to == 4 && path.back().threads[m.layer] == 1) {
      deferred[m.layer] = true;
      continue;
    }
    step(m.layer, m.to);
    if (m.to == 2 && deferred[m.layer]) step(m.layer, 4);
  }
  for (size_t k = 0; k < path.size(); ++k) path[k].label = "greedy " + std::to_string(k);
  return path;
}

}  // namespace bnrecal

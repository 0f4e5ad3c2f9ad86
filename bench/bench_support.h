// Pieces the benchmark programs share.
#pragma once
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <memory>
#include <string>

#include "bnrecal/models/zoo.h"

namespace bnrecal::bench {

// A zoo model with seed-0 random weights, in eval mode: benchmarks time arithmetic, not accuracy.
inline std::shared_ptr<Network> random_model(const std::string& arch, int64_t classes, int64_t in_channels) {
  torch::manual_seed(0);
  ModelOptions options;
  options.num_classes = classes;
  options.in_channels = in_channels;
  std::shared_ptr<Network> net = build_model(arch, options);
  net->eval();
  return net;
}

// Wall-clock milliseconds over every thread, for a benchmark taking the batch size as its argument.
inline void per_batch_wall_time(benchmark::internal::Benchmark* b, int64_t batch) {
  b->Arg(batch)->ArgName("batch")->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime();
}

}  // namespace bnrecal::bench

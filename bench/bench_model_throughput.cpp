// Whole-model evaluation throughput under each arithmetic, relative to FP32 (issue targets: a8w8
// >= 1.5x, sysmt 2T >= 0.7x, 4T >= 0.3x), with the per-stage split of the wall time.
//
//   BM_Forward/<arch>/<arithmetic>/threads:T   no-grad forwards of one fixed batch
//   ("a8w8 im2col": a8w8 with im2col + GEMM instead of oneDNN's direct convolution)
//
// Models: resnet20 (28x28, one channel, batch 256) and resnet18 / resnet50 (224x224, RGB, batch
// 32), seed-0 random weights, BN statistics and activation ranges set from the benchmark batch
// (timing does not depend on the weights' values: the integer paths do the same work for any
// codes). The input is a ReLU'd normal batch, so about half the codes are zero, like the inputs
// of post-ReLU layers. Counters: images/s (items_per_second) and, per stage (bnrecal/core/
// stage_profile.h), its share of the wall time ("other" is every fp32 layer, ReLU, pooling, adds).
// Compare ratios within one run (the machine's load varies between runs):
//
//   build/bench/bench_model_throughput --benchmark_filter=resnet20
//   bash scripts/run_model_throughput_bench.sh     # the ratio table of docs/results.md
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "bnrecal/arith/dispatch.h"
#include "bnrecal/core/allocator.h"
#include "bnrecal/core/stage_profile.h"
#include "bnrecal/nn/calibration.h"
#include "bnrecal/nn/model_calibration.h"
#include "bnrecal/nn/policy_resolution.h"
#include "bnrecal/recal/recalibrate.h"
#include "bench_support.h"

namespace {

struct ModelCase {
  std::string arch;
  int64_t channels, size, batch;
};

const ModelCase kModels[] = {{"resnet20", 1, 28, 256}, {"resnet18", 3, 224, 32}, {"resnet50", 3, 224, 32}};
struct Arithmetic {
  const char* label;
  const char* policy;
  const char* direct_conv;  // Kernel::kDirectConv implementation to force, or null (automatic)
};
// "a8w8 im2col" is a8w8 without oneDNN's direct convolution: the same run's comparison.
const Arithmetic kArithmetics[] = {{"fp32", "fp32", nullptr},
                                   {"a8w8", "a8w8", nullptr},
                                   {"a8w8 im2col", "a8w8", "portable"},
                                   {"sysmt smt=2", "sysmt smt=2", nullptr},
                                   {"sysmt smt=4", "sysmt smt=4", nullptr}};

// One calibrated model and batch per architecture, built on first use.
struct Prepared {
  std::shared_ptr<bnrecal::Network> net;
  at::Tensor batch;
  bnrecal::ModelCalibration calibration;
};

Prepared& prepared(const ModelCase& m) {
  static std::map<std::string, Prepared> cache;
  auto it = cache.find(m.arch);
  if (it != cache.end()) return it->second;
  Prepared p;
  p.net = bnrecal::bench::random_model(m.arch, 10, m.channels);
  torch::manual_seed(1);
  p.batch = torch::randn({m.batch, m.channels, m.size, m.size});
  bnrecal::TensorBatchStream stream({p.batch});
  // Random weights with default BN statistics let activations shrink or grow layer after layer
  // until they are denormal or overflow, which times the FPU's slow paths instead of the model.
  // BN statistics set to the batch's own (one training-mode pass, momentum 1) keep every layer's
  // activations near unit scale, as in a trained model.
  bnrecal::RecalOptions bn;
  bn.estimator = bnrecal::Estimator::kEma;
  bn.momentum = 1.0;
  bnrecal::recalibrate_bn(*p.net, stream, bn);
  stream.rewind();
  p.calibration.activations = bnrecal::calibrate_activations(*p.net, stream, "mean_max");
  return cache.emplace(m.arch, std::move(p)).first->second;
}

void BM_Forward(benchmark::State& state, ModelCase m, Arithmetic arithmetic) {
  bnrecal::tune_allocator();
  at::set_num_threads(static_cast<int>(state.range(0)));
  std::optional<bnrecal::arith::ScopedImplementation> conv;
  if (arithmetic.direct_conv)
    conv.emplace(bnrecal::arith::Kernel::kDirectConv, arithmetic.direct_conv);
  Prepared& p = prepared(m);
  bnrecal::apply_policy(*p.net, bnrecal::PolicySpec::parse(arithmetic.policy), 0, p.calibration);
  torch::NoGradGuard no_grad;
  p.net->forward(p.batch);  // packs the weights once, as the first batch of an evaluation does
  bnrecal::reset_stage_profile();
  bnrecal::set_stage_profiling(true);
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) benchmark::DoNotOptimize(p.net->forward(p.batch));
  const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - start;
  bnrecal::set_stage_profiling(false);
  state.SetItemsProcessed(state.iterations() * m.batch);
  const auto seconds = bnrecal::stage_seconds();
  double staged = 0;
  for (int i = 0; i < bnrecal::kStageCount; ++i) {
    staged += seconds[i];
    state.counters[bnrecal::stage_name(static_cast<bnrecal::Stage>(i))] = seconds[i] / wall.count();
  }
  state.counters["other"] = 1.0 - staged / wall.count();
  state.counters["gemm_work"] = bnrecal::integer_macs().work();
}

const bool registered = [] {
  for (const ModelCase& m : kModels)
    for (const Arithmetic& arithmetic : kArithmetics) {
      const std::string name = "BM_Forward/" + m.arch + "/" + arithmetic.label;
      benchmark::RegisterBenchmark(name.c_str(), BM_Forward, m, arithmetic)
          ->ArgName("threads")
          ->Arg(1)
          ->Arg(2)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime()
          ->MinTime(m.batch >= 256 ? 2.0 : 4.0);
    }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();

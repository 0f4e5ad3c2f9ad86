// Recalibration cost vs evaluation cost per image on the same perturbed model (resnet20 on
// 28x28 gray images, seed-003 noise at eta 0.04, batch 256). Target: recalibration <= 1.3x eval.
//
//   build/bench/bench_recalibration --benchmark_min_time=2
// Compare the images/s counters of BM_Evaluate and BM_Recalibrate/<estimator>.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "bnrecal/core/allocator.h"
#include "bnrecal/models/zoo.h"
#include "bnrecal/nn/policy_resolution.h"
#include "bnrecal/recal/recalibrate.h"
#include "bench_support.h"

namespace {

constexpr int64_t kBatch = 256;
constexpr int64_t kBatches = 4;

struct Setup {
  std::shared_ptr<bnrecal::Network> net;
  std::vector<at::Tensor> batches;
  Setup() : net(bnrecal::bench::random_model("resnet20", 10, 1)) {
    bnrecal::apply_policy(*net, bnrecal::PolicySpec::parse("fp32 noise=seed-003 eta=0.04"), 1);
    for (int64_t i = 0; i < kBatches; ++i) batches.push_back(torch::rand({kBatch, 1, 28, 28}));
  }
};

Setup& setup() {
  static Setup s;
  return s;
}

void BM_Evaluate(benchmark::State& state) {
  Setup& s = setup();
  torch::NoGradGuard g;
  s.net->eval();
  for (auto _ : state) {
    for (const auto& x : s.batches) benchmark::DoNotOptimize(s.net->forward(x).argmax(1));
  }
  state.counters["images/s"] =
      benchmark::Counter(double(kBatch * kBatches), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Recalibrate(benchmark::State& state) {
  Setup& s = setup();
  bnrecal::BnSnapshot snapshot(*s.net);
  bnrecal::RecalOptions opt;
  opt.estimator = static_cast<bnrecal::Estimator>(state.range(0));
  state.SetLabel(bnrecal::estimator_name(opt.estimator));
  for (auto _ : state) {
    bnrecal::TensorBatchStream stream(s.batches);
    bnrecal::recalibrate_bn(*s.net, stream, opt);
  }
  snapshot.restore(*s.net);
  state.counters["images/s"] =
      benchmark::Counter(double(kBatch * kBatches), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(BM_Evaluate)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Recalibrate)
    ->Arg(static_cast<int>(bnrecal::Estimator::kEma))
    ->Arg(static_cast<int>(bnrecal::Estimator::kPooled))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

int main(int argc, char** argv) {
  bnrecal::tune_allocator();  // as the CLI does, so the figures match what users see
  torch::set_num_threads(2);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}

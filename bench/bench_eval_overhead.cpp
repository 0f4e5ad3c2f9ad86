// What the evaluation pipeline costs on top of the network itself (issue 5's target: evaluating a
// ResNet-18 at 224x224 runs within 10 % of libtorch's raw forward throughput at the same batch size).
//
//   BM_RawForward           net->forward under no-grad on one fixed [batch, 3, 224, 224] tensor (the
//                           folder's first images, already decoded and normalized)
//   BM_EvaluateImageFolder  bnrecal::evaluate() over an ImageFolder of 64 generated 500x375 JPEGs
//                           (4 classes): decode, Resize(256) + CenterCrop(224), normalization,
//                           forward and top-1/top-5 bookkeeping, as `bnrecal eval` runs them
//
// Both use the same torchvision-layout ResNet-18 (random weights, 4-class head, eval mode), batch
// size, threads (all cores, as `bnrecal eval` without --threads) and malloc tuning as the CLI, and
// report images/s (items_per_second). ratio = eval images/s / raw images/s is the share of the
// network's throughput that survives data loading: 1.0 when loading is free or fully hidden,
// >= 0.9 meets the target. On a shared machine compare the two within one run, not across runs;
// the CPU column is the whole process's CPU time (all threads), so images per CPU-second give a
// second ratio that other jobs' load disturbs much less than wall-clock time does.
//
//   build/bench/bench_eval_overhead --benchmark_min_time=5
//   bash scripts/run_eval_overhead_bench.sh          # prints the ratio with the decode rates
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>

#include <filesystem>
#include <memory>

#include "bnrecal/core/allocator.h"
#include "bnrecal/core/run_info.h"
#include "bnrecal/data/image_folder.h"
#include "bnrecal/eval/evaluate.h"
#include "bnrecal/models/zoo.h"
#include "bench_support.h"
#include "synthetic_photos.h"

namespace {

constexpr int kClasses = 4;
constexpr int kImagesPerClass = 16;

struct Fixture {
  std::shared_ptr<bnrecal::Network> net;
  std::unique_ptr<bnrecal::ImageListSource> folder;

  Fixture() : net(bnrecal::bench::random_model("resnet18", kClasses, 3)) {
    const auto root = bnrecal::bench::synthetic_jpeg_image_folder(
        std::filesystem::temp_directory_path() / "bnrecal-bench-image-folder", kClasses, kImagesPerClass);
    // Default options: the eval transform and decoding threads `bnrecal eval` uses.
    folder = bnrecal::open_image_folder(root, bnrecal::Split::kTest);
  }
};

void batch_of_32(benchmark::internal::Benchmark* b) { bnrecal::bench::per_batch_wall_time(b, 32); }

Fixture& fixture() {
  static Fixture f;
  return f;
}

// The folder's first `batch` images, decoded, transformed and normalized exactly as evaluate()
// feeds them: the raw forward then computes on the same values, so only the pipeline differs.
at::Tensor first_batch(const bnrecal::DataSource& source, int64_t batch) {
  bnrecal::LoaderOptions options;
  options.batch_size = batch;
  bnrecal::BatchLoader loader(source, options);
  bnrecal::Batch first;
  loader.next(first);
  return first.images;
}

// oneDNN creates its convolution primitives on the first forward of each input shape; keep that
// one-time cost out of both measurements.
void warm_up(bnrecal::Network& net, const at::Tensor& input) {
  at::NoGradGuard no_grad;
  net.forward(input);
}

void BM_RawForward(benchmark::State& state) {
  Fixture& f = fixture();
  const int64_t batch = state.range(0);
  if (batch > f.folder->size()) return state.SkipWithError("batch larger than the image folder");
  const at::Tensor input = first_batch(*f.folder, batch);
  warm_up(*f.net, input);
  at::NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(f.net->forward(input).data_ptr());
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["threads"] = at::get_num_threads();
}
BENCHMARK(BM_RawForward)->Apply(batch_of_32);

void BM_EvaluateImageFolder(benchmark::State& state) {
  Fixture& f = fixture();
  const int64_t batch = state.range(0);
  if (batch > f.folder->size()) return state.SkipWithError("batch larger than the image folder");
  warm_up(*f.net, first_batch(*f.folder, batch));
  bnrecal::EvalOptions options;
  options.batch_size = batch;
  int64_t images = 0;
  for (auto _ : state) images += bnrecal::evaluate(*f.net, *f.folder, options).n;
  state.SetItemsProcessed(images);
  state.counters["threads"] = at::get_num_threads();
}
BENCHMARK(BM_EvaluateImageFolder)->Apply(batch_of_32);

}  // namespace

int main(int argc, char** argv) {
  // The process setup of `bnrecal eval`: its malloc tuning (several-fold on libtorch inference,
  // see allocator.h) and all cores, as apply_common_options without --threads.
  bnrecal::tune_allocator();
  bnrecal::configure_threads(0);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

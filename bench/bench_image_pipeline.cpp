// Image pipeline throughput: JPEG decode + torchvision eval transform (Resize 256, CenterCrop
// 224, ToTensor) on generated 500x375 JPEGs, single-threaded and through ImageListSource::load
// with 1 and all hardware threads.
//
//   ./build/bench/bench_image_pipeline --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include <filesystem>
#include <random>
#include <thread>

#include "bnrecal/core/allocator.h"
#include "bnrecal/core/files.h"
#include "bnrecal/data/image_decode.h"
#include "bnrecal/data/image_folder.h"
#include "synthetic_photos.h"

namespace {

constexpr int kImages = 32;

const std::vector<std::string>& jpeg_files() {
  static const std::vector<std::string> files = bnrecal::bench::synthetic_jpeg_files(
      std::filesystem::temp_directory_path() / "bnrecal-bench-images", kImages);
  return files;
}

void BM_DecodeOnly(benchmark::State& state) {
  const auto& files = jpeg_files();
  std::vector<std::string> bytes;
  for (const auto& f : files) bytes.push_back(bnrecal::read_file(f));
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(bnrecal::decode_jpeg(bytes[i], files[i]).pixels.data());
    i = (i + 1) % files.size();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeOnly)->Unit(benchmark::kMillisecond);

void BM_DecodeEvalTransformSingleThread(benchmark::State& state) {
  const auto& files = jpeg_files();
  std::vector<float> out(3 * 224 * 224);
  size_t i = 0;
  for (auto _ : state) {
    bnrecal::apply_eval_transform(bnrecal::decode_image_file(files[i]), {}, out.data());
    benchmark::DoNotOptimize(out.data());
    i = (i + 1) % files.size();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeEvalTransformSingleThread)->Unit(benchmark::kMillisecond);

// A 32-image batch through ImageListSource::load; arg 0 = eval, 1 = train (RandomResizedCrop).
void BM_LoadBatch(benchmark::State& state) {
  std::vector<bnrecal::ImageListSource::Entry> entries;
  for (const auto& f : jpeg_files()) entries.push_back({f, 0});
  bnrecal::ImageFolderOptions options;
  options.num_threads = static_cast<int>(state.range(0));
  bnrecal::ImageListSource source("bench", entries, 1, {}, options);
  std::vector<int64_t> indices(kImages);
  for (int i = 0; i < kImages; ++i) indices[i] = i;
  std::mt19937_64 rng(0);
  for (auto _ : state) benchmark::DoNotOptimize(source.load(indices, state.range(1) != 0, rng).images.data_ptr());
  state.SetItemsProcessed(state.iterations() * kImages);
  state.counters["threads"] = options.num_threads;
}
BENCHMARK(BM_LoadBatch)
    ->ArgsProduct({{1, static_cast<int64_t>(std::max(1u, std::thread::hardware_concurrency()))}, {0, 1}})
    ->ArgNames({"threads", "augment"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  bnrecal::tune_allocator();  // as the CLI does: the batch loader's figures then match `bnrecal eval`
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

// SySMT GEMM throughput on real conv layer shapes (bench/layer_shapes.txt):
// the scalar reference (small shape only), the fast kernel at 1T/2T/4T and
// the same with weights packed once (sysmt_packed) and libtorch's dense float
// conv of the same layer, each with 1 and all threads.
//
//   build/bench/bench_sysmt_gemm --benchmark_filter='layer3.conv'
//
// Every benchmark reports GMAC/s (multiply-accumulates of the equivalent GEMM).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>
#include <omp.h>

#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bnrecal/core/allocator.h"
#include "bnrecal/arith/sysmt.h"

namespace {

struct Layer {
  std::string name;
  int64_t M, K, N;
  int64_t batch, c_in, h, w, c_out, kernel, stride, pad;
};

std::vector<Layer> load_layers(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open layer shapes '" + path + "'");
  std::vector<Layer> layers;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream s(line);
    Layer l;
    if (!(s >> l.name >> l.M >> l.K >> l.N >> l.batch >> l.c_in >> l.h >> l.w >> l.c_out >>
          l.kernel >> l.stride >> l.pad))
      throw std::runtime_error("malformed line in '" + path + "': " + line);
    const int64_t oh = (l.h + 2 * l.pad - l.kernel) / l.stride + 1;
    const int64_t ow = (l.w + 2 * l.pad - l.kernel) / l.stride + 1;
    if (l.M != l.batch * oh * ow || l.K != l.c_in * l.kernel * l.kernel || l.N != l.c_out)
      throw std::runtime_error("GEMM shape does not match the conv shape: " + line);
    layers.push_back(l);
  }
  return layers;
}

// Post-ReLU-like activations (~40 % zeros) and weights with ~10 % zeros.
struct Operands {
  std::vector<uint8_t> A;
  std::vector<int8_t> W;
  Operands(int64_t M, int64_t K, int64_t N) : A(M * K), W(N * K) {
    std::mt19937 rng(42);
    std::uniform_int_distribution<int> u8(1, 255), s8(-128, 127), pct(0, 99);
    for (auto& a : A) a = pct(rng) < 40 ? 0 : static_cast<uint8_t>(u8(rng) / (1 + pct(rng) % 4));
    for (auto& w : W) w = pct(rng) < 10 ? 0 : static_cast<int8_t>(s8(rng) / 2);
  }
};

void set_threads(int threads) {
  omp_set_num_threads(threads);
  at::set_num_threads(threads);
}

void report(benchmark::State& state, int64_t macs) {
  state.counters["GMAC/s"] =
      benchmark::Counter(static_cast<double>(macs) / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

void bm_sysmt(benchmark::State& state, Layer l, int T, bool ref) {
  set_threads(static_cast<int>(state.range(0)));
  const Operands o(l.M, l.K, l.N);
  std::vector<int32_t> y(l.M * l.N);
  bnrecal::sysmt::SysmtConfig c;
  c.threads = T;
  for (auto _ : state) {
    if (ref)
      bnrecal::sysmt::sysmt_gemm_ref(o.A.data(), o.W.data(), y.data(), l.M, l.N, l.K, c);
    else
      bnrecal::sysmt::sysmt_gemm(o.A.data(), o.W.data(), y.data(), l.M, l.N, l.K, c);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  report(state, l.M * l.K * l.N);
}

// Weights expanded once outside the loop, as an inference engine would.
void bm_sysmt_packed(benchmark::State& state, Layer l, int T) {
  set_threads(static_cast<int>(state.range(0)));
  const Operands o(l.M, l.K, l.N);
  std::vector<int32_t> y(l.M * l.N);
  bnrecal::sysmt::SysmtConfig c;
  c.threads = T;
  const bnrecal::sysmt::SysmtPackedWeights packed(o.W.data(), l.N, l.K, c);
  for (auto _ : state) {
    bnrecal::sysmt::sysmt_gemm_packed(o.A.data(), l.M, packed, y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  report(state, l.M * l.K * l.N);
}

void bm_float_conv(benchmark::State& state, Layer l) {
  set_threads(static_cast<int>(state.range(0)));
  at::manual_seed(0);
  const at::Tensor x = at::rand({l.batch, l.c_in, l.h, l.w});
  const at::Tensor w = at::randn({l.c_out, l.c_in, l.kernel, l.kernel});
  for (auto _ : state) {
    at::Tensor y = at::conv2d(x, w, {}, l.stride, l.pad);
    benchmark::DoNotOptimize(y.data_ptr());
  }
  report(state, l.M * l.K * l.N);
}

// Benchmark arguments: 1 thread and all cores.
void threads(benchmark::internal::Benchmark* b) {
  const int all = omp_get_num_procs();
  b->Arg(1);
  if (all > 1) b->Arg(all);
  b->ArgName("threads")->Unit(benchmark::kMillisecond)->UseRealTime();
}

}  // namespace

int main(int argc, char** argv) {
  bnrecal::tune_allocator();  // as the CLI does, so the figures match what users see
  const std::vector<Layer> layers = load_layers(std::string(BNRECAL_SOURCE_DIR) + "/bench/layer_shapes.txt");
  // The reference is scalar: a slice of a real layer keeps it to ~0.1 s.
  const Layer small{"resnet18.layer1.conv[rows 0..127]", 128, 576, 64, 1, 64, 56, 56, 64, 3, 1, 1};
  for (int T : {2, 4})
    benchmark::RegisterBenchmark(("sysmt_ref/" + std::to_string(T) + "T/" + small.name).c_str(),
                                 bm_sysmt, small, T, true)->Apply(threads);
  for (const Layer& l : layers) {
    for (int T : {1, 2, 4})
      benchmark::RegisterBenchmark(("sysmt_fast/" + std::to_string(T) + "T/" + l.name).c_str(),
                                   bm_sysmt, l, T, false)->Apply(threads);
    for (int T : {2, 4})
      benchmark::RegisterBenchmark(("sysmt_packed/" + std::to_string(T) + "T/" + l.name).c_str(),
                                   bm_sysmt_packed, l, T)->Apply(threads);
    benchmark::RegisterBenchmark(("float_conv/" + l.name).c_str(), bm_float_conv, l)->Apply(threads);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

// `bnrecal gemm`: the SySMT golden model on .npy files.
//
//   bnrecal gemm --a A.npy --w W.npy --smt 4 --idle either --round rne --stats -o Y.npy
//
// A is uint8 [M,K] (activations), W is int8 [N,K] (weights, one row per output
// channel), Y is int32 (or int64) [M,N]. Bad flag values are UsageErrors (exit 2), bad files
// InputErrors (exit 1).
#include <omp.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "bnrecal/arith/npy.h"
#include "bnrecal/arith/sysmt.h"
#include "bnrecal/arith/sysmt_diagnostics.h"
#include "bnrecal/core/error.h"
#include "bnrecal/core/input_limits.h"
#include "cli_common.h"
#include "perturbation_options.h"

namespace bnrecal {
namespace {

struct GemmOptions {
  std::string a_path, w_path, out_path;
  cli::SysmtFlags sysmt;
  std::string out_dtype = "int32";
  bool use_ref = false;
  bool stats = false;
  bool timing = false;
  int threads = 0;  // 0: OpenMP default
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

const cli::SysmtFlagsSetup kGemmFlags{"1", false, /*smt_required=*/true, /*round=*/true};

void run_gemm(const GemmOptions& o) {
  const sysmt::SysmtConfig config = cli::sysmt_config(o.sysmt, kGemmFlags);

  auto start = std::chrono::steady_clock::now();
  const NpyArray a = read_npy(o.a_path);
  const NpyArray w = read_npy(o.w_path);
  require(a.dtype == NpyDtype::kUint8, "activations '" + o.a_path + "' must be uint8 (|u1), got " +
                                           npy_descr(a.dtype));
  require(a.shape.size() == 2, "activations '" + o.a_path + "' must be rank 2 [M,K], got shape " +
                                   shape_text(a.shape));
  require(w.dtype == NpyDtype::kInt8,
          "weights '" + o.w_path + "' must be int8 (|i1), got " + npy_descr(w.dtype));
  require(w.shape.size() == 2,
          "weights '" + o.w_path + "' must be rank 2 [N,K], got shape " + shape_text(w.shape));
  const int64_t M = a.shape[0], K = a.shape[1], N = w.shape[0];
  require(w.shape[1] == K, "K mismatch: activations '" + o.a_path + "' have K=" +
                               std::to_string(K) + " but weights '" + o.w_path + "' have K=" +
                               std::to_string(w.shape[1]));
  sysmt::validate(config, K);
  // With K = 0 the inputs are empty whatever M and N say, so the output's size is checked here.
  declared_elements({M, N}, "output [M,N] of '" + o.a_path + "' x '" + o.w_path + "'");
  if (o.threads > 0) omp_set_num_threads(o.threads);

  const double read_seconds = seconds_since(start);
  start = std::chrono::steady_clock::now();
  std::vector<int32_t> y(static_cast<size_t>(M * N));
  double output_seconds = seconds_since(start);
  start = std::chrono::steady_clock::now();
  const uint8_t* A = a.data_as<uint8_t>();
  const int8_t* W = w.data_as<int8_t>();
  if (o.use_ref)
    sysmt::sysmt_gemm_ref(A, W, y.data(), M, N, K, config);
  else
    sysmt::sysmt_gemm(A, W, y.data(), M, N, K, config);
  const double kernel_seconds = seconds_since(start);

  start = std::chrono::steady_clock::now();
  if (o.out_dtype == "int64") {
    // int32 accumulators are exact for K <= kMaxK; int64 is offered for tools
    // that want headroom for further sums.
    const std::vector<int64_t> wide(y.begin(), y.end());
    write_npy(o.out_path, NpyDtype::kInt64, {M, N}, wide.data());
  } else {
    write_npy(o.out_path, NpyDtype::kInt32, {M, N}, y.data());
  }
  output_seconds += seconds_since(start);
  if (o.timing) {
    std::printf("time   read %.3f s, kernel %.3f s, output %.3f s (allocate, write, fsync)\n",
                read_seconds, kernel_seconds, output_seconds);
  }

  if (o.stats) {
    const sysmt::SysmtDiagnostics d = sysmt::sysmt_diagnostics(A, W, M, N, K, config);
    std::printf("gemm M=%lld N=%lld K=%lld %s\n", static_cast<long long>(M),
                static_cast<long long>(N), static_cast<long long>(K),
                sysmt::to_string(config).c_str());
    std::fputs(sysmt::format_diagnostics(d).c_str(), stdout);
  }
}

}  // namespace

void add_gemm_command(CLI::App& app) {
  auto options = std::make_shared<GemmOptions>();
  CLI::App* cmd = app.add_subcommand("gemm", "SySMT golden model: Y = A x W^T on .npy files");
  cmd->add_option("--a", options->a_path, "activations, uint8 [M,K] .npy")->required();
  cmd->add_option("--w", options->w_path, "weights, int8 [N,K] .npy")->required();
  cmd->add_option("-o,--out", options->out_path, "output .npy [M,N]")->required();
  cli::add_sysmt_flags(*cmd, options->sysmt, kGemmFlags);
  cmd->add_option("--out-dtype", options->out_dtype, "output dtype")
      ->check(CLI::IsMember({"int32", "int64"}))->capture_default_str();
  cmd->add_flag("--ref", options->use_ref, "use the scalar reference kernel");
  cmd->add_flag("--stats", options->stats,
                "print the active-lane histogram, collision rate, changed fractions and MSE");
  cmd->add_flag("--timing", options->timing,
                "print the wall time of reading the inputs, of the kernel alone, and of the output "
                "(allocating, writing and syncing it)");
  cmd->add_option("--threads", options->threads, "OpenMP threads (0: default)")->check(cli::kNonNegative);
  cmd->callback([options] { run_gemm(*options); });
}

}  // namespace bnrecal

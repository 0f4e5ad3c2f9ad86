// `bnrecal gemm`: the SySMT golden model on .npy files.
//
//   bnrecal gemm --a A.npy --w W.npy --smt 4 --idle either --round rne --stats -o Y.npy
//
// A is uint8 [M,K] (activations), W is int8 [N,K] (weights, one row per output
// channel), Y is int32 (or int64) [M,N]. Bad flag values are UsageErrors (exit 2), bad files
// InputErrors (exit 1).
#include <omp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
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
  bool no_sync = false;
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
  const auto started = std::chrono::steady_clock::now();
  const uint8_t* A = a.data_as<uint8_t>();
  const int8_t* W = w.data_as<int8_t>();
  // int32 accumulators are exact for K <= kMaxK; int64 is offered for tools that want headroom
  // for further sums.
  const bool wide = o.out_dtype == "int64";
  NpyWriter out(o.out_path, wide ? NpyDtype::kInt64 : NpyDtype::kInt32, {M, N}, !o.no_sync);
  // The output is computed and written in row blocks of about 1 MB, so the disk writes block b
  // while block b + 1 is computed and the final fsync waits for the last block only (on this
  // project's reference machine the fsync of a 12.8 MB output fell from 50-60 ms to about 11).
  // A small block also keeps the buffer's first-touch page faults cheap.
  const int64_t block_rows =
      std::max<int64_t>(1, (int64_t{1} << 20) / (4 * std::max<int64_t>(N, 1)));
  std::vector<int32_t> y(static_cast<size_t>(std::min(block_rows, M) * N));
  std::vector<int64_t> y_wide(wide ? y.size() : 0);
  start = std::chrono::steady_clock::now();  // the kernel's time includes packing the weights
  const std::unique_ptr<sysmt::SysmtPackedWeights> packed =
      o.use_ref ? nullptr : std::make_unique<sysmt::SysmtPackedWeights>(W, N, K, config);
  double kernel_seconds = seconds_since(start), output_seconds = 0;
  for (int64_t m0 = 0; m0 < M; m0 += block_rows) {
    const int64_t rows = std::min(block_rows, M - m0);
    start = std::chrono::steady_clock::now();
    if (o.use_ref)
      sysmt::sysmt_gemm_ref(A + m0 * K, W, y.data(), rows, N, K, config);
    else
      sysmt::sysmt_gemm_packed(A + m0 * K, rows, *packed, y.data());
    kernel_seconds += seconds_since(start);
    start = std::chrono::steady_clock::now();
    if (wide) {
      std::copy(y.begin(), y.begin() + rows * N, y_wide.begin());
      out.append(y_wide.data(), rows * N);
    } else {
      out.append(y.data(), rows * N);
    }
    output_seconds += seconds_since(start);
  }
  start = std::chrono::steady_clock::now();
  out.commit();
  const double commit_seconds = seconds_since(start);
  if (o.timing) {
    std::printf("time   read %.3f s, kernel %.3f s, output %.3f s (writes %.3f s between the "
                "kernel's blocks, then %.3f s %s), read to output %.3f s\n",
                read_seconds, kernel_seconds, output_seconds + commit_seconds, output_seconds,
                commit_seconds, o.no_sync ? "closing" : "syncing", read_seconds + seconds_since(started));
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
                "(writing it, overlapped with the kernel, and syncing it)");
  cmd->add_flag("--no-sync", options->no_sync,
                "do not fsync the output before renaming it into place: readers still see the "
                "old file or the whole new one, but a power failure can leave it empty (for "
                "scratch outputs that are cheap to recompute)");
  cmd->add_option("--threads", options->threads, "OpenMP threads (0: default)")->check(cli::kNonNegative);
  cmd->callback([options] { run_gemm(*options); });
}

}  // namespace bnrecal

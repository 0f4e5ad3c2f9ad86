// Per-layer SySMT diagnostics (spec section 8): active-lane histogram,
// collision rate, how many reduced operands actually lost bits, and the MSE
// between SySMT and exact (1T) accumulators. Mergeable across batches.
//
//   bnrecal::sysmt::SysmtDiagnostics total;
//   for (const auto& batch : batches)
//     total.merge(bnrecal::sysmt::sysmt_diagnostics(batch.A, W, batch.M, N, K, cfg));
//   double mse = total.mse_vs_exact();
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "bnrecal/arith/sysmt.h"

namespace bnrecal::sysmt {

struct SysmtDiagnostics {
  int threads = 0;                             // T; 0 until the first merge
  std::vector<int64_t> active_lane_histogram;  // [T+1]: (m,n,group) triples by active lanes
  int64_t groups = 0;                          // (m,n,group) triples
  int64_t collisions = 0;                      // triples with >= 2 active lanes
  int64_t activations_reduced = 0;             // active lanes whose x went through R4a
  int64_t activations_changed = 0;             // ... and R4a(x) != x
  int64_t weights_reduced = 0;                 // active lanes whose w went through R4w (4T)
  int64_t weights_changed = 0;                 // ... and R4w(w) != w
  int64_t outputs = 0;                         // accumulators compared (M*N)
  double sum_squared_error = 0;                // sum of (Y - Y_exact)^2

  double mse_vs_exact() const { return outputs ? sum_squared_error / outputs : 0.0; }
  double collision_rate() const { return groups ? double(collisions) / groups : 0.0; }
  double activation_changed_fraction() const {
    return activations_reduced ? double(activations_changed) / activations_reduced : 0.0;
  }
  double weight_changed_fraction() const {
    return weights_reduced ? double(weights_changed) / weights_reduced : 0.0;
  }
  // Adds another batch's counts (same T). Throws std::logic_error on a T mismatch.
  void merge(const SysmtDiagnostics& other);
};

// Diagnostics of Y = sysmt_gemm(A, W) against the exact product (same layouts
// as sysmt_gemm). O(M*N*K), multithreaded with OpenMP.
SysmtDiagnostics sysmt_diagnostics(const uint8_t* A, const int8_t* W, int64_t M, int64_t N,
                                   int64_t K, const SysmtConfig& config);

// Multi-line human-readable summary (used by `bnrecal gemm --stats`).
std::string format_diagnostics(const SysmtDiagnostics& d);

}  // namespace bnrecal::sysmt

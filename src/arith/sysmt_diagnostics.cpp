// SySMT diagnostics: one pass over (m, n, group) that replays the spec's
// per-group rule while counting what happened, next to the exact product.
#include "bnrecal/arith/sysmt_diagnostics.h"

#include <cstdio>
#include <stdexcept>

namespace bnrecal::sysmt {

void SysmtDiagnostics::merge(const SysmtDiagnostics& o) {
  if (o.threads == 0) return;
  if (threads == 0) {
    threads = o.threads;
    active_lane_histogram.assign(o.active_lane_histogram.size(), 0);
  }
  if (threads != o.threads) throw std::logic_error("merging SySMT diagnostics of different T");
  for (size_t i = 0; i < active_lane_histogram.size(); ++i)
    active_lane_histogram[i] += o.active_lane_histogram[i];
  groups += o.groups;
  collisions += o.collisions;
  activations_reduced += o.activations_reduced;
  activations_changed += o.activations_changed;
  weights_reduced += o.weights_reduced;
  weights_changed += o.weights_changed;
  outputs += o.outputs;
  sum_squared_error += o.sum_squared_error;
}

namespace {

SysmtDiagnostics empty_diagnostics(int T) {
  SysmtDiagnostics d;
  d.threads = T;
  d.active_lane_histogram.assign(T + 1, 0);
  return d;
}

// Rows [m_begin, m_end) of the diagnostics; the numeric loop on its own.
void diagnose_rows(const uint8_t* A, const int8_t* W, int64_t m_begin, int64_t m_end,
                   int64_t N, int64_t K, const SysmtConfig& c, SysmtDiagnostics& d) {
  const int T = c.threads;
  const bool either = c.idle == IdleRule::kEither;
  for (int64_t m = m_begin; m < m_end; ++m) {
    const uint8_t* a = A + m * K;
    for (int64_t n = 0; n < N; ++n) {
      const int8_t* w = W + n * K;
      int64_t exact = 0, smt = 0;
      for (int64_t k0 = 0; k0 < K; k0 += T) {
        const int lanes = static_cast<int>(std::min<int64_t>(T, K - k0));
        bool active[4] = {false, false, false, false};
        int count = 0;
        for (int j = 0; j < lanes; ++j) {
          active[j] = a[k0 + j] != 0 && (!either || w[k0 + j] != 0);
          count += active[j];
        }
        ++d.active_lane_histogram[count];
        d.collisions += count >= 2;
        for (int j = 0; j < lanes; ++j) {
          const int x = a[k0 + j], wv = w[k0 + j];
          exact += x * wv;
          if (!active[j]) continue;
          int xr = x, wr = wv;
          if (count >= 2) {
            xr = reduce_activation4(x, c.rounding);
            ++d.activations_reduced;
            d.activations_changed += xr != x;
          }
          if (T == 4 && count >= 3) {
            wr = reduce_weight4(wv, c.rounding);
            ++d.weights_reduced;
            d.weights_changed += wr != wv;
          }
          smt += xr * wr;
        }
      }
      d.groups += (K + T - 1) / T;
      const double e = static_cast<double>(smt - exact);
      d.sum_squared_error += e * e;
      ++d.outputs;
    }
  }
}

}  // namespace

SysmtDiagnostics sysmt_diagnostics(const uint8_t* A, const int8_t* W, int64_t M, int64_t N,
                                   int64_t K, const SysmtConfig& config) {
  validate(config, K);
  SysmtDiagnostics total = empty_diagnostics(config.threads);
#pragma omp parallel
  {
    SysmtDiagnostics local = empty_diagnostics(config.threads);
#pragma omp for schedule(dynamic, 4)
    for (int64_t m = 0; m < M; ++m) diagnose_rows(A, W, m, m + 1, N, K, config, local);
#pragma omp critical
    total.merge(local);
  }
  return total;
}

namespace {
// "LABEL: FRACTION (PART of WHOLE UNIT)\n"
std::string fraction_line(const char* label, double fraction, int64_t part, int64_t whole, const char* unit) {
  char line[160];
  std::snprintf(line, sizeof line, "%s: %.6f (%lld of %lld %s)\n", label, fraction, static_cast<long long>(part),
                static_cast<long long>(whole), unit);
  return line;
}
}  // namespace

std::string format_diagnostics(const SysmtDiagnostics& d) {
  std::string s;
  char line[160];
  for (size_t i = 0; i < d.active_lane_histogram.size(); ++i) {
    const double f = d.groups ? double(d.active_lane_histogram[i]) / d.groups : 0.0;
    std::snprintf(line, sizeof line, "active lanes %zu: %lld groups (%.4f)\n", i,
                  static_cast<long long>(d.active_lane_histogram[i]), f);
    s += line;
  }
  s += fraction_line("collision rate P(m>=2)", d.collision_rate(), d.collisions, d.groups, "groups");
  s += fraction_line("activations changed by R4a", d.activation_changed_fraction(), d.activations_changed,
                     d.activations_reduced, "reduced");
  s += fraction_line("weights changed by R4w", d.weight_changed_fraction(), d.weights_changed, d.weights_reduced,
                     "reduced");
  std::snprintf(line, sizeof line, "MSE vs exact (1T) accumulators: %.6g over %lld outputs\n", d.mse_vs_exact(),
                static_cast<long long>(d.outputs));
  return s + line;
}

}  // namespace bnrecal::sysmt

// Fast exact SySMT GEMM: the perturbed dot products are rewritten as ONE exact
// u8 x s8 -> s32 GEMM over an expanded depth (nt terms per lane), run by oneDNN.
//
// Why this is exact: per lane j of a group, with c = number of OTHER active
// lanes, d = R4a(x) - x and delta = R4w(w) - w, the spec's table is
//   x*w + [c>=1]*d*w                          (T = 2, and T = 4 up to c = 1)
//   x*w + [c>=1]*d*w + [c>=2]*R4a(x)*delta    (T = 4)
// (an idle lane adds 0 in every term because x, d, R4a(x) or w, delta vanish).
// With idle rule `act` the indicators depend only on activations, so each term
// is (activation-side value) * (weight-side value). With `either`, a lane i is
// active iff a_i*b_i (a = [x != 0], b = [w != 0]) and inclusion-exclusion over
// the subsets S of the other lanes, [c>=1] = e1 - e2 + e3 and
// [c>=2] = e2 - 2 e3 with e_r = sum_{|S|=r} prod_S a * prod_S b, splits every
// indicator into products of an activation-only and a weight-only factor.
// Each (term, lane) is one column of the expanded GEMM. Signed activation-side
// values (d in -15..8) are stored with a +16 bias so A stays uint8; the bias is
// removed afterwards with per-output-channel column sums.
#include <omp.h>
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "oneapi/dnnl/dnnl.h"

#include "bnrecal/arith/sysmt.h"

namespace bnrecal::sysmt {
namespace {

constexpr int kBias = 16;  // makes the signed activation-side values (-15..8) unsigned

enum class AKind { kZero, kX, kRx, kD, kNegD, kBias };
enum class WKind { kZero, kW, kDelta, kMinus2Delta };
// Which other lanes a term's indicator looks at: all of subset `rel` (bits
// index the other lanes in lane order) must be active, or at least `count` of
// the other lanes must be active.
struct Selector {
  int rel = 0;     // 0 with count 0: always on
  int count = 0;
};
struct Term {
  AKind a_on, a_off;
  Selector a_sel;
  WKind w_on;
  Selector w_sel;  // weight side is 0 when the selector is off
};

// Tables that turn one group of T lanes into T*nt expanded columns with a
// single byte blend per lane.
struct Plan {
  int T = 1;
  int nt = 1;
  bool biased = false;
  bool identity = false;  // T = 1: expanded matrices are A and W themselves
  alignas(16) uint8_t a_on[256][16] = {};
  alignas(16) uint8_t a_off[256][16] = {};
  alignas(16) uint8_t a_mask[16][4][16] = {};
  alignas(16) int8_t w_on[256][16] = {};
  alignas(16) uint8_t w_mask[16][4][16] = {};
  int8_t biased_term[16] = {};
};

int a_value(AKind kind, int x, Rounding r) {
  const int d = reduce_activation4(x, r) - x;
  switch (kind) {
    case AKind::kZero: return 0;
    case AKind::kX: return x;
    case AKind::kRx: return reduce_activation4(x, r);
    case AKind::kD: return d + kBias;
    case AKind::kNegD: return -d + kBias;
    case AKind::kBias: return kBias;
  }
  return 0;
}

int w_value(WKind kind, int w, Rounding r) {
  const int delta = reduce_weight4(w, r) - w;
  switch (kind) {
    case WKind::kZero: return 0;
    case WKind::kW: return w;
    case WKind::kDelta: return delta;
    case WKind::kMinus2Delta: return -2 * delta;
  }
  return 0;
}

bool selected(const Selector& s, int pattern, int lane, int T) {
  int others[3];
  int n = 0;
  for (int i = 0; i < T; ++i)
    if (i != lane) others[n++] = i;
  int active = 0;
  for (int i = 0; i < n; ++i) active += (pattern >> others[i]) & 1;
  if (s.count > 0) return active >= s.count;
  for (int i = 0; i < n; ++i)
    if (((s.rel >> i) & 1) && !((pattern >> others[i]) & 1)) return false;
  return true;
}

std::vector<Term> terms_for(const SysmtConfig& c) {
  const Selector always{};
  std::vector<Term> t;
  t.push_back({AKind::kX, AKind::kX, always, WKind::kW, always});  // exact product
  if (c.threads == 1) return t;
  if (c.idle == IdleRule::kAct) {
    // x -> R4a(x) when enough other lanes hold a nonzero activation.
    t[0] = {AKind::kRx, AKind::kX, Selector{0, 1}, WKind::kW, always};
    if (c.threads == 4) t.push_back({AKind::kRx, AKind::kZero, Selector{0, 2}, WKind::kDelta, always});
    return t;
  }
  if (c.threads == 2) {
    t.push_back({AKind::kD, AKind::kBias, Selector{1, 0}, WKind::kW, Selector{1, 0}});
    return t;
  }
  for (int s = 1; s < 8; ++s) {  // subsets of the 3 other lanes
    const int size = __builtin_popcount(s);
    const Selector sel{s, 0};
    if (size == 1) t.push_back({AKind::kD, AKind::kBias, sel, WKind::kW, sel});
    if (size == 2) {
      t.push_back({AKind::kNegD, AKind::kBias, sel, WKind::kW, sel});
      t.push_back({AKind::kRx, AKind::kZero, sel, WKind::kDelta, sel});
    }
    if (size == 3) {
      t.push_back({AKind::kD, AKind::kBias, sel, WKind::kW, sel});
      t.push_back({AKind::kRx, AKind::kZero, sel, WKind::kMinus2Delta, sel});
    }
  }
  return t;
}

std::unique_ptr<Plan> make_plan(const SysmtConfig& c) {
  auto p = std::make_unique<Plan>();
  const std::vector<Term> terms = terms_for(c);
  p->T = c.threads;
  p->nt = static_cast<int>(terms.size());
  p->identity = c.threads == 1;
  for (int t = 0; t < p->nt; ++t) {
    const Term& term = terms[t];
    const bool b = term.a_off == AKind::kBias;
    p->biased_term[t] = b;
    p->biased = p->biased || b;
    for (int x = 0; x < 256; ++x) {
      p->a_on[x][t] = static_cast<uint8_t>(a_value(term.a_on, x, c.rounding));
      p->a_off[x][t] = static_cast<uint8_t>(a_value(term.a_off, x, c.rounding));
    }
    for (int w = -128; w < 128; ++w)
      p->w_on[w + 128][t] = static_cast<int8_t>(w_value(term.w_on, w, c.rounding));
    for (int pattern = 0; pattern < (1 << p->T); ++pattern) {
      for (int lane = 0; lane < p->T; ++lane) {
        p->a_mask[pattern][lane][t] = selected(term.a_sel, pattern, lane, p->T) ? 0xFF : 0;
        p->w_mask[pattern][lane][t] = selected(term.w_sel, pattern, lane, p->T) ? 0xFF : 0;
      }
    }
  }
  return p;
}

// Expands one activation row (K values) into groups*T*nt columns.
// `out` must have 16 bytes of slack after the last column (unaligned stores).
void expand_a_row(const Plan& p, const uint8_t* x, int64_t K, uint8_t* out) {
  const int T = p.T, nt = p.nt;
  const int64_t full = K / T;
  const int64_t groups = (K + T - 1) / T;
  for (int64_t g = 0; g < groups; ++g) {
    uint8_t lane[4] = {0, 0, 0, 0};
    if (g < full) {
      std::memcpy(lane, x + g * T, T);
    } else {
      for (int j = 0; g * T + j < K; ++j) lane[j] = x[g * T + j];
    }
    int pattern = 0;
    for (int j = 0; j < T; ++j) pattern |= (lane[j] != 0) << j;
    uint8_t* o = out + g * T * nt;
    for (int j = 0; j < T; ++j) {
      const __m128i on = _mm_load_si128(reinterpret_cast<const __m128i*>(p.a_on[lane[j]]));
      const __m128i off = _mm_load_si128(reinterpret_cast<const __m128i*>(p.a_off[lane[j]]));
      const __m128i m = _mm_load_si128(reinterpret_cast<const __m128i*>(p.a_mask[pattern][j]));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o + j * nt), _mm_blendv_epi8(off, on, m));
    }
  }
}

// Same for one weight row; also returns sum of the biased columns (for the
// bias correction). Weight-side "off" values are always 0.
int32_t expand_w_row(const Plan& p, const int8_t* w, int64_t K, int8_t* out,
                     bool either) {
  const int T = p.T, nt = p.nt;
  const int64_t groups = (K + T - 1) / T;
  int32_t biased_sum = 0;
  for (int64_t g = 0; g < groups; ++g) {
    int8_t lane[4] = {0, 0, 0, 0};
    for (int j = 0; j < T && g * T + j < K; ++j) lane[j] = w[g * T + j];
    int pattern = 0;
    for (int j = 0; j < T; ++j) pattern |= (either ? lane[j] != 0 : 1) << j;
    int8_t* o = out + g * T * nt;
    for (int j = 0; j < T; ++j) {
      for (int t = 0; t < nt; ++t) {
        const int8_t v = p.w_mask[pattern][j][t] ? p.w_on[lane[j] + 128][t] : 0;
        o[j * nt + t] = v;
        if (p.biased_term[t]) biased_sum += v;
      }
    }
  }
  return biased_sum;
}

// Portable exact int8 GEMM (row-major, B transposed), used when oneDNN's
// kernel is not exact on this CPU. Unsigned accumulation: wraps like VNNI.
void portable_gemm(const uint8_t* A, int64_t lda, const int8_t* B, int64_t ldb,
                   int32_t* C, int64_t ldc, int64_t M, int64_t N, int64_t K) {
#pragma omp parallel for schedule(static)
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < N; ++n) {
      uint32_t acc = 0;
      const uint8_t* a = A + m * lda;
      const int8_t* b = B + n * ldb;
      for (int64_t k = 0; k < K; ++k) acc += uint32_t(int32_t(a[k]) * int32_t(b[k]));
      C[m * ldc + n] = static_cast<int32_t>(acc);
    }
  }
}

std::atomic<int> g_force_portable{0};

// oneDNN's u8s8s32 GEMM saturates int16 intermediates on CPUs without VNNI
// (vpmaddubsw); probe it once with the worst case and fall back if it is not exact.
bool onednn_gemm_is_exact() {
  static const bool exact = [] {
    const int64_t M = 3, N = 5, K = 70;
    std::vector<uint8_t> a(M * K, 255);
    std::vector<int8_t> b(N * K);
    for (int64_t i = 0; i < N * K; ++i) b[i] = (i % 3 == 0) ? -128 : 127;
    std::vector<int32_t> c(M * N, 0), ref(M * N, 0);
    const int32_t zero = 0;
    if (dnnl_gemm_u8s8s32('N', 'T', 'F', M, N, K, 1.0f, a.data(), K, 0, b.data(), K, 0,
                          0.0f, c.data(), N, &zero) != dnnl_success)
      return false;
    portable_gemm(a.data(), K, b.data(), K, ref.data(), N, M, N, K);
    return c == ref;
  }();
  return exact;
}

void int8_gemm(const uint8_t* A, int64_t lda, const int8_t* B, int64_t ldb, int32_t* C,
               int64_t ldc, int64_t M, int64_t N, int64_t K) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    for (int64_t m = 0; m < M; ++m) std::fill(C + m * ldc, C + m * ldc + N, 0);
    return;
  }
  if (!g_force_portable.load() && onednn_gemm_is_exact()) {
    const int32_t zero = 0;
    if (dnnl_gemm_u8s8s32('N', 'T', 'F', M, N, K, 1.0f, A, lda, 0, B, ldb, 0, 0.0f, C, ldc,
                          &zero) == dnnl_success)
      return;
  }
  portable_gemm(A, lda, B, ldb, C, ldc, M, N, K);
}

}  // namespace

namespace detail {
void force_portable_gemm(bool on) { g_force_portable.store(on ? 1 : 0); }
}  // namespace detail

void sysmt_gemm(const uint8_t* A, const int8_t* W, int32_t* Y, int64_t M, int64_t N,
                int64_t K, const SysmtConfig& config) {
  validate(config, K);
  if (M <= 0 || N <= 0) return;
  if (config.threads == 1) {  // 1T is the exact GEMM
    int8_gemm(A, K, W, K, Y, N, M, N, K);
    return;
  }
  // One plan per call: ~20 KB of tables, negligible next to the GEMM.
  const std::unique_ptr<Plan> plan = make_plan(config);
  const int T = plan->T, nt = plan->nt;
  const int64_t groups = (K + T - 1) / T;
  const int64_t k_ext = groups * T * nt;
  const int64_t ld = (k_ext + 16 + 63) / 64 * 64;  // slack for the 16-byte stores
  const bool either = config.idle == IdleRule::kEither;

  std::vector<int8_t> w_ext(static_cast<size_t>(N * ld), 0);
  std::vector<int32_t> bias_fix(N, 0);
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n)
    bias_fix[n] = kBias * expand_w_row(*plan, W + n * K, K, w_ext.data() + n * ld, either);

  // Row chunks keep the expanded activations around 4 MB (never M x K_ext at once).
  const int64_t chunk = std::max<int64_t>(64, (int64_t{4} << 20) / ld);
  std::vector<uint8_t> a_ext(static_cast<size_t>(std::min(chunk, M) * ld), 0);
  for (int64_t m0 = 0; m0 < M; m0 += chunk) {
    const int64_t rows = std::min(chunk, M - m0);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r)
      expand_a_row(*plan, A + (m0 + r) * K, K, a_ext.data() + r * ld);
    int32_t* y = Y + m0 * N;
    int8_gemm(a_ext.data(), ld, w_ext.data(), ld, y, N, rows, N, k_ext);
    if (plan->biased) {
#pragma omp parallel for schedule(static)
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t n = 0; n < N; ++n) y[r * N + n] -= bias_fix[n];
    }
  }
}

}  // namespace bnrecal::sysmt

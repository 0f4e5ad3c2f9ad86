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
//
// Terms per lane: 1 (1T), 1 (2T act), 2 (2T either, 4T act), 12 (4T either).
// The expanded rows are term-major (column t * k_pad + k) and built 64 lanes at
// a time by a row kernel chosen at run time (sysmt_expand_avx512.cpp, else
// sysmt_expand_portable.cpp); weights are expanded once (SysmtPackedWeights),
// activations in row chunks of about 4 MB.
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <stdexcept>
#include <vector>

#include "oneapi/dnnl/dnnl.h"

#include "bnrecal/arith/sysmt.h"
#include "dispatch_variants.h"
#include "sysmt_expand.h"

namespace bnrecal::sysmt {
namespace {

using namespace expand;

int a_value(AKind kind, int x, Rounding r) {
  const int rx = reduce_activation4(x, r);
  switch (kind) {
    case AKind::kZero: return 0;
    case AKind::kX: return x;
    case AKind::kRx: return rx;
    case AKind::kD: return rx - x + kBias;
    case AKind::kNegD: return x - rx + kBias;
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

std::vector<Term> terms_for(const SysmtConfig& c) {
  const Selector always{};
  std::vector<Term> t;
  t.push_back({AKind::kX, AKind::kX, always, WKind::kW, always});  // exact product
  if (c.threads == 1) return t;
  if (c.idle == IdleRule::kAct) {
    // x -> R4a(x) when at least one other lane holds a nonzero activation.
    t[0] = {AKind::kRx, AKind::kX, Selector{0, 1}, WKind::kW, always};
    if (c.threads == 4) t.push_back({AKind::kRx, AKind::kZero, Selector{0, 2}, WKind::kDelta, always});
    return t;
  }
  if (c.threads == 2) {
    t.push_back({AKind::kD, AKind::kBias, Selector{1, 0}, WKind::kW, Selector{1, 0}});
    return t;
  }
  for (int s = 1; s < 8; ++s) {  // nonempty subsets of the 3 other lanes
    const int size = __builtin_popcount(s);
    const Selector sel{s, 0};
    if (size == 1) t.push_back({AKind::kD, AKind::kBias, sel, WKind::kW, sel});     // +e1
    if (size == 2) {
      t.push_back({AKind::kNegD, AKind::kBias, sel, WKind::kW, sel});               // -e2
      t.push_back({AKind::kRx, AKind::kZero, sel, WKind::kDelta, sel});             // +e2
    }
    if (size == 3) {
      t.push_back({AKind::kD, AKind::kBias, sel, WKind::kW, sel});                  // +e3
      t.push_back({AKind::kRx, AKind::kZero, sel, WKind::kMinus2Delta, sel});       // -2 e3
    }
  }
  return t;
}

std::unique_ptr<Plan> make_plan(const SysmtConfig& c, int64_t K) {
  auto p = std::make_unique<Plan>();  // value-initialised: all tables zero
  p->T = c.threads;
  const std::vector<Term> terms = terms_for(c);
  if (terms.size() > static_cast<size_t>(kMaxTerms)) throw std::logic_error("too many SySMT terms");
  p->nt = static_cast<int>(terms.size());
  std::copy(terms.begin(), terms.end(), p->terms);
  p->k_pad = (K + kBlock - 1) / kBlock * kBlock;
  for (int x = 0; x < 256; ++x) p->rx[x] = static_cast<uint8_t>(reduce_activation4(x, c.rounding));
  for (int w = -128; w < 128; ++w)
    p->delta[static_cast<uint8_t>(w)] = static_cast<int8_t>(reduce_weight4(w, c.rounding) - w);
  for (int t = 0; t < p->nt; ++t) {
    const Term& term = p->terms[t];
    p->biased = p->biased || term.a_off == AKind::kBias;
    for (int x = 0; x < 256; ++x) {
      p->a_on[t][x] = static_cast<uint8_t>(a_value(term.a_on, x, c.rounding));
      p->a_off[t][x] = static_cast<uint8_t>(a_value(term.a_off, x, c.rounding));
    }
    for (int w = -128; w < 128; ++w)
      p->w_on[t][w + 128] = static_cast<int8_t>(w_value(term.w_on, w, c.rounding));
  }
  return p;
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

// Row expansion kernels, fastest first (bnrecal/arith/dispatch.h, Kernel::kSysmtExpand).
struct ExpandKernels {
  ExpandActivationRow a_row;
  ExpandWeightRow w_row;
};

arith::detail::Variants<ExpandKernels>& expand_kernels() {
  static arith::detail::Variants<ExpandKernels> table({
#ifdef BNRECAL_HAVE_X86_KERNELS
      {"avx512_vbmi", arith::detail::cpu_has_avx512_vbmi,
       {expand_a_row_avx512, expand_w_row_avx512}},
#endif
      {"portable", arith::detail::cpu_any, {expand_a_row_portable, expand_w_row_portable}},
  });
  return table;
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
}  // namespace bnrecal::sysmt

namespace bnrecal::arith::detail {
VariantSet& sysmt_expand_variants() { return sysmt::expand_kernels(); }
}  // namespace bnrecal::arith::detail

namespace bnrecal::sysmt {

struct SysmtPackedWeights::Impl {
  std::unique_ptr<Plan> plan;     // null for T = 1 (the expanded weights are W itself)
  std::vector<int8_t> w_ext;      // [N, terms * k_pad]
  std::vector<int32_t> bias_fix;  // [N]: kBias * sum of the biased columns
  int64_t ld = 0;
};

SysmtPackedWeights::SysmtPackedWeights(const int8_t* W, int64_t N, int64_t K,
                                       const SysmtConfig& config)
    : config_(config), N_(N), K_(K) {
  validate(config, K);
  auto impl = std::make_shared<Impl>();
  if (config.threads == 1 || K == 0) {
    impl->w_ext.assign(W, W + N * K);
    impl->ld = K;
  } else {
    impl->plan = make_plan(config, K);
    const Plan& plan = *impl->plan;
    impl->ld = plan.nt * plan.k_pad;
    impl->w_ext.resize(static_cast<size_t>(N * impl->ld));
    impl->bias_fix.assign(N, 0);
    const bool either = config.idle == IdleRule::kEither;
    const ExpandWeightRow expand_w_row = expand_kernels().active().w_row;
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; ++n) {
      int8_t* row = impl->w_ext.data() + n * impl->ld;
      impl->bias_fix[n] = kBias * expand_w_row(plan, W + n * K, K, row, either);
    }
  }
  impl_ = std::move(impl);
}

void sysmt_gemm_packed(const uint8_t* A, int64_t M, const SysmtPackedWeights& weights,
                       int32_t* Y) {
  const SysmtPackedWeights::Impl& w = *weights.impl_;
  const int64_t N = weights.N_, K = weights.K_;
  if (M <= 0 || N <= 0) return;
  if (!w.plan) {  // 1T is the exact GEMM (K = 0 gives zeros)
    int8_gemm(A, K, w.w_ext.data(), K, Y, N, M, N, K);
    return;
  }
  const Plan& plan = *w.plan;
  const int64_t ld = w.ld;
  // Row chunks keep the expanded activations around 4 MB (never M x K_ext at once).
  const int64_t chunk = std::max<int64_t>(64, (int64_t{4} << 20) / ld);
  // Per calling thread and kept: allocating megabytes per call costs page faults every call.
  thread_local std::vector<uint8_t> a_ext;
  if (a_ext.size() < static_cast<size_t>(std::min(chunk, M) * ld))
    a_ext.resize(static_cast<size_t>(std::min(chunk, M) * ld));
  uint8_t* const a_buf = a_ext.data();  // named inside the parallel loop, a_ext is the worker's own
  const ExpandActivationRow expand_a_row = expand_kernels().active().a_row;
  for (int64_t m0 = 0; m0 < M; m0 += chunk) {
    const int64_t rows = std::min(chunk, M - m0);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r)
      expand_a_row(plan, A + (m0 + r) * K, K, a_buf + r * ld);
    int32_t* y = Y + m0 * N;
    int8_gemm(a_buf, ld, w.w_ext.data(), ld, y, N, rows, N, ld);
    if (plan.biased) {
#pragma omp parallel for schedule(static)
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t n = 0; n < N; ++n) y[r * N + n] -= w.bias_fix[n];
    }
  }
}

void sysmt_gemm(const uint8_t* A, const int8_t* W, int32_t* Y, int64_t M, int64_t N,
                int64_t K, const SysmtConfig& config) {
  validate(config, K);
  if (M <= 0 || N <= 0) return;
  if (config.threads == 1 || K == 0) {  // no expansion needed: skip the weight copy
    int8_gemm(A, K, W, K, Y, N, M, N, K);
    return;
  }
  sysmt_gemm_packed(A, M, SysmtPackedWeights(W, N, K, config), Y);
}

}  // namespace bnrecal::sysmt

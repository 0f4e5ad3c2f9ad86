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
// a time with AVX-512 (scalar fallback otherwise); weights are expanded once
// (SysmtPackedWeights), activations in row chunks of about 4 MB.
#include <omp.h>
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <stdexcept>
#include <vector>

#include "oneapi/dnnl/dnnl.h"

#include "bnrecal/arith/sysmt.h"

namespace bnrecal::sysmt {
namespace {

constexpr int kBias = 16;  // makes the signed activation-side values (-15..8) unsigned

enum class AKind { kZero, kX, kRx, kD, kNegD, kBias };
enum class WKind { kZero, kW, kDelta, kMinus2Delta };

// Which other lanes of the group a term's indicator looks at. The other lanes
// of lane j are numbered o_i = (j + i + 1) mod T; any fixed numbering works
// because every subset size appears with the same coefficient.
struct Selector {
  int subset = 0;  // bit i: other lane o_i must be active (0 and count 0: always)
  int count = 0;   // > 0: at least `count` other lanes active
};
struct Term {
  AKind a_on, a_off;
  Selector a_sel;
  WKind w_on;      // weight side is 0 when w_sel is off
  Selector w_sel;
};

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

// Lanes are processed in blocks of 64 (a multiple of T, so groups never
// straddle blocks); one bit per lane. others[i] has, at lane j's bit, the
// active bit of other lane o_i(j).
constexpr int64_t kBlock = 64;
struct Others {
  uint64_t r[3] = {0, 0, 0};
};

Others others_of(uint64_t active, int T) {
  Others o;
  if (T == 2) {
    o.r[0] = ((active >> 1) & 0x5555555555555555ULL) | ((active << 1) & 0xAAAAAAAAAAAAAAAAULL);
  } else if (T == 4) {
    constexpr uint64_t kNibbles = 0x1111111111111111ULL;
    for (int k = 1; k <= 3; ++k) {
      const uint64_t low = ((1ULL << (4 - k)) - 1) * kNibbles;  // lanes j with j + k < 4
      o.r[k - 1] = ((active >> k) & low) | ((active << (4 - k)) & ~low);
    }
  }
  return o;
}

uint64_t select_lanes(const Selector& s, const Others& o) {
  if (s.count == 1) return o.r[0] | o.r[1] | o.r[2];
  if (s.count == 2) return (o.r[0] & o.r[1]) | (o.r[0] & o.r[2]) | (o.r[1] & o.r[2]);
  uint64_t m = ~0ULL;
  for (int i = 0; i < 3; ++i)
    if ((s.subset >> i) & 1) m &= o.r[i];
  return m;
}

// Expansion plan: terms plus byte tables. The expanded row is term-major:
// column t * k_pad + k holds term t of lane k (same order on both sides).
struct Plan {
  int T = 1;
  std::vector<Term> terms;
  bool biased = false;
  int64_t k_pad = 0;  // K rounded up to kBlock; padded lanes are (x = 0, w = 0)
  alignas(64) uint8_t rx[256] = {};
  alignas(64) int8_t delta[256] = {};  // R4w(w) - w, indexed by uint8_t(w)
  uint8_t a_on[16][256] = {};
  uint8_t a_off[16][256] = {};
  int8_t w_on[16][256] = {};  // indexed by w + 128
};

std::unique_ptr<Plan> make_plan(const SysmtConfig& c, int64_t K) {
  auto p = std::make_unique<Plan>();
  p->T = c.threads;
  p->terms = terms_for(c);
  p->k_pad = (K + kBlock - 1) / kBlock * kBlock;
  for (int x = 0; x < 256; ++x) p->rx[x] = static_cast<uint8_t>(reduce_activation4(x, c.rounding));
  for (int w = -128; w < 128; ++w)
    p->delta[static_cast<uint8_t>(w)] = static_cast<int8_t>(reduce_weight4(w, c.rounding) - w);
  for (size_t t = 0; t < p->terms.size(); ++t) {
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

#if defined(__AVX512BW__) && defined(__AVX512VBMI__)
// 64 lanes of one activation-side value kind.
__m512i a_vector(AKind kind, __m512i x, __m512i rx) {
  const __m512i bias = _mm512_set1_epi8(kBias);
  switch (kind) {
    case AKind::kZero: return _mm512_setzero_si512();
    case AKind::kX: return x;
    case AKind::kRx: return rx;
    case AKind::kD: return _mm512_add_epi8(_mm512_sub_epi8(rx, x), bias);
    case AKind::kNegD: return _mm512_add_epi8(_mm512_sub_epi8(x, rx), bias);
    case AKind::kBias: return bias;
  }
  return _mm512_setzero_si512();
}
#endif

// Expands one activation row (K values) into terms.size() * k_pad columns.
void expand_a_row(const Plan& p, const uint8_t* x, int64_t K, uint8_t* out) {
  const size_t nt = p.terms.size();
#if defined(__AVX512BW__) && defined(__AVX512VBMI__)
  const __m512i t0 = _mm512_load_si512(p.rx), t1 = _mm512_load_si512(p.rx + 64);
  const __m512i t2 = _mm512_load_si512(p.rx + 128), t3 = _mm512_load_si512(p.rx + 192);
  for (int64_t k0 = 0; k0 < p.k_pad; k0 += kBlock) {
    const int64_t left = std::min<int64_t>(kBlock, K - k0);
    const __mmask64 valid = left >= kBlock ? ~0ULL : ((1ULL << left) - 1);
    const __m512i xv = _mm512_maskz_loadu_epi8(valid, x + k0);
    // R4a by table: vpermi2b looks up 128 entries, the top bit picks the half.
    const __m512i lo = _mm512_permutex2var_epi8(t0, xv, t1);
    const __m512i hi = _mm512_permutex2var_epi8(t2, xv, t3);
    const __m512i rx = _mm512_mask_blend_epi8(_mm512_movepi8_mask(xv), lo, hi);
    const Others o = others_of(_mm512_test_epi8_mask(xv, xv), p.T);
    for (size_t t = 0; t < nt; ++t) {
      const Term& term = p.terms[t];
      const __m512i v = _mm512_mask_blend_epi8(select_lanes(term.a_sel, o),
                                               a_vector(term.a_off, xv, rx),
                                               a_vector(term.a_on, xv, rx));
      _mm512_storeu_si512(out + t * p.k_pad + k0, v);
    }
  }
#else
  for (int64_t k0 = 0; k0 < p.k_pad; k0 += kBlock) {
    uint8_t lane[kBlock] = {};
    uint64_t active = 0;
    for (int64_t i = 0; i < kBlock && k0 + i < K; ++i) {
      lane[i] = x[k0 + i];
      active |= uint64_t{lane[i] != 0} << i;
    }
    const Others o = others_of(active, p.T);
    for (size_t t = 0; t < nt; ++t) {
      const uint64_t sel = select_lanes(p.terms[t].a_sel, o);
      for (int64_t i = 0; i < kBlock; ++i)
        out[t * p.k_pad + k0 + i] = ((sel >> i) & 1) ? p.a_on[t][lane[i]] : p.a_off[t][lane[i]];
    }
  }
#endif
}

// Same for one weight row. Weight-side "off" values are always 0.
void expand_w_row(const Plan& p, const int8_t* w, int64_t K, int8_t* out, bool either) {
  const size_t nt = p.terms.size();
#if defined(__AVX512BW__) && defined(__AVX512VBMI__)
  const __m512i t0 = _mm512_load_si512(p.delta), t1 = _mm512_load_si512(p.delta + 64);
  const __m512i t2 = _mm512_load_si512(p.delta + 128), t3 = _mm512_load_si512(p.delta + 192);
  for (int64_t k0 = 0; k0 < p.k_pad; k0 += kBlock) {
    const int64_t left = std::min<int64_t>(kBlock, K - k0);
    const __mmask64 valid = left >= kBlock ? ~0ULL : ((1ULL << left) - 1);
    const __m512i wv = _mm512_maskz_loadu_epi8(valid, w + k0);
    // delta table is indexed by the weight's byte (two's complement).
    const __m512i lo = _mm512_permutex2var_epi8(t0, wv, t1);
    const __m512i hi = _mm512_permutex2var_epi8(t2, wv, t3);
    const __m512i delta = _mm512_mask_blend_epi8(_mm512_movepi8_mask(wv), lo, hi);
    // With idle rule `act` a zero weight does not free its lane.
    const Others o = others_of(either ? _mm512_test_epi8_mask(wv, wv) : ~0ULL, p.T);
    for (size_t t = 0; t < nt; ++t) {
      __m512i v = _mm512_setzero_si512();
      switch (p.terms[t].w_on) {
        case WKind::kZero: break;
        case WKind::kW: v = wv; break;
        case WKind::kDelta: v = delta; break;
        case WKind::kMinus2Delta: v = _mm512_sub_epi8(_mm512_setzero_si512(), _mm512_add_epi8(delta, delta)); break;
      }
      _mm512_storeu_si512(out + t * p.k_pad + k0, _mm512_maskz_mov_epi8(select_lanes(p.terms[t].w_sel, o), v));
    }
  }
#else
  for (int64_t k0 = 0; k0 < p.k_pad; k0 += kBlock) {
    int8_t lane[kBlock] = {};
    uint64_t active = 0;
    for (int64_t i = 0; i < kBlock; ++i) {
      if (k0 + i < K) lane[i] = w[k0 + i];
      active |= uint64_t{!either || lane[i] != 0} << i;
    }
    const Others o = others_of(active, p.T);
    for (size_t t = 0; t < nt; ++t) {
      const uint64_t sel = select_lanes(p.terms[t].w_sel, o);
      for (int64_t i = 0; i < kBlock; ++i)
        out[t * p.k_pad + k0 + i] = ((sel >> i) & 1) ? p.w_on[t][lane[i] + 128] : 0;
    }
  }
#endif
}

// Sum of the expanded weight columns whose activation side carries +kBias.
int32_t biased_column_sum(const Plan& p, const int8_t* row) {
  int32_t sum = 0;
  for (size_t t = 0; t < p.terms.size(); ++t) {
    if (p.terms[t].a_off != AKind::kBias) continue;
    const int8_t* c = row + t * p.k_pad;
    for (int64_t k = 0; k < p.k_pad; ++k) sum += c[k];
  }
  return sum;
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
    impl->ld = static_cast<int64_t>(plan.terms.size()) * plan.k_pad;
    impl->w_ext.resize(static_cast<size_t>(N * impl->ld));
    impl->bias_fix.assign(N, 0);
    const bool either = config.idle == IdleRule::kEither;
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; ++n) {
      int8_t* row = impl->w_ext.data() + n * impl->ld;
      expand_w_row(plan, W + n * K, K, row, either);
      impl->bias_fix[n] = kBias * biased_column_sum(plan, row);
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
  std::vector<uint8_t> a_ext(static_cast<size_t>(std::min(chunk, M) * ld));
  for (int64_t m0 = 0; m0 < M; m0 += chunk) {
    const int64_t rows = std::min(chunk, M - m0);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r)
      expand_a_row(plan, A + (m0 + r) * K, K, a_ext.data() + r * ld);
    int32_t* y = Y + m0 * N;
    int8_gemm(a_ext.data(), ld, w.w_ext.data(), ld, y, N, rows, N, ld);
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

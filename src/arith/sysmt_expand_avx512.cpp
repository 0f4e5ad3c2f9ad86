// AVX-512 (F + BW + VBMI) row expansion for the fast SySMT GEMM: 64 lanes per register, R4a and
// R4w by vpermi2b table lookups. Compiled with per-file flags (cmake/kernel_isa.cmake) and called
// only after a CPU check (sysmt_gemm.cpp's dispatch table); without those flags this file is
// empty. No std:: templates here (see dispatch_variants.h).
#include "sysmt_expand.h"

#if defined(__AVX512BW__) && defined(__AVX512VBMI__)
#include <immintrin.h>

namespace bnrecal::sysmt::expand {
namespace {

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

// Lanes k0 .. k0+63 that exist (the rest of the last block reads as 0).
__mmask64 valid_lanes(int64_t k0, int64_t K) {
  const int64_t left = K - k0;
  return left >= kBlock ? ~0ULL : ((1ULL << left) - 1);
}

// 256-entry byte table lookup: vpermi2b looks up 128 entries, the index's top bit picks the half.
struct Table {
  __m512i t0, t1, t2, t3;
  explicit Table(const void* bytes) {
    const char* b = static_cast<const char*>(bytes);
    t0 = _mm512_load_si512(b);
    t1 = _mm512_load_si512(b + 64);
    t2 = _mm512_load_si512(b + 128);
    t3 = _mm512_load_si512(b + 192);
  }
  __m512i lookup(__m512i index) const {
    const __m512i lo = _mm512_permutex2var_epi8(t0, index, t1);
    const __m512i hi = _mm512_permutex2var_epi8(t2, index, t3);
    return _mm512_mask_blend_epi8(_mm512_movepi8_mask(index), lo, hi);
  }
};

}  // namespace

void expand_a_row_avx512(const Plan& p, const uint8_t* x, int64_t K, uint8_t* out) {
  const Table rx_table(p.rx);
  for (int64_t k0 = 0; k0 < p.k_pad; k0 += kBlock) {
    const __m512i xv = _mm512_maskz_loadu_epi8(valid_lanes(k0, K), x + k0);
    const __m512i rx = rx_table.lookup(xv);
    const Others o = others_of(_mm512_test_epi8_mask(xv, xv), p.T);
    for (int t = 0; t < p.nt; ++t) {
      const Term& term = p.terms[t];
      const __m512i v = _mm512_mask_blend_epi8(select_lanes(term.a_sel, o),
                                               a_vector(term.a_off, xv, rx),
                                               a_vector(term.a_on, xv, rx));
      _mm512_storeu_si512(out + t * p.k_pad + k0, v);
    }
  }
}

int32_t expand_w_row_avx512(const Plan& p, const int8_t* w, int64_t K, int8_t* out,
                            bool either) {
  const Table delta_table(p.delta);  // indexed by the weight's byte (two's complement)
  for (int64_t k0 = 0; k0 < p.k_pad; k0 += kBlock) {
    const __m512i wv = _mm512_maskz_loadu_epi8(valid_lanes(k0, K), w + k0);
    const __m512i delta = delta_table.lookup(wv);
    const Others o = others_of(either ? _mm512_test_epi8_mask(wv, wv) : ~0ULL, p.T);
    for (int t = 0; t < p.nt; ++t) {
      __m512i v = _mm512_setzero_si512();
      switch (p.terms[t].w_on) {
        case WKind::kZero: break;
        case WKind::kW: v = wv; break;
        case WKind::kDelta: v = delta; break;
        case WKind::kMinus2Delta:
          v = _mm512_sub_epi8(_mm512_setzero_si512(), _mm512_add_epi8(delta, delta));
          break;
      }
      const __mmask64 on = select_lanes(p.terms[t].w_sel, o);
      _mm512_storeu_si512(out + t * p.k_pad + k0, _mm512_maskz_mov_epi8(on, v));
    }
  }
  return biased_column_sum(p, out);
}

}  // namespace bnrecal::sysmt::expand
#endif

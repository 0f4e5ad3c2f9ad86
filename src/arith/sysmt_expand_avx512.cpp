// AVX-512 (F + BW + VBMI) row expansion for the fast SySMT GEMM: 64 lanes per register, R4a and
// R4w by vpermi2b table lookups, each segment's lanes gathered to the front by vpermb.
// Compiled with per-file flags (cmake/kernel_isa.cmake) and called only after a CPU check
// (sysmt_gemm.cpp's dispatch table); without those flags this file is empty. No std:: templates
// here (see dispatch_variants.h).
#include "sysmt_expand.h"

#if defined(__AVX512BW__) && defined(__AVX512VBMI__)
#include <immintrin.h>

namespace bnrecal::sysmt::expand {
namespace {

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

// Writes the segment's lanes of v (one value per lane of its block) to its columns of out.
void store_segment(const Segment& seg, __m512i v, void* out) {
  const __mmask64 head = seg.count >= kBlock ? ~0ULL : ((1ULL << seg.count) - 1);
  // (maskz: GCC 12 warns about the unmasked form's undefined pass-through operand)
  const __m512i gathered = _mm512_maskz_permutexvar_epi8(head, _mm512_load_si512(seg.perm), v);
  _mm512_mask_storeu_epi8(static_cast<char*>(out) + seg.offset, head, gathered);
}

}  // namespace

void expand_a_row_avx512(const Plan& p, const uint8_t* x, int64_t K, uint8_t* out) {
  const Table rx_table(p.rx);
  const Segment* seg = p.segments;
  const Segment* const end = seg + p.n_segments;
  while (seg != end) {
    const int64_t k0 = seg->k0;
    const __m512i xv = _mm512_maskz_loadu_epi8(valid_lanes(k0, K), x + k0);
    const __m512i rx = rx_table.lookup(xv);
    const Others o = others_of(_mm512_test_epi8_mask(xv, xv), p.T);
    for (; seg != end && seg->k0 == k0; ++seg) {
      const __m512i off = (seg->variant & kSecondKind) ? _mm512_setzero_si512() : xv;
      store_segment(*seg, _mm512_mask_blend_epi8(variant_on(seg->variant, o), off, rx), out);
    }
  }
}

void weight_row_variants_avx512(const int8_t* w, int64_t K, int T, bool act, uint64_t* out) {
  const __m512i low_nibble = _mm512_set1_epi8(15), top = _mm512_set1_epi8(7);
  const __m512i bottom = _mm512_set1_epi8(-8);
  for (int64_t k0 = 0; k0 < K; k0 += kBlock, out += kVariants) {
    const __mmask64 exist = valid_lanes(k0, K);
    const __m512i wv = _mm512_maskz_loadu_epi8(exist, w + k0);
    const __mmask64 outside = _mm512_cmpgt_epi8_mask(wv, top) | _mm512_cmplt_epi8_mask(wv, bottom);
    const __mmask64 reduced = outside & _mm512_test_epi8_mask(wv, low_nibble);  // weight_reduced
    block_variants(_mm512_test_epi8_mask(wv, wv), reduced, exist, T, act, out);
  }
}

void expand_w_row_avx512(const Plan& p, const int8_t* w, int64_t K, const uint64_t* variants,
                         int8_t* out) {
  const Table delta_table(p.delta);  // indexed by the weight's byte (two's complement)
  const Segment* seg = p.segments;
  const Segment* const end = seg + p.n_segments;
  while (seg != end) {
    const int64_t k0 = seg->k0;
    const __m512i wv = _mm512_maskz_loadu_epi8(valid_lanes(k0, K), w + k0);
    const __m512i delta = delta_table.lookup(wv);
    const uint64_t* lanes = variants + k0 / kBlock * kVariants;
    for (; seg != end && seg->k0 == k0; ++seg) {
      const __m512i values = (seg->variant & kSecondKind) ? delta : wv;
      store_segment(*seg, _mm512_maskz_mov_epi8(lanes[seg->variant], values), out);
    }
  }
}

}  // namespace bnrecal::sysmt::expand
#endif

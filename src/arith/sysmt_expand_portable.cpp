// Portable activation row expansion for the fast SySMT GEMM: byte tables and 64-bit lane masks,
// no ISA-specific code. Always built and the last entry of the run-time dispatch; its output is
// byte-identical to the AVX-512 version's (tests run both).
#include "sysmt_expand.h"

namespace bnrecal::sysmt::expand {

void expand_a_row_portable(const Plan& p, const uint8_t* x, int64_t K, uint8_t* out) {
  const Segment* seg = p.segments;
  const Segment* const end = seg + p.n_segments;
  while (seg != end) {
    const int64_t k0 = seg->k0;
    uint8_t lane[kBlock] = {};
    uint64_t active = 0;
    for (int64_t i = 0; i < kBlock && k0 + i < K; ++i) {
      lane[i] = x[k0 + i];
      active |= uint64_t{lane[i] != 0} << i;
    }
    const Others o = others_of(active, p.T);
    for (; seg != end && seg->k0 == k0; ++seg) {
      const uint64_t on = variant_on(seg->variant, o);
      const bool second = seg->variant & kSecondKind;
      uint8_t* column = out + seg->offset;
      for (int32_t i = 0; i < seg->count; ++i) {
        const int j = seg->perm[i];
        column[i] = ((on >> j) & 1) ? p.rx[lane[j]] : (second ? 0 : lane[j]);
      }
    }
  }
}

void weight_row_variants_portable(const int8_t* w, int64_t K, int T, bool act, uint64_t* out) {
  for (int64_t k0 = 0; k0 < K; k0 += kBlock, out += kVariants) {
    uint64_t nonzero = 0, reduced = 0, exist = 0;
    for (int64_t i = 0; i < kBlock && k0 + i < K; ++i) {
      exist |= uint64_t{1} << i;
      nonzero |= uint64_t{w[k0 + i] != 0} << i;
      reduced |= uint64_t{weight_reduced(w[k0 + i])} << i;
    }
    block_variants(nonzero, reduced, exist, T, act, out);
  }
}

void expand_w_row_portable(const Plan& p, const int8_t* w, int64_t K, const uint64_t* variants,
                           int8_t* out) {
  for (const Segment* seg = p.segments; seg != p.segments + p.n_segments; ++seg) {
    const uint64_t lanes = variants[seg->k0 / kBlock * kVariants + seg->variant];
    const bool second = seg->variant & kSecondKind;
    for (int32_t i = 0; i < seg->count; ++i) {
      const int j = seg->perm[i];
      const int8_t wj = ((lanes >> j) & 1) ? w[seg->k0 + j] : 0;
      out[seg->offset + i] = second ? p.delta[static_cast<uint8_t>(wj)] : wj;
    }
  }
}

}  // namespace bnrecal::sysmt::expand

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

}  // namespace bnrecal::sysmt::expand

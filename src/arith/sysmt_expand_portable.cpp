// Portable row expansion for the fast SySMT GEMM: byte tables and 64-bit lane masks, no
// ISA-specific code. Always built and the last entry of the run-time dispatch; its output is
// byte-identical to the AVX-512 version's (tests run both).
#include "sysmt_expand.h"

namespace bnrecal::sysmt::expand {

void expand_a_row_portable(const Plan& p, const uint8_t* x, int64_t K, uint8_t* out) {
  for (int64_t k0 = 0; k0 < p.k_pad; k0 += kBlock) {
    uint8_t lane[kBlock] = {};
    uint64_t active = 0;
    for (int64_t i = 0; i < kBlock && k0 + i < K; ++i) {
      lane[i] = x[k0 + i];
      active |= uint64_t{lane[i] != 0} << i;
    }
    const Others o = others_of(active, p.T);
    for (int t = 0; t < p.nt; ++t) {
      const uint64_t sel = select_lanes(p.terms[t].a_sel, o);
      for (int64_t i = 0; i < kBlock; ++i)
        out[t * p.k_pad + k0 + i] = ((sel >> i) & 1) ? p.a_on[t][lane[i]] : p.a_off[t][lane[i]];
    }
  }
}

int32_t expand_w_row_portable(const Plan& p, const int8_t* w, int64_t K, int8_t* out,
                              bool either) {
  for (int64_t k0 = 0; k0 < p.k_pad; k0 += kBlock) {
    int8_t lane[kBlock] = {};
    uint64_t active = 0;
    for (int64_t i = 0; i < kBlock; ++i) {
      if (k0 + i < K) lane[i] = w[k0 + i];
      active |= uint64_t{!either || lane[i] != 0} << i;
    }
    const Others o = others_of(active, p.T);
    for (int t = 0; t < p.nt; ++t) {
      const uint64_t sel = select_lanes(p.terms[t].w_sel, o);
      for (int64_t i = 0; i < kBlock; ++i)
        out[t * p.k_pad + k0 + i] = ((sel >> i) & 1) ? p.w_on[t][lane[i] + 128] : 0;
    }
  }
  return biased_column_sum(p, out);
}

}  // namespace bnrecal::sysmt::expand

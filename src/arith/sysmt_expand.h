// Internal: the expansion plan shared by sysmt_gemm.cpp (which builds it) and the row expansion
// kernels (sysmt_expand_portable.cpp, sysmt_expand_avx512.cpp, chosen at run time). See
// sysmt_gemm.cpp for why the expanded GEMM is exact.
//
// Everything here is plain data or `static inline`: the AVX-512 translation unit includes this
// header too, and an externally visible inline function compiled there could replace the portable
// copy at link time (see dispatch_variants.h).
#pragma once
#include <cstdint>

namespace bnrecal::sysmt::expand {

constexpr int kBias = 16;  // makes the signed activation-side values (-15..8) unsigned

enum class AKind { kZero, kX, kRx, kD, kNegD, kBias };
enum class WKind { kZero, kW, kDelta, kMinus2Delta };

// Which other lanes of the group a term's indicator looks at. The other lanes
// of lane j are numbered o_i = (j + i + 1) mod T; any fixed numbering works
// because every subset size appears with the same coefficient.
struct Selector {
  int subset;  // bit i: other lane o_i must be active (0 and count 0: always)
  int count;   // > 0: at least `count` other lanes active
};
struct Term {
  AKind a_on, a_off;
  Selector a_sel;
  WKind w_on;  // weight side is 0 when w_sel is off
  Selector w_sel;
};

constexpr int kMaxTerms = 16;  // 12 are used (4T, idle rule either)

// Expansion plan: terms plus byte tables. The expanded row is term-major:
// column t * k_pad + k holds term t of lane k (same order on both sides).
// Plain arrays, not std::vector, so that the ISA-specific kernels instantiate no templates.
struct Plan {
  int T;
  int nt;  // terms used
  Term terms[kMaxTerms];
  bool biased;    // some term's activation side carries +kBias
  int64_t k_pad;  // K rounded up to kBlock; padded lanes are (x = 0, w = 0)
  alignas(64) uint8_t rx[256];
  alignas(64) int8_t delta[256];  // R4w(w) - w, indexed by uint8_t(w)
  uint8_t a_on[kMaxTerms][256];
  uint8_t a_off[kMaxTerms][256];
  int8_t w_on[kMaxTerms][256];  // indexed by w + 128
};

// Lanes are processed in blocks of 64 (a multiple of T, so groups never
// straddle blocks); one bit per lane. others[i] has, at lane j's bit, the
// active bit of other lane o_i(j).
constexpr int64_t kBlock = 64;
struct Others {
  uint64_t r[3];
};

static inline Others others_of(uint64_t active, int T) {
  Others o{{0, 0, 0}};
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

static inline uint64_t select_lanes(const Selector& s, const Others& o) {
  if (s.count == 1) return o.r[0] | o.r[1] | o.r[2];
  if (s.count == 2) return (o.r[0] & o.r[1]) | (o.r[0] & o.r[2]) | (o.r[1] & o.r[2]);
  uint64_t m = ~0ULL;
  for (int i = 0; i < 3; ++i)
    if ((s.subset >> i) & 1) m &= o.r[i];
  return m;
}

// Sum of the expanded weight columns whose activation side carries +kBias (the GEMM's bias is
// removed with it). Here, not in sysmt_gemm.cpp, so that each row kernel's translation unit
// vectorizes it with its own instruction set.
static inline int32_t biased_column_sum(const Plan& p, const int8_t* row) {
  int32_t sum = 0;
  for (int t = 0; t < p.nt; ++t) {
    if (p.terms[t].a_off != AKind::kBias) continue;
    const int8_t* c = row + t * p.k_pad;
    for (int64_t k = 0; k < p.k_pad; ++k) sum += c[k];
  }
  return sum;
}

// Expands one activation row (K values) into p.nt * p.k_pad columns.
using ExpandActivationRow = void (*)(const Plan& p, const uint8_t* x, int64_t K, uint8_t* out);
// Same for one weight row; returns biased_column_sum of the expanded row. Weight-side "off"
// values are always 0. With idle rule `act` (either == false) a zero weight does not free its lane.
using ExpandWeightRow = int32_t (*)(const Plan& p, const int8_t* w, int64_t K, int8_t* out,
                                    bool either);

void expand_a_row_portable(const Plan& p, const uint8_t* x, int64_t K, uint8_t* out);
int32_t expand_w_row_portable(const Plan& p, const int8_t* w, int64_t K, int8_t* out,
                              bool either);
// Defined only when BNRECAL_HAVE_X86_KERNELS (the file got its AVX-512 flags); call only when
// arith::detail::cpu_has_avx512_vbmi().
void expand_a_row_avx512(const Plan& p, const uint8_t* x, int64_t K, uint8_t* out);
int32_t expand_w_row_avx512(const Plan& p, const int8_t* w, int64_t K, int8_t* out,
                            bool either);

}  // namespace bnrecal::sysmt::expand

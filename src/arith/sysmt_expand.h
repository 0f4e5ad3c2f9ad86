// Internal: the expansion plan shared by sysmt_gemm.cpp (which builds it from the weights) and
// the row kernels that expand activations and weights by it (sysmt_expand_portable.cpp,
// sysmt_expand_avx512.cpp, chosen at run time). See sysmt_gemm.cpp for why the expanded GEMM is
// exact.
//
// Everything here is plain data or `static inline`: the AVX-512 translation unit includes this
// header too, and an externally visible inline function compiled there could replace the portable
// copy at link time (see dispatch_variants.h).
#pragma once
#include <cstdint>

namespace bnrecal::sysmt::expand {

// Lanes are processed in blocks of 64 (a multiple of T, so groups never straddle blocks); one
// bit per lane. others.r[i] has, at lane j's bit, the active bit of other lane o_i(j) =
// group base + (j + i + 1) mod T.
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

// A column variant of a lane. Its low three bits are a set S of the lane's other lanes (bit i:
// o_i); bit 3 says which of the two kinds it is:
//   kind 1 (bit 3 clear): R4a(x) if some lane of S holds a nonzero activation, else x;
//   kind 2 (bit 3 set):   R4a(x) if at least two lanes of S do, else 0.
// The weight side puts, for output channel n, w into the kind-1 column whose S is the set of the
// lane's other lanes that n's weights keep active, and R4w(w) - w into the kind-2 column of the
// same S (T = 4 only); every other column of that lane gets 0 for n.
constexpr int kVariants = 16;
constexpr int kSecondKind = 8;

static inline uint64_t variant_on(int variant, const Others& o) {
  const uint64_t r0 = (variant & 1) ? o.r[0] : 0;
  const uint64_t r1 = (variant & 2) ? o.r[1] : 0;
  const uint64_t r2 = (variant & 4) ? o.r[2] : 0;
  if (variant & kSecondKind) return (r0 & r1) | (r0 & r2) | (r1 & r2);
  return r0 | r1 | r2;
}

// The lanes of one 64-lane block that need one variant, and where their column values go in the
// expanded row: lane perm[i] (i < count) is written to column offset + i.
struct alignas(64) Segment {
  uint8_t perm[kBlock];
  int64_t k0;      // first lane of the block
  int64_t offset;  // first column in the expanded row
  int32_t count;   // lanes of the block that need the variant
  int32_t variant;
};

// The expanded row is block-major, then variant-major: for each block (in order of k0), the
// segments of the variants some lane of that block needs. Plain pointers, not std::vector, so
// that the ISA-specific kernels instantiate no templates; the segments are owned by the packed
// weights.
struct Plan {
  int T;
  int64_t columns;  // length of an expanded row
  const Segment* segments;
  int64_t n_segments;
  alignas(64) uint8_t rx[256];    // R4a
  alignas(64) int8_t delta[256];  // R4w(w) - w, indexed by uint8_t(w)
};

// The lanes of one 64-lane block of one output channel's weights that use each variant (out[v],
// v < kVariants), from the block's lanes with a nonzero weight, those whose weight R4w changes,
// and those that exist (k < K). `act`: idle rule act (a zero weight does not free its lane).
// A lane with a zero weight adds nothing under either rule and uses no variant.
static inline void block_variants(uint64_t nonzero, uint64_t reduced, uint64_t exist, int T,
                                  bool act, uint64_t out[kVariants]) {
  const Others o = others_of(act ? exist : nonzero, T);
  for (int v = 0; v < kVariants; ++v) out[v] = 0;
  for (int s = 0; s < (1 << (T - 1)); ++s) {  // s: which other lanes can be active
    uint64_t lanes = nonzero;
    for (int i = 0; i < T - 1; ++i) lanes &= ((s >> i) & 1) ? o.r[i] : ~o.r[i];
    out[s] = lanes;
    if (T == 4 && __builtin_popcount(s) >= 2) out[kSecondKind | s] = lanes & reduced;
  }
}

// R4w(w) != w exactly when w lies outside -8..7 and is not a multiple of 16, for every rounding
// mode (a remainder of 0 never rounds up, and multiples of 16 up to 112 are kept).
static inline bool weight_reduced(int8_t w) { return (w < -8 || w > 7) && (w & 15) != 0; }

// Expands one activation row (K values) into p.columns columns.
using ExpandActivationRow = void (*)(const Plan& p, const uint8_t* x, int64_t K, uint8_t* out);
// block_variants of every 64-lane block of one weight row (K values): out[block * kVariants + v].
using WeightRowVariants = void (*)(const int8_t* w, int64_t K, int T, bool act, uint64_t* out);
// Expands one weight row into p.columns columns, given its row variants: w in the kind-1 column
// the lane uses, R4w(w) - w in its kind-2 column, 0 in every other column.
using ExpandWeightRow = void (*)(const Plan& p, const int8_t* w, int64_t K, const uint64_t* variants,
                                 int8_t* out);

void expand_a_row_portable(const Plan& p, const uint8_t* x, int64_t K, uint8_t* out);
void weight_row_variants_portable(const int8_t* w, int64_t K, int T, bool act, uint64_t* out);
void expand_w_row_portable(const Plan& p, const int8_t* w, int64_t K, const uint64_t* variants,
                           int8_t* out);
// Defined only when BNRECAL_HAVE_X86_KERNELS (the file got its AVX-512 flags); call only when
// arith::detail::cpu_has_avx512_vbmi().
void expand_a_row_avx512(const Plan& p, const uint8_t* x, int64_t K, uint8_t* out);
void weight_row_variants_avx512(const int8_t* w, int64_t K, int T, bool act, uint64_t* out);
void expand_w_row_avx512(const Plan& p, const int8_t* w, int64_t K, const uint64_t* variants,
                         int8_t* out);

}  // namespace bnrecal::sysmt::expand

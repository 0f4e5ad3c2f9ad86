// Internal: the per-chunk moments kernel of channel_moments.cpp, compiled once per instruction
// set (channel_moments.cpp: portable; channel_moments_avx2.cpp, channel_moments_avx512.cpp: with
// per-file flags) and chosen at run time. The same source serves all: the GCC vector type below
// is lowered to whatever registers the translation unit's flags allow.
//
// Everything here is plain data, `static inline` or in an anonymous namespace (see
// dispatch_variants.h for why).
#pragma once
#include <cstdint>
#include <cstring>

namespace bnrecal::moments {

// `segments` runs of `length` floats, `stride` floats apart (one or several planes of a
// channel, or one piece of a large plane).
struct Chunk {
  const float* first;
  int64_t segments, length, stride;
};

struct ChunkMoments {
  int64_t count;
  double mean, m2;
};

using ChunkKernel = ChunkMoments (*)(const Chunk& chunk);

ChunkMoments chunk_moments_portable(const Chunk& chunk);
// Defined only when BNRECAL_HAVE_X86_KERNELS; call only when the CPU has the features.
ChunkMoments chunk_moments_avx2(const Chunk& chunk);
ChunkMoments chunk_moments_avx512(const Chunk& chunk);

// 16 float accumulator lanes, held as GCC vectors of the translation unit's register width: one
// AVX-512 register, two AVX2 ones or four SSE ones. (A single 16-float vector type is lowered
// well only when the target has 16-float registers; elsewhere GCC keeps it in memory.) Lane j
// sums the same values whatever the width, so builds differ only by FMA contraction.
// The anonymous namespace gives each translation unit its own types of its own width.
namespace {

constexpr int kLanes = 16;
#if defined(__AVX512F__)
constexpr int kWidth = 16;
#elif defined(__AVX__)
constexpr int kWidth = 8;
#else
constexpr int kWidth = 4;
#endif
constexpr int kParts = kLanes / kWidth;
typedef float Vec __attribute__((vector_size(kWidth * sizeof(float))));

struct Lanes {
  Vec part[kParts];
};

inline Lanes zero_lanes() {
  Lanes v;
#pragma GCC unroll 4
  for (int q = 0; q < kParts; ++q) v.part[q] = Vec{};
  return v;
}

// acc += p[0 .. kLanes).
inline void add_lanes(Lanes& acc, const float* p) {
#pragma GCC unroll 4
  for (int q = 0; q < kParts; ++q) {
    Vec v;
    std::memcpy(&v, p + q * kWidth, sizeof v);
    acc.part[q] += v;
  }
}

// d = p[0 .. kLanes) - shift; d1 += d; d2 += d * d.
inline void add_deviations(Lanes& d1, Lanes& d2, const float* p, float shift) {
#pragma GCC unroll 4
  for (int q = 0; q < kParts; ++q) {
    Vec d;
    std::memcpy(&d, p + q * kWidth, sizeof d);
    d -= shift;
    d1.part[q] += d;
    d2.part[q] += d * d;
  }
}

inline double horizontal_sum(const Lanes& v) {
  double total = 0;
  for (int q = 0; q < kParts; ++q)
    for (int j = 0; j < kWidth; ++j) total += v.part[q][j];
  return total;
}

}  // namespace

static inline double chunk_sum(const Chunk& ch) {
  Lanes lanes = zero_lanes();
  float tail = 0;
  for (int64_t s = 0; s < ch.segments; ++s) {
    const float* p = ch.first + s * ch.stride;
    int64_t i = 0;
    for (; i + kLanes <= ch.length; i += kLanes) add_lanes(lanes, p + i);
    for (; i < ch.length; ++i) tail += p[i];
  }
  return horizontal_sum(lanes) + tail;
}

// Mean and M2 of one chunk. The deviations are taken from a float shift near the chunk mean and
// corrected for the shift's rounding (M2 = sum d^2 - (sum d)^2 / n), so nothing cancels.
static inline ChunkMoments chunk_moments_body(const Chunk& ch) {
  const int64_t count = ch.segments * ch.length;
  const double n = static_cast<double>(count);
  const float shift = static_cast<float>(chunk_sum(ch) / n);
  Lanes d1 = zero_lanes(), d2 = zero_lanes();
  float tail1 = 0, tail2 = 0;
  for (int64_t s = 0; s < ch.segments; ++s) {
    const float* p = ch.first + s * ch.stride;
    int64_t i = 0;
    for (; i + kLanes <= ch.length; i += kLanes) add_deviations(d1, d2, p + i, shift);
    for (; i < ch.length; ++i) {
      const float d = p[i] - shift;
      tail1 += d;
      tail2 += d * d;
    }
  }
  const double sd = horizontal_sum(d1) + tail1, sd2 = horizontal_sum(d2) + tail2;
  const double m2 = sd2 - sd * sd / n;
  return {count, shift + sd / n, m2 > 0 ? m2 : 0.0};
}

}  // namespace bnrecal::moments

// Internal: the per-chunk moments kernel of channel_moments.cpp, compiled once per instruction
// set (channel_moments.cpp: portable; channel_moments_avx2.cpp, channel_moments_avx512.cpp: with
// per-file flags) and chosen at run time. The same source serves all: the GCC vector type below
// is lowered to whatever registers the translation unit's flags allow.
//
// Everything here is plain data or `static inline` (see dispatch_variants.h for why).
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

// 16 float lanes as a GCC vector: one AVX-512 register, two AVX2 ones, four SSE ones. Plain
// arrays of accumulators were vectorized badly (lane shuffles, spills).
constexpr int kLanes = 16;
typedef float Lanes __attribute__((vector_size(kLanes * sizeof(float))));

// By reference: returning a vector wider than the TU's registers draws -Wpsabi warnings.
static inline void load_lanes(Lanes& v, const float* p) { std::memcpy(&v, p, sizeof v); }

static inline double horizontal_sum(const Lanes& v) {
  double total = 0;
  for (int j = 0; j < kLanes; ++j) total += v[j];
  return total;
}

static inline double chunk_sum(const Chunk& ch) {
  Lanes lanes = {};
  float tail = 0;
  for (int64_t s = 0; s < ch.segments; ++s) {
    const float* p = ch.first + s * ch.stride;
    int64_t i = 0;
    for (; i + kLanes <= ch.length; i += kLanes) {
      Lanes v;
      load_lanes(v, p + i);
      lanes += v;
    }
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
  Lanes d1 = {}, d2 = {};
  float tail1 = 0, tail2 = 0;
  for (int64_t s = 0; s < ch.segments; ++s) {
    const float* p = ch.first + s * ch.stride;
    int64_t i = 0;
    for (; i + kLanes <= ch.length; i += kLanes) {
      Lanes d;
      load_lanes(d, p + i);
      d -= shift;
      d1 += d;
      d2 += d * d;
    }
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

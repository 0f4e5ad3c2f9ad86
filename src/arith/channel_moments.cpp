#include "bnrecal/arith/channel_moments.h"

#include <algorithm>
#include <cstring>

namespace bnrecal {

void ChannelMoments::merge(const ChannelMoments& b) {
  if (b.count == 0) return;
  const double na = static_cast<double>(count), nb = static_cast<double>(b.count);
  const double n = na + nb, delta = b.mean - mean;
  mean += delta * (nb / n);
  m2 += b.m2 + delta * delta * (na * nb / n);
  count += b.count;
}

namespace {

// Values per chunk: 16 KiB of floats, so the second pass over a chunk reads from L1.
constexpr int64_t kChunk = 4096;

// 16 float lanes as a GCC vector: lowered to whatever the target has (one AVX-512 register, two
// AVX2 ones, ...). Plain arrays of accumulators were vectorized badly (lane shuffles, spills).
constexpr int kLanes = 16;
using Lanes = float __attribute__((vector_size(kLanes * sizeof(float))));

Lanes load(const float* p) {
  Lanes v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

double horizontal_sum(const Lanes& v) {
  double total = 0;
  for (int j = 0; j < kLanes; ++j) total += v[j];
  return total;
}

// `segments` runs of `length` floats, `stride` floats apart (one or several planes of a
// channel, or one piece of a large plane).
struct Chunk {
  const float* first;
  int64_t segments, length, stride;
  int64_t count() const { return segments * length; }
};

double sum(const Chunk& ch) {
  Lanes lanes = {};
  float tail = 0;
  for (int64_t s = 0; s < ch.segments; ++s) {
    const float* p = ch.first + s * ch.stride;
    int64_t i = 0;
    for (; i + kLanes <= ch.length; i += kLanes) lanes += load(p + i);
    for (; i < ch.length; ++i) tail += p[i];
  }
  return horizontal_sum(lanes) + tail;
}

// Mean and M2 of one chunk. The deviations are taken from a float shift near the chunk mean and
// corrected for the shift's rounding (M2 = sum d^2 - (sum d)^2 / n), so nothing cancels.
ChannelMoments chunk_moments(const Chunk& ch) {
  const double n = static_cast<double>(ch.count());
  const float shift = static_cast<float>(sum(ch) / n);
  Lanes d1 = {}, d2 = {};
  float tail1 = 0, tail2 = 0;
  for (int64_t s = 0; s < ch.segments; ++s) {
    const float* p = ch.first + s * ch.stride;
    int64_t i = 0;
    for (; i + kLanes <= ch.length; i += kLanes) {
      const Lanes d = load(p + i) - shift;
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
  return {ch.count(), shift + sd / n, std::max(0.0, sd2 - sd * sd / n)};
}

}  // namespace

ChannelMoments channel_moments(const float* x, int64_t batch, int64_t channels, int64_t plane,
                               int64_t c) {
  ChannelMoments total;
  if (plane == 0) return total;
  const int64_t stride = channels * plane;
  const float* channel = x + c * plane;
  if (plane >= kChunk) {  // large planes: pieces of one plane
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t off = 0; off < plane; off += kChunk) {
        total.merge(chunk_moments({channel + b * stride + off, 1, std::min(kChunk, plane - off), 0}));
      }
    }
  } else {  // small planes: several whole planes of the channel per chunk
    const int64_t per_chunk = kChunk / plane;
    for (int64_t b = 0; b < batch; b += per_chunk) {
      total.merge(chunk_moments({channel + b * stride, std::min(per_chunk, batch - b), plane, stride}));
    }
  }
  return total;
}

ChannelMoments channel_moments_ref(const float* x, int64_t batch, int64_t channels, int64_t plane,
                                   int64_t c) {
  ChannelMoments m;
  m.count = batch * plane;
  if (m.count == 0) return m;
  const float* channel = x + c * plane;
  double total = 0;
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t i = 0; i < plane; ++i) total += channel[b * channels * plane + i];
  }
  m.mean = total / static_cast<double>(m.count);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t i = 0; i < plane; ++i) {
      const double d = channel[b * channels * plane + i] - m.mean;
      m.m2 += d * d;
    }
  }
  return m;
}

}  // namespace bnrecal

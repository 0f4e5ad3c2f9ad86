// channel_moments: chunking and float64 merging around a per-chunk kernel chosen at run time
// (channel_moments_kernel.h), plus the float64 two-pass reference.
#include "bnrecal/arith/channel_moments.h"

#include <algorithm>

#include "channel_moments_kernel.h"
#include "dispatch_variants.h"

namespace bnrecal {

void ChannelMoments::merge(const ChannelMoments& b) {
  if (b.count == 0) return;
  const double na = static_cast<double>(count), nb = static_cast<double>(b.count);
  const double n = na + nb, delta = b.mean - mean;
  mean += delta * (nb / n);
  m2 += b.m2 + delta * delta * (na * nb / n);
  count += b.count;
}

namespace moments {

// The portable build of the chunk kernel: this file has no ISA flags.
ChunkMoments chunk_moments_portable(const Chunk& chunk) { return chunk_moments_body(chunk); }

namespace {

// Values per chunk: 16 KiB of floats, so the second pass over a chunk reads from L1.
constexpr int64_t kChunk = 4096;

arith::detail::Variants<ChunkKernel>& chunk_kernels() {
  static arith::detail::Variants<ChunkKernel> table({
#ifdef BNRECAL_HAVE_X86_KERNELS
      {"avx512", arith::detail::cpu_has_avx512f, chunk_moments_avx512},
      {"avx2_fma", arith::detail::cpu_has_avx2_fma, chunk_moments_avx2},
#endif
      {"portable", arith::detail::cpu_any, chunk_moments_portable},
  });
  return table;
}

void merge_chunk(ChannelMoments& total, ChunkKernel kernel, const Chunk& chunk) {
  const ChunkMoments m = kernel(chunk);
  ChannelMoments part;
  part.count = m.count;
  part.mean = m.mean;
  part.m2 = m.m2;
  total.merge(part);
}

}  // namespace
}  // namespace moments

namespace arith::detail {
VariantSet& channel_moments_variants() { return moments::chunk_kernels(); }
}  // namespace arith::detail

ChannelMoments channel_moments(const float* x, int64_t batch, int64_t channels, int64_t plane,
                               int64_t c) {
  using moments::kChunk;
  ChannelMoments total;
  if (plane == 0) return total;
  const moments::ChunkKernel kernel = moments::chunk_kernels().active();
  const int64_t stride = channels * plane;
  const float* channel = x + c * plane;
  if (plane >= kChunk) {  // large planes: pieces of one plane
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t off = 0; off < plane; off += kChunk) {
        const int64_t length = std::min(kChunk, plane - off);
        moments::merge_chunk(total, kernel, {channel + b * stride + off, 1, length, 0});
      }
    }
  } else {  // small planes: several whole planes of the channel per chunk
    const int64_t per_chunk = kChunk / plane;
    for (int64_t b = 0; b < batch; b += per_chunk) {
      const int64_t planes = std::min(per_chunk, batch - b);
      moments::merge_chunk(total, kernel, {channel + b * stride, planes, plane, stride});
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

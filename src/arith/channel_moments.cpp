// channel_moments: chunking and float64 merging around a per-chunk kernel chosen at run time
// (channel_moments_kernel.h), plus the float64 two-pass reference.
#include "bnrecal/arith/channel_moments.h"

#include <omp.h>

#include <algorithm>
#include <vector>

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

void merge_chunk(ChannelMoments& total, const ChunkMoments& m) {
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

namespace {

// The chunks a channel is read in, as a grid: row r of channel c is its r-th chunk, and a channel's
// moments are its chunks' merged in row order. Small planes: several whole planes of the channel
// per chunk (row r = planes r*per_chunk ...); large planes: pieces of one plane (row r = image
// r / pieces, piece r % pieces).
struct ChunkGrid {
  const float* x;
  int64_t batch, channels, plane;
  int64_t per_chunk = 0, pieces = 0, rows = 0;

  ChunkGrid(const float* x_, int64_t batch_, int64_t channels_, int64_t plane_)
      : x(x_), batch(batch_), channels(channels_), plane(plane_) {
    using moments::kChunk;
    if (plane >= kChunk) {
      pieces = (plane + kChunk - 1) / kChunk;
      rows = batch * pieces;
    } else if (plane > 0) {
      per_chunk = kChunk / plane;
      rows = (batch + per_chunk - 1) / per_chunk;
    }
  }

  moments::Chunk at(int64_t r, int64_t c) const {
    using moments::kChunk;
    const int64_t stride = channels * plane;
    const float* channel = x + c * plane;
    if (pieces > 0) {
      const int64_t b = r / pieces, off = (r % pieces) * kChunk;
      return {channel + b * stride + off, 1, std::min(kChunk, plane - off), 0};
    }
    const int64_t b = r * per_chunk;
    return {channel + b * stride, std::min(per_chunk, batch - b), plane, stride};
  }
};

}  // namespace

ChannelMoments channel_moments(const float* x, int64_t batch, int64_t channels, int64_t plane,
                               int64_t c) {
  ChannelMoments total;
  const ChunkGrid grid(x, batch, channels, plane);
  const moments::ChunkKernel kernel = moments::chunk_kernels().active();
  for (int64_t r = 0; r < grid.rows; ++r) moments::merge_chunk(total, kernel(grid.at(r, c)));
  return total;
}

void all_channel_moments(const float* x, int64_t batch, int64_t channels, int64_t plane,
                         ChannelMoments* out) {
  const ChunkGrid grid(x, batch, channels, plane);
  const moments::ChunkKernel kernel = moments::chunk_kernels().active();
  // Tiles of (row, block of channels), in memory order: within a row, channel after channel, each
  // chunk's planes continue where the previous channel's ended, so the reads stream. Enough tiles
  // for every thread even when a batch of small planes is a single row.
  const int64_t threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const int64_t rows = std::max<int64_t>(grid.rows, 1);
  const int64_t blocks =
      std::clamp<int64_t>((4 * threads + rows - 1) / rows, 1, std::max<int64_t>(channels, 1));
  const int64_t block = (channels + blocks - 1) / blocks;
  std::vector<moments::ChunkMoments> parts(static_cast<size_t>(grid.rows * channels));
  const int64_t tiles = grid.rows * blocks;
  const bool parallel = threads > 1 && tiles > 1 && batch * channels * plane >= (int64_t{1} << 16);
#pragma omp parallel for schedule(dynamic, 1) if (parallel)
  for (int64_t t = 0; t < tiles; ++t) {
    const int64_t r = t / blocks, c_end = std::min(channels, (t % blocks + 1) * block);
    for (int64_t c = (t % blocks) * block; c < c_end; ++c)
      parts[r * channels + c] = kernel(grid.at(r, c));
  }
  for (int64_t c = 0; c < channels; ++c) {
    ChannelMoments total;
    for (int64_t r = 0; r < grid.rows; ++r) moments::merge_chunk(total, parts[r * channels + c]);
    out[c] = total;
  }
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

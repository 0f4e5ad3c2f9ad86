// Per-channel moments of an NCHW float32 activation (count, mean, M2 = sum of squared
// deviations from the mean): the batch statistics a BatchNorm layer in training mode needs.
//
//   bnrecal::ChannelMoments m = bnrecal::channel_moments(x, batch, channels, plane, c);
//   double biased_var = m.m2 / m.count, unbiased_var = m.m2 / (m.count - 1);
//
// The fast kernel reads every value from memory once: it walks the channel in chunks small enough
// to stay in L1, computes each chunk's mean and shifted M2 with two vectorizable float passes, and
// merges the chunks in float64 with Chan et al.'s formula. It agrees with the float64 two-pass
// reference to about 1e-6 relative to the channel's standard deviation (tested), not bit for bit:
// summation order differs. The chunk kernel is built for several instruction sets and chosen at
// run time (bnrecal/arith/dispatch.h, Kernel::kChannelMoments); all of them meet that tolerance.
#pragma once
#include <cstdint>

namespace bnrecal {

struct ChannelMoments {
  int64_t count = 0;
  double mean = 0;
  double m2 = 0;
  // Chan et al.: merges another set of moments of disjoint values into this one.
  void merge(const ChannelMoments& other);
};

// x: contiguous [batch, channels, plane] float32 (plane = H*W); statistics of channel c.
ChannelMoments channel_moments(const float* x, int64_t batch, int64_t channels, int64_t plane,
                               int64_t c);
// Every channel's moments into out[0 .. channels): each equal bit for bit to channel_moments(...,
// c) (the same chunks, merged in the same order), but read in memory order, all channels of a
// few images at a time, and shared among the OpenMP threads (unless called inside a parallel
// region): the reads stream through memory instead of hopping between one channel's planes.
void all_channel_moments(const float* x, int64_t batch, int64_t channels, int64_t plane,
                         ChannelMoments* out);
// Float64 two-pass reference: mean first, then squared deviations from it.
ChannelMoments channel_moments_ref(const float* x, int64_t batch, int64_t channels, int64_t plane,
                                   int64_t c);

}  // namespace bnrecal

// Per-channel histograms of NCHW activations on fixed per-channel ranges, and the Kullback-Leibler
// and Jensen-Shannon divergences between two histograms of one channel (in nats).
//
// Binning: channel c's range [lo_c, hi_c] is cut into `bins` equal bins; values below lo_c or
// above hi_c are counted in the first or last bin (so mass that leaves the reference range still
// counts, at the range's edge). A channel with hi_c == lo_c gets the range [lo_c, lo_c + 1].
// Smoothing: each bin gets a pseudo-count of 0.5 before normalizing (p_i = (c_i + 0.5) /
// (N + 0.5 bins)), so KL stays finite where one histogram has an empty bin; with the hundreds
// of thousands of values per channel of a layer's activations this moves no divergence visibly.
//
//   bnrecal::ChannelHistogram h(lo, hi, 128);   // lo, hi: float64 [C]
//   h.add(activations);                          // [N, C, H, W], any number of times
//   double kl = bnrecal::kl_divergence(clean.counts()[c], noisy.counts()[c]);
#pragma once
#include <ATen/ATen.h>

#include <cstdint>

namespace bnrecal {

class ChannelHistogram {
 public:
  ChannelHistogram(const at::Tensor& lo, const at::Tensor& hi, int64_t bins);
  // x: [N, C, H, W] (or [N, C]) with C the channels of lo/hi.
  void add(const at::Tensor& x);
  const at::Tensor& counts() const { return counts_; }  // float64 [C, bins]
  int64_t bins() const { return bins_; }

 private:
  at::Tensor lo_, scale_, counts_;  // scale = bins / (hi - lo)
  int64_t bins_;
};

// Divergences of two count vectors of equal length (smoothed as above), in nats.
// KL(P || Q) = sum p_i ln(p_i / q_i); JS = KL(P || M) / 2 + KL(Q || M) / 2 with M = (P + Q) / 2.
double kl_divergence(const at::Tensor& p_counts, const at::Tensor& q_counts);
double js_divergence(const at::Tensor& p_counts, const at::Tensor& q_counts);

}  // namespace bnrecal

#include "bnrecal/eval/histogram_divergence.h"

#include "bnrecal/core/error.h"

namespace bnrecal {

namespace {

constexpr double kPseudoCount = 0.5;

at::Tensor smoothed_probabilities(const at::Tensor& counts) {
  const at::Tensor c = counts.to(at::kDouble) + kPseudoCount;
  return c / c.sum();
}

double kl_of_probabilities(const at::Tensor& p, const at::Tensor& q) {
  return (p * (p.log() - q.log())).sum().item<double>();
}

}  // namespace

ChannelHistogram::ChannelHistogram(const at::Tensor& lo, const at::Tensor& hi, int64_t bins) : bins_(bins) {
  require(bins >= 2, "a histogram needs at least 2 bins, got " + std::to_string(bins));
  require(lo.dim() == 1 && hi.sizes() == lo.sizes(), "histogram ranges must be two [C] tensors");
  lo_ = lo.to(at::kDouble);
  at::Tensor width = hi.to(at::kDouble) - lo_;
  width = at::where(width > 0, width, at::ones_like(width));
  scale_ = static_cast<double>(bins) / width;
  counts_ = at::zeros({lo.size(0), bins}, at::kDouble);
}

void ChannelHistogram::add(const at::Tensor& x) {
  const int64_t channels = lo_.size(0);
  require(x.dim() >= 2 && x.size(1) == channels,
          "histogram input must have " + std::to_string(channels) + " channels in dimension 1");
  // [C, values] per channel, bin index clamped into [0, bins - 1], then one bincount over
  // (channel, bin) pairs.
  const at::Tensor v = x.transpose(0, 1).reshape({channels, -1}).to(at::kDouble);
  at::Tensor bin = ((v - lo_.unsqueeze(1)) * scale_.unsqueeze(1)).floor().clamp(0, bins_ - 1).to(at::kLong);
  bin += at::arange(channels, at::kLong).mul_(bins_).unsqueeze(1);
  counts_ += at::bincount(bin.reshape(-1), {}, channels * bins_).to(at::kDouble).view({channels, bins_});
}

double kl_divergence(const at::Tensor& p_counts, const at::Tensor& q_counts) {
  require(p_counts.sizes() == q_counts.sizes(), "KL divergence of histograms with different bins");
  return kl_of_probabilities(smoothed_probabilities(p_counts), smoothed_probabilities(q_counts));
}

double js_divergence(const at::Tensor& p_counts, const at::Tensor& q_counts) {
  require(p_counts.sizes() == q_counts.sizes(), "JS divergence of histograms with different bins");
  const at::Tensor p = smoothed_probabilities(p_counts), q = smoothed_probabilities(q_counts);
  const at::Tensor m = (p + q) / 2;
  return kl_of_probabilities(p, m) / 2 + kl_of_probabilities(q, m) / 2;
}

}  // namespace bnrecal

#include "bnrecal/recal/pooled_stats.h"

namespace bnrecal {

PooledChannelStats::PooledChannelStats(int64_t channels)
    : mean_(at::zeros({channels}, at::kDouble)), m2_(at::zeros({channels}, at::kDouble)) {}

void PooledChannelStats::add_batch(const at::Tensor& activations) {
  TORCH_CHECK(activations.dim() >= 2 && activations.size(1) == mean_.size(0),
              "activations ", activations.sizes(), " do not have ", mean_.size(0), " channels");
  // Two-pass statistics of the batch in float64: the batch mean first, then squared deviations
  // from it, which avoids the cancellation of E[x^2] - E[x]^2.
  at::Tensor x = activations.detach().to(at::kDouble).transpose(0, 1).reshape({mean_.size(0), -1});
  const int64_t n = x.size(1);
  if (n == 0) return;
  at::Tensor mean = x.mean(1);
  at::Tensor m2 = (x - mean.unsqueeze(1)).pow(2).sum(1);
  merge(n, mean, m2);
}

void PooledChannelStats::merge(int64_t n_b, const at::Tensor& mean_b, const at::Tensor& m2_b) {
  if (n_b == 0) return;
  const int64_t n = count_ + n_b;
  at::Tensor delta = mean_b - mean_;
  const double na = static_cast<double>(count_), nb = static_cast<double>(n_b);
  mean_ = mean_ + delta * (nb / static_cast<double>(n));
  m2_ = m2_ + m2_b + delta.pow(2) * (na * nb / static_cast<double>(n));
  count_ = n;
}

at::Tensor PooledChannelStats::biased_variance() const {
  TORCH_CHECK(count_ > 0, "no values accumulated");
  return m2_ / static_cast<double>(count_);
}

at::Tensor PooledChannelStats::unbiased_variance() const {
  TORCH_CHECK(count_ > 1, "unbiased variance needs at least 2 values");
  return m2_ / static_cast<double>(count_ - 1);
}

}  // namespace bnrecal

#include "bnrecal/recal/pooled_stats.h"

namespace bnrecal {

PooledChannelStats::PooledChannelStats(int64_t channels)
    : mean_(at::zeros({channels}, at::kDouble)), m2_(at::zeros({channels}, at::kDouble)) {}

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

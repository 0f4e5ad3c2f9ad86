// Exact per-channel population statistics, accumulated batch by batch in float64 and combined
// with Chan et al.'s parallel formula, so the result does not depend on batch order or size:
//   n = n_a + n_b,  d = mean_b - mean_a,
//   mean = mean_a + d * n_b / n,  M2 = M2_a + M2_b + d^2 * n_a * n_b / n.
//
//   bnrecal::PooledChannelStats s(channels);
//   s.merge(count, batch_mean, batch_m2);  // per batch: float64 [C] (nn/batch_norm's BatchMoments)
//   at::Tensor mean = s.mean(), var = s.unbiased_variance();   // float64 [C]
#pragma once
#include <ATen/ATen.h>

namespace bnrecal {

class PooledChannelStats {
 public:
  explicit PooledChannelStats(int64_t channels);
  // Merges one batch's (or another accumulator's) per-channel count, mean and M2.
  void merge(int64_t count, const at::Tensor& mean, const at::Tensor& m2);
  int64_t count() const { return count_; }
  at::Tensor mean() const { return mean_; }
  at::Tensor biased_variance() const;    // M2 / n
  at::Tensor unbiased_variance() const;  // M2 / (n - 1), as PyTorch stores running_var

 private:
  int64_t count_ = 0;
  at::Tensor mean_, m2_;  // float64 [C]
};

}  // namespace bnrecal

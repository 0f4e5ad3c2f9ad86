#include <gtest/gtest.h>

#include <cmath>

#include "bnrecal/eval/metrics.h"

namespace bnrecal {
namespace {

TEST(Metrics, HandCheckedTop1Top5AndStderr) {
  // 4 samples, 6 classes. Ranked classes per row are spelled out in the comments.
  const at::Tensor logits = at::tensor({
      6.f, 5.f, 4.f, 3.f, 2.f, 1.f,   // ranks 0,1,2,3,4,5; label 0 -> top-1 and top-5 hit
      1.f, 2.f, 3.f, 4.f, 5.f, 6.f,   // ranks 5,4,3,2,1,0; label 1 -> top-5 hit only (rank 5th)
      1.f, 2.f, 3.f, 4.f, 5.f, 6.f,   // label 0 -> rank 6th: miss both
      0.f, 0.f, 9.f, 0.f, 0.f, 0.f,   // label 2 -> top-1 hit
  }).view({4, 6});
  const at::Tensor labels = at::tensor({0, 1, 0, 2}, at::kLong);
  AccuracyCounter acc;
  acc.add(logits, labels);
  EXPECT_EQ(acc.count(), 4);
  EXPECT_DOUBLE_EQ(acc.top1(), 50.0);
  EXPECT_DOUBLE_EQ(acc.top5(), 75.0);
  EXPECT_DOUBLE_EQ(acc.top1_stderr(), 100.0 * std::sqrt(0.5 * 0.5 / 4));
  EXPECT_DOUBLE_EQ(acc.top5_stderr(), 100.0 * std::sqrt(0.75 * 0.25 / 4));
  // Cross-entropy of row 4: -log softmax = log(5 + e^9) - 9.
  const double row4 = std::log(5.0 + std::exp(9.0)) - 9.0;
  EXPECT_GT(acc.mean_loss(), row4 / 4);
}

TEST(Metrics, AccumulatesAcrossBatchesAndHandlesFewClasses) {
  AccuracyCounter acc;
  acc.add(at::tensor({1.f, 0.f}).view({1, 2}), at::tensor({0}, at::kLong));
  acc.add(at::tensor({1.f, 0.f}).view({1, 2}), at::tensor({1}, at::kLong));
  EXPECT_DOUBLE_EQ(acc.top1(), 50.0);
  EXPECT_DOUBLE_EQ(acc.top5(), 100.0);  // two classes: top-5 always hits
  EXPECT_DOUBLE_EQ(binomial_stderr_percent(92.0, 10000), 100 * std::sqrt(0.92 * 0.08 / 10000));
  EXPECT_DOUBLE_EQ(binomial_stderr_percent(50.0, 0), 0.0);
  EXPECT_EQ(acc.hits(), std::vector<uint8_t>({1, 0}));  // per image, in the order added
}

TEST(Metrics, SeedStatIsTheMeanAndSampleStd) {
  const SeedStat s = seed_stat({1.0, 2.0, 6.0});
  EXPECT_DOUBLE_EQ(s.mean, 3.0);
  EXPECT_DOUBLE_EQ(s.std, std::sqrt(((4.0 + 1.0 + 9.0) / 2)));
  EXPECT_DOUBLE_EQ(seed_stat({5.0}).std, 0.0);
}

}  // namespace
}  // namespace bnrecal

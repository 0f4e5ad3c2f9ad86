// The paired comparison against closed forms: discordant counts, the difference and its standard
// error, the exact McNemar p-value (small cases summed by hand, a large one against the normal
// approximation), and the summary over repeated draws.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

#include "bnrecal/eval/paired_accuracy.h"

namespace bnrecal {
namespace {

// n images of which `both` are right for A and B, `only_a` only for A, `only_b` only for B.
void outcomes(int64_t n, int64_t both, int64_t only_a, int64_t only_b, std::vector<uint8_t>& a,
              std::vector<uint8_t>& b) {
  a.assign(n, 0);
  b.assign(n, 0);
  int64_t i = 0;
  for (int64_t k = 0; k < both; ++k, ++i) a[i] = b[i] = 1;
  for (int64_t k = 0; k < only_a; ++k, ++i) a[i] = 1;
  for (int64_t k = 0; k < only_b; ++k, ++i) b[i] = 1;
}

TEST(PairedAccuracy, DifferenceAndStandardErrorFromTheDiscordantImages) {
  std::vector<uint8_t> a, b;
  outcomes(1000, 900, 10, 30, a, b);
  const PairedAccuracy d = compare_paired(a, b);
  EXPECT_EQ(d.n, 1000);
  EXPECT_EQ(d.only_a, 10);
  EXPECT_EQ(d.only_b, 30);
  EXPECT_DOUBLE_EQ(d.difference, 2.0);  // (30 - 10) / 1000 in percent
  // sqrt((40/1000 - 0.02^2) / 1000) in percent.
  EXPECT_NEAR(d.standard_error, 100.0 * std::sqrt((0.04 - 0.0004) / 1000.0), 1e-12);
  EXPECT_TRUE(d.significant());
  // Swapping A and B flips the sign and keeps everything else.
  const PairedAccuracy r = compare_paired(b, a);
  EXPECT_DOUBLE_EQ(r.difference, -2.0);
  EXPECT_DOUBLE_EQ(r.standard_error, d.standard_error);
  EXPECT_DOUBLE_EQ(r.p_value, d.p_value);
}

TEST(PairedAccuracy, ExactMcNemarPValueMatchesHandSums) {
  // 5 discordant, split 0/5: 2 * (1/2)^5.
  EXPECT_DOUBLE_EQ(mcnemar_exact_p(0, 5), 2.0 / 32.0);
  // 1/6 (7 discordant): 2 * (1 + 7) / 128.
  EXPECT_NEAR(mcnemar_exact_p(1, 6), 16.0 / 128.0, 1e-12);
  // 2/8: 2 * (1 + 10 + 45) / 1024.
  EXPECT_NEAR(mcnemar_exact_p(8, 2), 112.0 / 1024.0, 1e-12);
  EXPECT_DOUBLE_EQ(mcnemar_exact_p(3, 3), 1.0);  // balanced: capped at 1
  EXPECT_DOUBLE_EQ(mcnemar_exact_p(0, 0), 1.0);
  // Large counts: close to the continuity-corrected normal approximation.
  const double z = (std::abs(400.0 - 480.0) - 1.0) / std::sqrt(880.0);
  EXPECT_NEAR(mcnemar_exact_p(400, 480), std::erfc(z / std::sqrt(2.0)), 2e-3);
}

TEST(PairedAccuracy, NoDisagreementMeansNoDifferenceAndMismatchedImagesAreRefused) {
  std::vector<uint8_t> a, b;
  outcomes(50, 40, 0, 0, a, b);
  const PairedAccuracy d = compare_paired(a, b);
  EXPECT_DOUBLE_EQ(d.difference, 0.0);
  EXPECT_DOUBLE_EQ(d.standard_error, 0.0);
  EXPECT_FALSE(d.significant());
  EXPECT_EQ(paired_text(d), "+0.00 +- 0.00");
  EXPECT_THROW(compare_paired(a, std::vector<uint8_t>(49, 1)), std::invalid_argument);
}

TEST(PairedAccuracy, RepeatedDrawsSummarizeMeanRmsErrorAndSignificantCount) {
  std::vector<uint8_t> a, b1, b2, unused;
  outcomes(1000, 900, 10, 30, a, b1);   // +2.00, significant
  outcomes(1000, 900, 10, 10, unused, b2);  // same A, +0.00
  const PairedAccuracy d1 = compare_paired(a, b1), d2 = compare_paired(a, b2);
  const RepeatedGain g = repeated_gain({d1, d2});
  EXPECT_DOUBLE_EQ(g.difference.mean, 1.0);
  EXPECT_NEAR(g.standard_error,
              std::sqrt((d1.standard_error * d1.standard_error + d2.standard_error * d2.standard_error) / 2), 1e-12);
  EXPECT_EQ(g.significant_draws, 1);
  EXPECT_EQ(paired_text(g).substr(0, 6), "+1.00 ");
  EXPECT_NE(paired_text(g).find("(1/2 *)"), std::string::npos);
  EXPECT_EQ(g.to_json()["draws"].size(), 2u);
}

TEST(PairedAccuracy, PooledDifferenceOfOnePairIsThePairedOne) {
  std::vector<uint8_t> a, b;
  outcomes(1000, 900, 10, 30, a, b);
  PooledDifference pooled;
  pooled.add(a, b);
  const PairedAccuracy d = compare_paired(a, b);
  EXPECT_EQ(pooled.pairs(), 1);
  EXPECT_EQ(pooled.images(), 1000);
  EXPECT_NEAR(pooled.difference(), d.difference, 1e-12);
  EXPECT_NEAR(pooled.standard_error(), d.standard_error, 1e-12);
  EXPECT_LT(pooled.p_value(), 0.05);
  EXPECT_NE(paired_text(pooled).find("(1 pairs) *"), std::string::npos);
}

TEST(PairedAccuracy, PooledDifferenceAveragesEachImageOverThePairs) {
  // Two pairs that disagree on the same 20 images cancel image by image: no difference, no error.
  std::vector<uint8_t> a, b;
  outcomes(100, 50, 20, 0, a, b);
  PooledDifference cancelled;
  cancelled.add(a, b);
  cancelled.add(b, a);
  EXPECT_EQ(cancelled.difference(), 0.0);
  EXPECT_EQ(cancelled.standard_error(), 0.0);
  EXPECT_EQ(cancelled.p_value(), 1.0);
  // The same pair twice is one pair's evidence, not twice it: the error does not shrink.
  PooledDifference repeated, once;
  repeated.add(a, b);
  repeated.add(a, b);
  once.add(a, b);
  EXPECT_NEAR(repeated.standard_error(), once.standard_error(), 1e-12);
  EXPECT_NEAR(repeated.difference(), -20.0, 1e-12);
  EXPECT_THROW(repeated.add(a, std::vector<uint8_t>(99, 1)), std::invalid_argument);
  EXPECT_THROW(repeated.add(std::vector<uint8_t>(99, 1), std::vector<uint8_t>(99, 1)), std::invalid_argument);
  EXPECT_EQ(once.to_json()["pairs"], 1);
}

}  // namespace
}  // namespace bnrecal

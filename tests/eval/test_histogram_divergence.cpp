// The histogram divergences against closed forms: KL between two unit Gaussians (mu^2 / 2), JS
// between two half-overlapping uniform distributions (ln 2 / 2), the edge bins catching values
// outside the range, and a constant channel.
#include <gtest/gtest.h>

#include <cmath>

#include "bnrecal/core/error.h"
#include "bnrecal/eval/histogram_divergence.h"

namespace bnrecal {
namespace {

TEST(HistogramDivergence, KlOfTwoUnitGaussiansIsHalfTheSquaredShift) {
  at::manual_seed(7);
  const int64_t n = 1 << 20;
  const at::Tensor p = at::randn({n, 1}), q = at::randn({n, 1}) + 0.5;
  ChannelHistogram hp(at::full({1}, -6.0, at::kDouble), at::full({1}, 6.5, at::kDouble), 250);
  ChannelHistogram hq(at::full({1}, -6.0, at::kDouble), at::full({1}, 6.5, at::kDouble), 250);
  hp.add(p);
  hq.add(q);
  EXPECT_DOUBLE_EQ(hp.counts().sum().item<double>(), static_cast<double>(n));
  EXPECT_NEAR(kl_divergence(hp.counts()[0], hq.counts()[0]), 0.125, 0.005);  // 0.5^2 / 2
  EXPECT_NEAR(kl_divergence(hq.counts()[0], hp.counts()[0]), 0.125, 0.005);  // symmetric here
  EXPECT_NEAR(kl_divergence(hp.counts()[0], hp.counts()[0]), 0.0, 1e-12);
}

TEST(HistogramDivergence, JsOfHalfOverlappingUniformsIsHalfLn2) {
  // U[0, 1) and U[0.5, 1.5) on [0, 1.5) in 3 bins: P = (1/2, 1/2, 0), Q = (0, 1/2, 1/2).
  const int64_t n = 1 << 20;
  const at::Tensor u = (at::arange(n, at::kDouble) + 0.5) / static_cast<double>(n);
  ChannelHistogram hp(at::zeros({1}, at::kDouble), at::full({1}, 1.5, at::kDouble), 3);
  ChannelHistogram hq(at::zeros({1}, at::kDouble), at::full({1}, 1.5, at::kDouble), 3);
  hp.add(u.view({n, 1}));
  hq.add((u + 0.5).view({n, 1}));
  EXPECT_NEAR(js_divergence(hp.counts()[0], hq.counts()[0]), std::log(2.0) / 2, 1e-5);
  EXPECT_LE(js_divergence(hp.counts()[0], hq.counts()[0]), std::log(2.0));
}

TEST(HistogramDivergence, OutOfRangeValuesLandInTheEdgeBinsPerChannel) {
  // Two channels with their own ranges; NCHW input.
  ChannelHistogram h(at::tensor({0.0, 10.0}, at::kDouble), at::tensor({4.0, 10.0}, at::kDouble), 4);
  const at::Tensor x = at::tensor({-5.f, 0.5f, 3.9f, 99.f, 10.f, 10.f, -1.f, 50.f}).view({1, 2, 2, 2});
  h.add(x);
  // Channel 0: -5 -> bin 0, 0.5 -> 0, 3.9 -> 3, 99 -> 3. Channel 1 is constant-range [10, 11):
  // 10 -> 0, 10 -> 0, -1 -> 0, 50 -> 3.
  EXPECT_TRUE(h.counts()[0].equal(at::tensor({2.0, 0.0, 0.0, 2.0}, at::kDouble)));
  EXPECT_TRUE(h.counts()[1].equal(at::tensor({3.0, 0.0, 0.0, 1.0}, at::kDouble)));
  EXPECT_THROW(h.add(at::zeros({1, 3, 2, 2})), InputError);
  EXPECT_THROW(ChannelHistogram(at::zeros({1}), at::ones({1}), 1), InputError);
}

}  // namespace
}  // namespace bnrecal

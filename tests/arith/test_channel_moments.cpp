// The fast per-channel moments kernel against the float64 two-pass reference, over plane sizes
// that exercise every chunking path (1x1, 7x7, 28x28, larger than a chunk, odd tails), and
// against data whose mean dwarfs its spread, where one-pass sum/sum-of-squares formulas fail;
// once per chunk-kernel implementation this CPU supports (AVX-512, AVX2, portable).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "bnrecal/arith/channel_moments.h"
#include "kernel_implementations.h"

namespace bnrecal {
namespace {

std::vector<float> normal_values(int64_t n, double mean, double stddev, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> dist(mean, stddev);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = static_cast<float>(dist(rng));
  return v;
}

using arith::Kernel;
using testing_support::ImplementationTest;

// batch, plane, offset of the mean, chunk-kernel implementation.
using Param = std::tuple<int64_t, int64_t, double, std::string>;

class ChannelMomentsTest : public ImplementationTest<Kernel::kChannelMoments, Param> {};

TEST_P(ChannelMomentsTest, MatchesFloat64Reference) {
  const auto [batch, plane, offset, impl] = GetParam();
  const int64_t channels = 3;
  const double stddev = 0.5;
  const std::vector<float> x = normal_values(batch * channels * plane, offset, stddev, 7);
  for (int64_t c = 0; c < channels; ++c) {
    const ChannelMoments fast = channel_moments(x.data(), batch, channels, plane, c);
    const ChannelMoments ref = channel_moments_ref(x.data(), batch, channels, plane, c);
    ASSERT_EQ(fast.count, batch * plane);
    ASSERT_EQ(ref.count, batch * plane);
    const double ref_std = std::sqrt(ref.m2 / static_cast<double>(ref.count));
    EXPECT_NEAR(fast.mean, ref.mean, 1e-6 * ref_std + 1e-7 * std::abs(ref.mean)) << "channel " << c;
    EXPECT_NEAR(fast.m2, ref.m2, 1e-5 * ref.m2) << "channel " << c;
  }
}

std::vector<Param> params() {
  const std::vector<std::tuple<int64_t, int64_t, double>> shapes = {
      {300, 1, 0.0},   {64, 49, 2.0}, {37, 784, -1.0},
      {3, 5000, 0.0},    // > one chunk, odd tail
      {2, 4096, 0.25},   // exactly one chunk
      {1, 17, 0.0},
      {20, 784, 1000.0}  // mean >> spread
  };
  std::vector<Param> all;
  for (const std::string& impl : testing_support::implementation_names(Kernel::kChannelMoments))
    for (const auto& [batch, plane, offset] : shapes) all.emplace_back(batch, plane, offset, impl);
  return all;
}

std::string param_name(const ::testing::TestParamInfo<Param>& info) {
  return std::get<3>(info.param) + "_b" + std::to_string(std::get<0>(info.param)) + "_p" +
         std::to_string(std::get<1>(info.param)) + "_" + std::to_string(info.index);
}

INSTANTIATE_TEST_SUITE_P(Shapes, ChannelMomentsTest, ::testing::ValuesIn(params()), param_name);

class ChannelMomentsEdges : public ImplementationTest<Kernel::kChannelMoments, std::string> {};

TEST_P(ChannelMomentsEdges, ConstantChannelHasZeroM2) {
  const std::vector<float> x(2 * 4 * 100, 3.25f);
  const ChannelMoments m = channel_moments(x.data(), 2, 4, 100, 1);
  EXPECT_EQ(m.count, 200);
  EXPECT_DOUBLE_EQ(m.mean, 3.25);
  EXPECT_EQ(m.m2, 0.0);
}

TEST_P(ChannelMomentsEdges, EmptyPlaneHasNoValues) {
  const std::vector<float> x(1, 0.0f);
  const ChannelMoments m = channel_moments(x.data(), 5, 1, 0, 0);
  EXPECT_EQ(m.count, 0);
}

INSTANTIATE_TEST_SUITE_P(AllImplementations, ChannelMomentsEdges,
                         ::testing::ValuesIn(testing_support::implementation_names(
                             Kernel::kChannelMoments)),
                         testing_support::implementation_name);

// all_channel_moments reads in another order and with threads, but must merge the same chunks in
// the same order: equal to channel_moments bit for bit (recalibrated statistics do not change).
TEST(AllChannelMoments, EqualsChannelMomentsBitForBit) {
  struct Shape {
    int64_t batch, channels, plane;
  };
  // Small planes in many rows, one row with many channels (a batch smaller than a chunk's planes),
  // planes larger than a chunk, odd sizes, a single channel, and empty planes.
  for (const Shape& s : {Shape{256, 16, 784}, Shape{32, 512, 49}, Shape{3, 7, 5000},
                         Shape{5, 3, 4096}, Shape{33, 5, 17}, Shape{9, 1, 100}, Shape{4, 6, 0}}) {
    const std::vector<float> x = normal_values(s.batch * s.channels * s.plane, 0.3, 1.7, 11);
    std::vector<ChannelMoments> all(static_cast<size_t>(s.channels));
    all_channel_moments(x.data(), s.batch, s.channels, s.plane, all.data());
    for (int64_t c = 0; c < s.channels; ++c) {
      const ChannelMoments one = channel_moments(x.data(), s.batch, s.channels, s.plane, c);
      ASSERT_EQ(all[c].count, one.count) << s.batch << "x" << s.channels << "x" << s.plane;
      ASSERT_EQ(all[c].mean, one.mean) << s.batch << "x" << s.channels << "x" << s.plane << " c" << c;
      ASSERT_EQ(all[c].m2, one.m2) << s.batch << "x" << s.channels << "x" << s.plane << " c" << c;
    }
  }
}

TEST(ChannelMoments, MergeEqualsMomentsOfTheUnion) {
  // Two batches of the same channel merged == the reference over both batches at once.
  const std::vector<float> x = normal_values(10 * 2 * 9, 1.5, 2.0, 3);
  const int64_t half = 4 * 2 * 9;  // first 4 images
  ChannelMoments merged = channel_moments_ref(x.data(), 4, 2, 9, 1);
  merged.merge(channel_moments_ref(x.data() + half, 6, 2, 9, 1));
  const ChannelMoments whole = channel_moments_ref(x.data(), 10, 2, 9, 1);
  EXPECT_EQ(merged.count, whole.count);
  EXPECT_NEAR(merged.mean, whole.mean, 1e-12);
  EXPECT_NEAR(merged.m2, whole.m2, 1e-9 * whole.m2);
}

}  // namespace
}  // namespace bnrecal

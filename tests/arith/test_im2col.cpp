// im2col: the fast version equals the byte-at-a-time reference over a grid of kernels, strides,
// paddings, dilations and groups, for whole outputs and for row tiles that start mid-image and
// cross image boundaries, with every implementation this CPU supports (the AVX-512 one takes the
// shapes with contiguous kernel rows, in 64-byte pieces: C = 40 makes a 3x3 kernel row 120 bytes);
// a small case against bytes worked out by hand; shape validation.
#include <gtest/gtest.h>

#include <random>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "bnrecal/arith/im2col.h"
#include "bnrecal/core/error.h"
#include "kernel_implementations.h"

namespace bnrecal::arith {
namespace {

constexpr uint8_t kSentinel = 0xAB;  // marks bytes im2col must not touch
constexpr int64_t kGuard = 64;       // sentinel bytes after each tile

std::vector<uint8_t> random_codes(const Im2colShape& s, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> byte(1, 255);  // nonzero, so padding zeros stand out
  std::vector<uint8_t> x(static_cast<size_t>(s.n * s.h * s.w * s.c));
  for (uint8_t& v : x) v = static_cast<uint8_t>(byte(rng));
  return x;
}

std::string describe(const Im2colShape& s) {
  return "N=" + std::to_string(s.n) + " H=" + std::to_string(s.h) + " W=" + std::to_string(s.w) +
         " C=" + std::to_string(s.c) + " k=" + std::to_string(s.kh) + "x" + std::to_string(s.kw) +
         " stride=" + std::to_string(s.stride_h) + "x" + std::to_string(s.stride_w) +
         " pad=" + std::to_string(s.pad_h) + "x" + std::to_string(s.pad_w) +
         " dil=" + std::to_string(s.dilation_h) + "x" + std::to_string(s.dilation_w) +
         " groups=" + std::to_string(s.groups);
}

// Fast == ref for every group, over all rows in tiles of `tile` rows (plus a guard zone).
void expect_fast_equals_ref(const Im2colShape& s, const std::vector<uint8_t>& x, int64_t tile) {
  const int64_t K = s.k(), M = s.rows();
  for (int64_t g = 0; g < s.groups; ++g) {
    for (int64_t m0 = 0; m0 < M; m0 += tile) {
      const int64_t rows = std::min(tile, M - m0);
      std::vector<uint8_t> fast(static_cast<size_t>(rows * K + kGuard), kSentinel);
      std::vector<uint8_t> ref(fast.size(), kSentinel);
      im2col_u8(x.data(), s, g, m0, rows, fast.data());
      im2col_u8_ref(x.data(), s, g, m0, rows, ref.data());
      ASSERT_EQ(fast, ref) << describe(s) << " group=" << g << " rows " << m0 << "+" << rows;
    }
  }
}

using testing_support::ImplementationTest;
using testing_support::implementation_names;

// Kernel (kh, kw), channels and groups, implementation; strides, paddings and dilations vary
// inside the test.
using Param = std::tuple<int64_t, int64_t, int64_t, int64_t, std::string>;

class Im2colGrid : public ImplementationTest<Kernel::kIm2col, Param> {};

TEST_P(Im2colGrid, FastEqualsReference) {
  const auto [kh, kw, channels, groups, implementation] = GetParam();
  uint32_t seed = 1;
  int tested = 0;
  for (const auto [sh, sw] : {std::pair{1, 1}, {2, 2}, {1, 2}})
    for (const auto [ph, pw] : {std::pair{0, 0}, {1, 1}, {2, 2}, {1, 0}})
      for (const auto [dh, dw] : {std::pair{1, 1}, {2, 2}, {2, 1}}) {
        Im2colShape s;
        s.n = 3, s.h = 7, s.w = 6, s.c = channels;  // non-square input
        s.kh = kh, s.kw = kw, s.stride_h = sh, s.stride_w = sw;
        s.pad_h = ph, s.pad_w = pw, s.dilation_h = dh, s.dilation_w = dw, s.groups = groups;
        if (s.out_h() <= 0 || s.out_w() <= 0) {
          EXPECT_THROW(s.validate(), InputError) << describe(s);
          continue;
        }
        const std::vector<uint8_t> x = random_codes(s, seed++);
        expect_fast_equals_ref(s, x, s.rows());  // one tile
        expect_fast_equals_ref(s, x, 7);  // tiles start mid-image and cross image boundaries
        ++tested;
      }
  EXPECT_GT(tested, 0);
}

std::string param_name(const ::testing::TestParamInfo<Param>& info) {
  const auto [kh, kw, channels, groups, implementation] = info.param;
  return "k" + std::to_string(kh) + "x" + std::to_string(kw) + "_c" + std::to_string(channels) +
         "_g" + std::to_string(groups) + "_" + implementation;
}

std::vector<Param> grid() {
  const std::vector<std::pair<int64_t, int64_t>> kernels = {{1, 1}, {3, 3}, {5, 5}, {3, 5}, {1, 3}};
  const std::vector<std::pair<int64_t, int64_t>> channels_groups = {
      {4, 1}, {4, 2}, {4, 4} /* depthwise */, {3, 1} /* odd C */, {1, 1}, {6, 3}, {40, 1}};
  std::vector<Param> all;
  for (const std::string& implementation : implementation_names(Kernel::kIm2col))
    for (const auto& [kh, kw] : kernels)
      for (const auto& [channels, groups] : channels_groups)
        all.emplace_back(kh, kw, channels, groups, implementation);
  return all;
}

INSTANTIATE_TEST_SUITE_P(Shapes, Im2colGrid, ::testing::ValuesIn(grid()), param_name);

class Im2colLargeTile : public ImplementationTest<Kernel::kIm2col, std::string> {};

TEST_P(Im2colLargeTile, UsesThreadsAndMatches) {
  // rows * K well above the single-thread threshold.
  Im2colShape s;
  s.n = 2, s.h = 30, s.w = 30, s.c = 16, s.kh = s.kw = 3, s.pad_h = s.pad_w = 1;
  const std::vector<uint8_t> x = random_codes(s, 77);
  expect_fast_equals_ref(s, x, s.rows());
  expect_fast_equals_ref(s, x, 1000);
}

INSTANTIATE_TEST_SUITE_P(AllImplementations, Im2colLargeTile,
                         ::testing::ValuesIn(implementation_names(Kernel::kIm2col)),
                         testing_support::implementation_name);

// x[h][w][c] = 1 + 2*(h*2 + w) + c on a 2x2 image with 2 channels:
//   pixel (0,0): 1 2   (0,1): 3 4   (1,0): 5 6   (1,1): 7 8
const std::vector<uint8_t> kTiny = {1, 2, 3, 4, 5, 6, 7, 8};

TEST(Im2col, HandComputedPaddedGroupedCase) {
  Im2colShape s;  // 3x3 kernel, padding 1, 2 groups of 1 channel: output 2x2, K = 9
  s.h = 2, s.w = 2, s.c = 2, s.kh = s.kw = 3, s.pad_h = s.pad_w = 1, s.groups = 2;
  ASSERT_EQ(s.out_h(), 2);
  ASSERT_EQ(s.out_w(), 2);
  ASSERT_EQ(s.k(), 9);
  // Group 1 (channel 1: 2 4 / 6 8), output (0,0): taps at rows -1..1, columns -1..1.
  std::vector<uint8_t> row(9);
  im2col_u8(kTiny.data(), s, 1, 0, 1, row.data());
  EXPECT_EQ(row, (std::vector<uint8_t>{0, 0, 0, 0, 2, 4, 0, 6, 8}));
  // Output (1,1) is row m = 3: taps at rows 0..2, columns 0..2.
  im2col_u8(kTiny.data(), s, 1, 3, 1, row.data());
  EXPECT_EQ(row, (std::vector<uint8_t>{2, 4, 0, 6, 8, 0, 0, 0, 0}));
  // Group 0 (channel 0: 1 3 / 5 7), output (0,1) is row m = 1: columns 0..2.
  im2col_u8(kTiny.data(), s, 0, 1, 1, row.data());
  EXPECT_EQ(row, (std::vector<uint8_t>{0, 0, 0, 1, 3, 0, 5, 7, 0}));
}

TEST(Im2col, HandComputedChannelFastestOrder) {
  Im2colShape s;  // 2x2 kernel, stride 1, no padding, one group: one output pixel, K = 8
  s.h = 2, s.w = 2, s.c = 2, s.kh = s.kw = 2;
  ASSERT_EQ(s.rows(), 1);
  std::vector<uint8_t> row(8);
  im2col_u8(kTiny.data(), s, 0, 0, 1, row.data());
  // k = (i*kw + j)*C + c: the input's own NHWC order.
  EXPECT_EQ(row, kTiny);
  std::vector<uint8_t> ref(8);
  im2col_u8_ref(kTiny.data(), s, 0, 0, 1, ref.data());
  EXPECT_EQ(ref, kTiny);
}

Im2colShape valid_shape() {
  Im2colShape s;
  s.n = 1, s.h = 5, s.w = 5, s.c = 4, s.kh = s.kw = 3;
  return s;
}

TEST(Im2col, RejectsInvalidShapes) {
  Im2colShape s = valid_shape();
  EXPECT_NO_THROW(s.validate());
  s.groups = 3;  // 4 channels
  EXPECT_THROW(s.validate(), InputError);
  s = valid_shape();
  s.kh = 6;  // kernel taller than the input
  EXPECT_THROW(s.validate(), InputError);
  s = valid_shape();
  s.h = 4, s.kh = 5, s.stride_h = 2;  // span -1: truncating division would claim 1 row
  EXPECT_EQ(s.out_h(), 0);
  EXPECT_THROW(s.validate(), InputError);
  s = valid_shape();
  s.dilation_w = 3;  // dilated kernel spans 7 columns
  EXPECT_THROW(s.validate(), InputError);
  s.pad_w = 1;  // 7 padded columns: fits
  EXPECT_NO_THROW(s.validate());
  for (int64_t Im2colShape::*field : {&Im2colShape::stride_h, &Im2colShape::dilation_w,
                                      &Im2colShape::groups, &Im2colShape::c, &Im2colShape::kw}) {
    s = valid_shape();
    s.*field = 0;
    EXPECT_THROW(s.validate(), InputError);
  }
  s = valid_shape();
  s.pad_h = -1;
  EXPECT_THROW(s.validate(), InputError);
}

TEST(Im2col, RejectsTilesOutsideTheOutput) {
  const Im2colShape s = valid_shape();  // 9 output rows, 1 group
  const std::vector<uint8_t> x = random_codes(s, 3);
  std::vector<uint8_t> out(static_cast<size_t>(10 * s.k()));
  EXPECT_THROW(im2col_u8(x.data(), s, 1, 0, 1, out.data()), std::out_of_range);
  EXPECT_THROW(im2col_u8(x.data(), s, 0, 5, 5, out.data()), std::out_of_range);
  EXPECT_THROW(im2col_u8_ref(x.data(), s, 0, -1, 2, out.data()), std::out_of_range);
  EXPECT_NO_THROW(im2col_u8(x.data(), s, 0, 9, 0, out.data()));  // empty tile at the end
  Im2colShape bad = s;
  bad.groups = 3;
  EXPECT_THROW(im2col_u8(x.data(), bad, 0, 0, 1, out.data()), InputError);
}

}  // namespace
}  // namespace bnrecal::arith

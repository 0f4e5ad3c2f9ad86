// Int8DirectConv (oneDNN's direct int8 convolution) equals im2col_u8_ref followed by an exact
// int64 dot product, bit for bit: over kernels, strides, paddings (including strides that leave
// input rows unread), dilations, groups and odd channel counts; at the int16-saturation worst case
// with a deep reduction; for batches of several sizes on one object (one plan each); and from
// several threads at once. Skipped where oneDNN's int8 convolution is not exact (no VNNI).
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bnrecal/arith/direct_conv.h"
#include "bnrecal/core/error.h"
#include "kernel_implementations.h"

namespace bnrecal::arith {
namespace {

// y[m, o] = sum_k rows[m, k] * w[o, k] over the group of o, from the reference im2col.
std::vector<int32_t> reference(const std::vector<uint8_t>& x, const Im2colShape& s,
                               const std::vector<int8_t>& w, int64_t out_channels) {
  const int64_t K = s.k(), M = s.rows(), og = out_channels / s.groups;
  std::vector<int32_t> y(static_cast<size_t>(M * out_channels));
  std::vector<uint8_t> rows(static_cast<size_t>(M * K));
  for (int64_t g = 0; g < s.groups; ++g) {
    im2col_u8_ref(x.data(), s, g, 0, M, rows.data());
    for (int64_t m = 0; m < M; ++m)
      for (int64_t o = g * og; o < (g + 1) * og; ++o) {
        int64_t sum = 0;
        for (int64_t k = 0; k < K; ++k) sum += int64_t{rows[m * K + k]} * w[o * K + k];
        y[m * out_channels + o] = static_cast<int32_t>(sum);
      }
  }
  return y;
}

class DirectConvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing_support::cpu_supports(Kernel::kDirectConv, "onednn_vnni"))
      GTEST_SKIP() << "oneDNN's int8 convolution is not exact on this CPU";
  }
};

struct Case {
  std::string name;
  Im2colShape shape;
  int64_t out_channels;
};

std::vector<Case> cases() {
  std::vector<Case> all;
  const auto add = [&](std::string name, int64_t c, int64_t o, int64_t k, int64_t stride,
                       int64_t pad, int64_t dilation, int64_t groups, int64_t h, int64_t w) {
    Im2colShape s;
    s.n = 3, s.h = h, s.w = w, s.c = c, s.kh = s.kw = k, s.stride_h = s.stride_w = stride;
    s.pad_h = s.pad_w = pad, s.dilation_h = s.dilation_w = dilation, s.groups = groups;
    all.push_back({std::move(name), s, o});
  };
  add("3x3_pad1", 16, 16, 3, 1, 1, 1, 1, 8, 8);
  add("3x3_stride2", 16, 32, 3, 2, 1, 1, 1, 9, 9);
  add("1x1", 64, 24, 1, 1, 0, 1, 1, 5, 5);
  add("1x1_stride2_leaves_rows", 8, 8, 1, 2, 0, 1, 1, 7, 6);
  add("odd_channels", 3, 5, 3, 1, 1, 1, 1, 6, 7);
  add("one_channel", 1, 4, 5, 1, 2, 1, 1, 9, 9);
  add("dilated", 6, 7, 3, 1, 2, 2, 1, 9, 8);
  add("grouped", 8, 12, 3, 2, 1, 1, 4, 7, 7);
  add("depthwise", 16, 16, 3, 1, 1, 1, 16, 6, 6);
  add("no_padding_uneven", 5, 6, 3, 2, 0, 1, 1, 8, 7);
  add("7x7_stride2", 3, 16, 7, 2, 3, 1, 1, 15, 15);
  return all;
}

TEST_F(DirectConvTest, EqualsIm2colAndExactDotProducts) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> weight(-128, 127);
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    const Im2colShape& s = c.shape;
    std::vector<uint8_t> x(static_cast<size_t>(s.n * s.h * s.w * s.c));
    for (uint8_t& v : x) v = static_cast<uint8_t>(byte(rng) < 80 ? 0 : byte(rng));  // some zeros
    std::vector<int8_t> w(static_cast<size_t>(c.out_channels * s.k()));
    for (int8_t& v : w) v = static_cast<int8_t>(weight(rng));
    const Int8DirectConv conv(s, w.data(), c.out_channels);
    std::vector<int32_t> y(static_cast<size_t>(s.rows() * c.out_channels), -7);
    conv.run(x.data(), s.n, y.data());
    EXPECT_EQ(y, reference(x, s, w, c.out_channels));
    // The same object with another batch size (another plan): the first image alone.
    Im2colShape one = s;
    one.n = 1;
    std::vector<int32_t> y1(static_cast<size_t>(one.rows() * c.out_channels));
    conv.run(x.data(), 1, y1.data());
    EXPECT_TRUE(std::equal(y1.begin(), y1.end(), y.begin()));
  }
}

TEST_F(DirectConvTest, WorstCaseDeepReductionIsExact) {
  // K = 3 * 3 * 256 = 2304 products of 255 * -128 (and pairs at the int16 limit): -75,202,560.
  Im2colShape s;
  s.n = 2, s.h = 6, s.w = 5, s.c = 256, s.kh = s.kw = 3, s.pad_h = s.pad_w = 1;
  const int64_t O = 20;
  std::vector<uint8_t> x(static_cast<size_t>(s.n * s.h * s.w * s.c), 255);
  std::vector<int8_t> w(static_cast<size_t>(O * s.k()), -128);
  for (size_t i = static_cast<size_t>(10 * s.k()); i < w.size(); ++i) w[i] = i % 2 ? 127 : -128;
  std::vector<int32_t> y(static_cast<size_t>(s.rows() * O));
  Int8DirectConv(s, w.data(), O).run(x.data(), s.n, y.data());
  const std::vector<int32_t> ref = reference(x, s, w, O);
  EXPECT_EQ(y, ref);
  const int64_t center = (s.out_h() / 2) * s.out_w() + s.out_w() / 2;  // all taps in the image
  EXPECT_EQ(ref[static_cast<size_t>(center * O)], -128 * 255 * s.k());
}

TEST_F(DirectConvTest, ThreadsShareOneObject) {
  Im2colShape s;
  s.n = 4, s.h = 10, s.w = 10, s.c = 16, s.kh = s.kw = 3, s.pad_h = s.pad_w = 1;
  const int64_t O = 16;
  std::mt19937 rng(9);
  std::vector<uint8_t> x(static_cast<size_t>(s.n * s.h * s.w * s.c));
  for (uint8_t& v : x) v = static_cast<uint8_t>(rng());
  std::vector<int8_t> w(static_cast<size_t>(O * s.k()));
  for (int8_t& v : w) v = static_cast<int8_t>(rng());
  const Int8DirectConv conv(s, w.data(), O);
  const std::vector<int32_t> ref = reference(x, s, w, O);
  const int64_t per_image = s.out_h() * s.out_w() * O;
  std::vector<int32_t> y(ref.size());
  std::vector<std::thread> threads;
  for (int64_t n = 0; n < s.n; ++n)  // one image each, concurrently
    threads.emplace_back([&, n] {
      for (int repeat = 0; repeat < 20; ++repeat)
        conv.run(x.data() + n * s.h * s.w * s.c, 1, y.data() + n * per_image);
    });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(y, ref);
}

TEST(DirectConv, RejectsOutChannelsNotDivisibleByGroups) {
  Im2colShape s;
  s.h = s.w = 4, s.c = 4, s.groups = 2;
  const std::vector<int8_t> w(3 * 2, 1);
  EXPECT_THROW(Int8DirectConv(s, w.data(), 3), InputError);
}

}  // namespace
}  // namespace bnrecal::arith

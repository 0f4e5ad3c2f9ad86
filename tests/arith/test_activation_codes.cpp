// The fused quantize-to-NHWC and rescale-to-NCHW passes equal their one-value-at-a-time
// definitions bit for bit: blocks that do not divide the image, more channels than one tile,
// permuted channels, ties, values outside the code range, NaN, and tiles of GEMM rows that start
// mid-image and cross image boundaries. Every implementation this CPU supports runs them (the
// AVX-512 one computes 16 x 16 blocks in registers and the rest one value at a time, so the cases
// mix full blocks with leftover pixels and channels).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <utility>
#include <vector>

#include "bnrecal/arith/activation_codes.h"
#include "kernel_implementations.h"

namespace bnrecal::arith {
namespace {

uint8_t code_definition(float x, float inv_scale) {
  const float v = x * inv_scale;  // float32 product, as the tensor code computes it
  if (std::isnan(v)) return 0;
  return static_cast<uint8_t>(std::clamp(std::nearbyint(v), 0.0f, 255.0f));
}

struct QuantizeCase {
  int64_t n, c, hw;
  bool permute;
};

using testing_support::ImplementationTest;
using testing_support::implementation_name;
using testing_support::implementation_names;

class QuantizeToNhwc : public ImplementationTest<Kernel::kActivationCodes, std::string> {};
class RescaleRowsToNchw : public ImplementationTest<Kernel::kActivationCodes, std::string> {};

TEST_P(QuantizeToNhwc, EqualsTheDefinitionForEveryLayoutAndValue) {
  const float scale = 0.05f, inv = 1.0f / scale;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uniform(-1.0f, 16.0f);
  for (const QuantizeCase& q : {QuantizeCase{1, 1, 1, false}, QuantizeCase{2, 3, 49, false},
                                QuantizeCase{3, 70, 130, true}, QuantizeCase{2, 16, 784, true},
                                QuantizeCase{2, 48, 49, true}, QuantizeCase{5, 129, 1, true},
                                QuantizeCase{3, 40, 1, false}}) {
    SCOPED_TRACE(std::to_string(q.n) + "x" + std::to_string(q.c) + "x" + std::to_string(q.hw));
    std::vector<float> x(static_cast<size_t>(q.n * q.c * q.hw));
    for (float& v : x) v = std::max(0.0f, uniform(rng));
    // Exact ties of the float product, both parities, and values beyond 255 codes.
    for (size_t i = 0; i < x.size(); i += 7) x[i] = (static_cast<float>(i % 300) + 0.5f) * scale;
    std::vector<int64_t> source(static_cast<size_t>(q.c));
    std::iota(source.begin(), source.end(), 0);
    if (q.permute) std::shuffle(source.begin(), source.end(), rng);
    std::vector<uint8_t> out(x.size(), 0xAB);
    EXPECT_FALSE(quantize_to_nhwc_u8(x.data(), q.n, q.c, q.hw, inv, q.permute ? source.data() : nullptr,
                                     out.data()));
    for (int64_t n = 0; n < q.n; ++n)
      for (int64_t p = 0; p < q.hw; ++p)
        for (int64_t j = 0; j < q.c; ++j) {
          const float v = x[(n * q.c + source[j]) * q.hw + p];
          ASSERT_EQ(out[(n * q.hw + p) * q.c + j], code_definition(v, inv)) << n << " " << p << " " << j;
        }
  }
}

TEST_P(QuantizeToNhwc, FlagsNegativesAndMapsNanToZero) {
  std::vector<float> x = {0.25f, -0.0f, std::numeric_limits<float>::quiet_NaN(), 1e30f};
  std::vector<uint8_t> out(4);
  EXPECT_FALSE(quantize_to_nhwc_u8(x.data(), 1, 1, 4, 4.0f, nullptr, out.data()));  // -0 is not negative
  EXPECT_EQ(out, (std::vector<uint8_t>{1, 0, 0, 255}));
  x[1] = -1e-30f;
  EXPECT_TRUE(quantize_to_nhwc_u8(x.data(), 1, 1, 4, 4.0f, nullptr, out.data()));
  EXPECT_EQ(out[1], 0);
  // The same inside a 16 x 16 block: 16 channels of 16 pixels, the specials in channel 5.
  std::vector<float> block(16 * 16, 1.0f);
  block[5 * 16 + 3] = std::numeric_limits<float>::quiet_NaN();
  block[5 * 16 + 4] = -0.0f;
  std::vector<uint8_t> codes(16 * 16);
  EXPECT_FALSE(quantize_to_nhwc_u8(block.data(), 1, 16, 16, 4.0f, nullptr, codes.data()));
  EXPECT_EQ(codes[3 * 16 + 5], 0);
  EXPECT_EQ(codes[4 * 16 + 5], 0);
  EXPECT_EQ(codes[4 * 16 + 6], 4);
  block[9 * 16 + 15] = -2.0f;
  EXPECT_TRUE(quantize_to_nhwc_u8(block.data(), 1, 16, 16, 4.0f, nullptr, codes.data()));
  EXPECT_EQ(codes[15 * 16 + 9], 0);
}

TEST_P(RescaleRowsToNchw, EqualsTheDefinitionForTilesAcrossImages) {
  std::mt19937 rng(4);
  std::uniform_int_distribution<int32_t> acc_value(-2000000, 2000000);
  const int64_t images = 3, hw = 50;
  // A few columns, and more than one tile of columns.
  for (const auto& [cols, col0] : {std::pair<int64_t, int64_t>{5, 4}, {70, 3}, {16, 0}}) {
    const int64_t channels = col0 + cols + 3;
    std::vector<double> scale(cols);
    std::vector<float> bias(cols);
    for (int64_t o = 0; o < cols; ++o) {
      scale[o] = double(0.013f * float(o + 1)) * double(0.021f);
      bias[o] = 0.1f * float(o) - 0.2f;
    }
    for (const bool with_bias : {false, true}) {
      for (const int64_t row0 : {int64_t{0}, int64_t{37}}) {
        const int64_t rows = images * hw - row0 - 3;  // starts mid-image, ends before the last pixel
        std::vector<int32_t> acc(static_cast<size_t>(rows * cols));
        for (int32_t& a : acc) a = acc_value(rng);
        std::vector<float> out(static_cast<size_t>(images * channels * hw), -7.0f);
        rescale_rows_to_nchw(acc.data(), rows, cols, row0, hw, channels, col0, scale.data(),
                             with_bias ? bias.data() : nullptr, out.data());
        for (int64_t m = 0; m < images * hw; ++m)
          for (int64_t c = 0; c < channels; ++c) {
            const float got = out[((m / hw) * channels + c) * hw + m % hw];
            const int64_t r = m - row0, o = c - col0;
            if (r < 0 || r >= rows || o < 0 || o >= cols) {
              ASSERT_EQ(got, -7.0f) << "wrote outside its tile";
              continue;
            }
            float want = static_cast<float>(static_cast<double>(acc[r * cols + o]) * scale[o]);
            if (with_bias) want += bias[o];
            ASSERT_EQ(got, want) << m << " " << c;
          }
      }
    }
  }
}

TEST_P(RescaleRowsToNchw, OnePixelPerImageIsARowMajorMatrix) {
  const std::vector<int32_t> acc = {1, -2, 3, 4, 5, -6};  // [3 rows, 2 cols]
  const std::vector<double> scale = {0.5, 2.0};
  std::vector<float> out(6);
  rescale_rows_to_nchw(acc.data(), 3, 2, 0, 1, 2, 0, scale.data(), nullptr, out.data());
  EXPECT_EQ(out, (std::vector<float>{0.5f, -4.0f, 1.5f, 8.0f, 2.5f, -12.0f}));
}

INSTANTIATE_TEST_SUITE_P(AllImplementations, QuantizeToNhwc,
                         ::testing::ValuesIn(implementation_names(Kernel::kActivationCodes)),
                         implementation_name);
INSTANTIATE_TEST_SUITE_P(AllImplementations, RescaleRowsToNchw,
                         ::testing::ValuesIn(implementation_names(Kernel::kActivationCodes)),
                         implementation_name);

}  // namespace
}  // namespace bnrecal::arith

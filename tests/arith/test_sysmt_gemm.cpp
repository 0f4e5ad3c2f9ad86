// Differential tests: the fast SySMT GEMM must equal the scalar reference
// exactly, for every T x idle rule x rounding and many shapes and value mixes,
// with every row-expansion implementation this CPU supports (AVX-512, portable).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "bnrecal/arith/sysmt.h"
#include "kernel_implementations.h"

namespace bnrecal::sysmt {
namespace {

// kFewZeroWeights: about 3 % zero weights, as in a trained 8-bit layer, so that output channels
// differ in which lanes of a group their weights keep active (the expansion plans per pattern).
enum class Fill {
  kDense, kSparseWeights50, kSparseWeights90, kExtremes, kZeroRows, kSmallValues, kFewZeroWeights
};

struct Shape {
  int64_t M, N, K;
};

struct Operands {
  std::vector<uint8_t> A;
  std::vector<int8_t> W;
};

Operands make_operands(const Shape& s, Fill fill, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> u8(0, 255), s8(-128, 127), pct(0, 99), small(-20, 20);
  Operands o{std::vector<uint8_t>(s.M * s.K), std::vector<int8_t>(s.N * s.K)};
  for (auto& a : o.A) {
    a = static_cast<uint8_t>(u8(rng));
    if (pct(rng) < 30) a = 0;  // post-ReLU activations have many zeros
  }
  for (auto& w : o.W) w = static_cast<int8_t>(s8(rng));
  switch (fill) {
    case Fill::kDense: break;
    case Fill::kSparseWeights50:
      for (auto& w : o.W) if (pct(rng) < 50) w = 0;
      break;
    case Fill::kSparseWeights90:
      for (auto& w : o.W) if (pct(rng) < 90) w = 0;
      break;
    case Fill::kFewZeroWeights:
      for (auto& w : o.W) if (pct(rng) < 3) w = 0;
      break;
    case Fill::kExtremes:
      for (auto& a : o.A) a = pct(rng) < 80 ? 255 : 0;
      for (auto& w : o.W) w = pct(rng) < 50 ? -128 : (pct(rng) < 90 ? 127 : 0);
      break;
    case Fill::kZeroRows:
      for (int64_t m = 0; m < s.M; m += 2) std::fill(o.A.begin() + m * s.K, o.A.begin() + (m + 1) * s.K, 0);
      for (int64_t n = 0; n < s.N; n += 3) std::fill(o.W.begin() + n * s.K, o.W.begin() + (n + 1) * s.K, 0);
      break;
    case Fill::kSmallValues:  // values near the 4-bit boundaries
      for (auto& a : o.A) a = static_cast<uint8_t>(u8(rng) % 40);
      for (auto& w : o.W) w = static_cast<int8_t>(small(rng));
      break;
  }
  return o;
}

void expect_fast_equals_ref(const Shape& s, Fill fill, const SysmtConfig& c, uint32_t seed) {
  const Operands o = make_operands(s, fill, seed);
  std::vector<int32_t> ref(s.M * s.N, -1), fast(s.M * s.N, -7);
  sysmt_gemm_ref(o.A.data(), o.W.data(), ref.data(), s.M, s.N, s.K, c);
  sysmt_gemm(o.A.data(), o.W.data(), fast.data(), s.M, s.N, s.K, c);
  std::vector<int32_t> packed(s.M * s.N, -9);
  sysmt_gemm_packed(o.A.data(), s.M, SysmtPackedWeights(o.W.data(), s.N, s.K, c), packed.data());
  int64_t mismatches = 0;
  for (size_t i = 0; i < ref.size(); ++i) mismatches += (ref[i] != fast[i]) + (ref[i] != packed[i]);
  ASSERT_EQ(mismatches, 0) << to_string(c) << " M=" << s.M << " N=" << s.N << " K=" << s.K
                           << " fill=" << static_cast<int>(fill) << " seed=" << seed;
}

using arith::Kernel;
using testing_support::ImplementationTest;
using testing_support::implementation_names;

// T, idle rule, rounding, row-expansion implementation.
using Param = std::tuple<int, IdleRule, Rounding, std::string>;

class SysmtDifferential : public ImplementationTest<Kernel::kSysmtExpand, Param> {
 protected:
  SysmtConfig config() const {
    SysmtConfig c;
    c.threads = std::get<0>(GetParam());
    c.idle = std::get<1>(GetParam());
    c.rounding = std::get<2>(GetParam());
    return c;
  }
};

TEST_P(SysmtDifferential, EdgeShapes) {
  // K not divisible by T, M = 1, N = 1, K = 1, K < T, empty K.
  const std::vector<Shape> shapes = {{1, 1, 1}, {1, 1, 3}, {1, 7, 5},  {9, 1, 6},  {3, 4, 7},
                                     {5, 3, 2}, {2, 2, 0}, {17, 13, 33}, {4, 5, 130}};
  uint32_t seed = 1;
  for (const Shape& s : shapes)
    for (Fill f : {Fill::kDense, Fill::kSparseWeights50, Fill::kExtremes, Fill::kZeroRows,
                   Fill::kSmallValues, Fill::kFewZeroWeights})
      expect_fast_equals_ref(s, f, config(), seed++);
}

TEST_P(SysmtDifferential, RandomShapes) {
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> dim(1, 40), depth(1, 150), fill(0, 6);
  for (int i = 0; i < 25; ++i)
    expect_fast_equals_ref({dim(rng), dim(rng), depth(rng)}, static_cast<Fill>(fill(rng)),
                           config(), 100 + i);
}

TEST_P(SysmtDifferential, SparseWeights90) {
  expect_fast_equals_ref({31, 19, 301}, Fill::kSparseWeights90, config(), 7);
}

TEST_P(SysmtDifferential, LargeTiledShape) {
  // Several OpenMP threads per chunk; K = 577 leaves a partial last group.
  expect_fast_equals_ref({300, 70, 577}, Fill::kDense, config(), 11);
  expect_fast_equals_ref({300, 70, 577}, Fill::kFewZeroWeights, config(), 15);
}

TEST_P(SysmtDifferential, ManyRowChunks) {
  // Large K makes the expanded rows long, so M = 200 spans several row chunks.
  expect_fast_equals_ref({200, 6, 4001}, Fill::kSparseWeights50, config(), 12);
}

TEST_P(SysmtDifferential, PortableGemmPath) {
  detail::force_portable_gemm(true);
  expect_fast_equals_ref({23, 11, 97}, Fill::kDense, config(), 13);
  expect_fast_equals_ref({5, 9, 64}, Fill::kExtremes, config(), 14);
  detail::force_portable_gemm(false);
}

std::string param_name(const ::testing::TestParamInfo<Param>& info) {
  return "T" + std::to_string(std::get<0>(info.param)) + "_" + to_string(std::get<1>(info.param)) +
         "_" + to_string(std::get<2>(info.param)) + "_" + std::get<3>(info.param);
}

INSTANTIATE_TEST_SUITE_P(AllConfigs, SysmtDifferential,
                         ::testing::Combine(::testing::Values(1, 2, 4),
                                            ::testing::Values(IdleRule::kEither, IdleRule::kAct),
                                            ::testing::Values(Rounding::kRne, Rounding::kHalfUp,
                                                              Rounding::kTrunc),
                                            ::testing::ValuesIn(implementation_names(
                                                Kernel::kSysmtExpand))),
                         param_name);

TEST(SysmtGemm, OneThreadIsPlainDotProduct) {
  const Shape s{37, 29, 211};
  const Operands o = make_operands(s, Fill::kDense, 99);
  std::vector<int32_t> fast(s.M * s.N), ref(s.M * s.N);
  SysmtConfig c;  // T = 1
  sysmt_gemm(o.A.data(), o.W.data(), fast.data(), s.M, s.N, s.K, c);
  sysmt_gemm_ref(o.A.data(), o.W.data(), ref.data(), s.M, s.N, s.K, c);
  for (int64_t m = 0; m < s.M; ++m)
    for (int64_t n = 0; n < s.N; ++n) {
      int64_t dot = 0;
      for (int64_t k = 0; k < s.K; ++k) dot += int64_t{o.A[m * s.K + k]} * o.W[n * s.K + k];
      ASSERT_EQ(fast[m * s.N + n], dot);
      ASSERT_EQ(ref[m * s.N + n], dot);
    }
}

// The expansion is planned from the weights: a lane needs a column pair per distinct set of
// other lanes the output channels' weights keep active, so dense weights cost at most two
// columns per lane (one at T = 2), and each zero weight adds columns only to its own group.
TEST(SysmtPackedWeights, ExpandedDepthFollowsTheWeightsZeroPattern) {
  const int64_t N = 19, K = 301;  // K odd: the last group is partial
  Operands o = make_operands({1, N, K}, Fill::kDense, 21);
  for (auto& w : o.W) if (w == 0) w = 1;
  const auto depth = [&](int T, IdleRule idle) {
    SysmtConfig c;
    c.threads = T;
    c.idle = idle;
    return SysmtPackedWeights(o.W.data(), N, K, c).expanded_depth();
  };
  EXPECT_EQ(depth(1, IdleRule::kEither), K);
  EXPECT_EQ(depth(2, IdleRule::kEither), K);
  EXPECT_EQ(depth(2, IdleRule::kAct), K);
  const int64_t dense4 = depth(4, IdleRule::kEither);
  EXPECT_GT(dense4, K);
  EXPECT_LE(dense4, 2 * K);
  EXPECT_EQ(depth(4, IdleRule::kAct), dense4);
  // One zero weight at lane 5 (group 4..7): lanes 4, 6 and 7 each need at most one more column
  // of each kind for that channel; under `act` the weights' zeros free no lane.
  o.W[5] = 0;
  EXPECT_GT(depth(4, IdleRule::kEither), dense4);
  EXPECT_LE(depth(4, IdleRule::kEither), dense4 + 6);
  EXPECT_EQ(depth(2, IdleRule::kEither), K + 1);  // lane 4 alone in its pair for channel 0
  EXPECT_EQ(depth(4, IdleRule::kAct), dense4);
  // All weights zero: nothing to multiply.
  std::fill(o.W.begin(), o.W.end(), 0);
  EXPECT_EQ(depth(4, IdleRule::kEither), 0);
  std::vector<int32_t> y(N, -1);
  std::vector<uint8_t> a(K, 200);
  SysmtConfig c;
  c.threads = 4;
  sysmt_gemm(a.data(), o.W.data(), y.data(), 1, N, K, c);
  EXPECT_EQ(y, std::vector<int32_t>(N, 0));
}

class SysmtExtremes : public ImplementationTest<Kernel::kSysmtExpand, std::string> {};

TEST_P(SysmtExtremes, ExtremeDepthFitsInt32) {
  // K = kMaxK with all-255 activations and -128 weights: the largest |Y|.
  const int64_t K = kMaxK;
  std::vector<uint8_t> A(2 * K, 255);
  std::vector<int8_t> W(K, -128);
  std::vector<int32_t> y(2), r(2);
  for (int T : {1, 2, 4}) {
    SysmtConfig c;
    c.threads = T;
    sysmt_gemm(A.data(), W.data(), y.data(), 2, 1, K, c);
    sysmt_gemm_ref(A.data(), W.data(), r.data(), 2, 1, K, c);
    EXPECT_EQ(y, r) << T;
  }
  EXPECT_EQ(r[0], -240LL * 128 * K);  // T = 4: all lanes active, R4a(255) = 240, R4w(-128) = -128
}

INSTANTIATE_TEST_SUITE_P(AllImplementations, SysmtExtremes,
                         ::testing::ValuesIn(implementation_names(Kernel::kSysmtExpand)),
                         testing_support::implementation_name);

}  // namespace
}  // namespace bnrecal::sysmt

// Spec section 6: every worked example and scalar check, through the group
// rule, the reference GEMM and the fast GEMM.
#include <gtest/gtest.h>

#include <vector>

#include "bnrecal/arith/sysmt.h"
#include "bnrecal/core/error.h"

namespace bnrecal::sysmt {
namespace {

struct Example {
  std::vector<int> x, w;
  int T;
  int64_t result;
  int64_t exact;
};

SysmtConfig config(int T, IdleRule idle = IdleRule::kEither, Rounding r = Rounding::kRne) {
  SysmtConfig c;
  c.threads = T;
  c.idle = idle;
  c.rounding = r;
  return c;
}

// Runs one group through group_sum, the reference GEMM and the fast GEMM.
void expect_group(const std::vector<int>& xs, const std::vector<int>& ws, const SysmtConfig& c,
                  int64_t expected) {
  std::vector<uint8_t> x(xs.begin(), xs.end());
  std::vector<int8_t> w(ws.begin(), ws.end());
  if (static_cast<int>(x.size()) == c.threads)  // one group of T lanes
    EXPECT_EQ(group_sum(x.data(), w.data(), c), expected) << to_string(c);
  int32_t y_ref = 0, y_fast = 0;
  sysmt_gemm_ref(x.data(), w.data(), &y_ref, 1, 1, static_cast<int64_t>(x.size()), c);
  sysmt_gemm(x.data(), w.data(), &y_fast, 1, 1, static_cast<int64_t>(x.size()), c);
  EXPECT_EQ(y_ref, expected) << to_string(c);
  EXPECT_EQ(y_fast, expected) << to_string(c);
}

const std::vector<Example>& examples() {
  static const std::vector<Example> e = {
      {{0, 200}, {50, -3}, 2, -600, -600},
      {{37, 200}, {0, -3}, 2, -600, -600},
      {{12, 9}, {100, -7}, 2, 1137, 1137},
      {{12, 200}, {100, -3}, 2, 624, 600},
      {{40, 255}, {10, 127}, 2, 30800, 32785},
      {{24, 17}, {-128, 5}, 2, -4016, -2987},
      {{0, 0, 0, 201}, {5, 7, -3, -77}, 4, -15477, -15477},
      {{130, 0, 3, 18}, {-77, 9, 0, 25}, 4, -9456, -9560},
      {{130, 5, 3, 18}, {-77, 9, 0, 25}, 4, -9648, -9515},
      {{255, 7, 16, 40}, {127, -8, -128, 8}, 4, 24776, 30601},
  };
  return e;
}

TEST(SysmtSpec, WorkedExamplesEitherRne) {
  for (const Example& e : examples()) expect_group(e.x, e.w, config(e.T), e.result);
}

TEST(SysmtSpec, WorkedExamplesExactColumnIs1T) {
  for (const Example& e : examples()) expect_group(e.x, e.w, config(1), e.exact);
}

TEST(SysmtSpec, IdleActExample) {
  expect_group({37, 200}, {0, -3}, config(2, IdleRule::kAct), -576);
}

TEST(SysmtSpec, ReduceActivationScalarChecks) {
  const Rounding rne = Rounding::kRne;
  EXPECT_EQ(reduce_activation4(7, rne), 7);
  EXPECT_EQ(reduce_activation4(17, rne), 16);
  EXPECT_EQ(reduce_activation4(24, rne), 32);
  EXPECT_EQ(reduce_activation4(40, rne), 32);
  EXPECT_EQ(reduce_activation4(40, Rounding::kHalfUp), 48);
  EXPECT_EQ(reduce_activation4(120, rne), 128);
  EXPECT_EQ(reduce_activation4(120, Rounding::kTrunc), 112);
  EXPECT_EQ(reduce_activation4(200, rne), 192);
  EXPECT_EQ(reduce_activation4(216, rne), 224);
  EXPECT_EQ(reduce_activation4(255, rne), 240);
}

TEST(SysmtSpec, ReduceWeightScalarChecks) {
  const Rounding rne = Rounding::kRne;
  EXPECT_EQ(reduce_weight4(8, rne), 0);
  EXPECT_EQ(reduce_weight4(120, rne), 112);
  EXPECT_EQ(reduce_weight4(127, rne), 112);
  EXPECT_EQ(reduce_weight4(-127, rne), -128);
}

TEST(SysmtSpec, ReductionsStayInRangeForAllModes) {
  for (Rounding r : {Rounding::kRne, Rounding::kHalfUp, Rounding::kTrunc}) {
    for (int x = 0; x < 256; ++x) {
      const int y = reduce_activation4(x, r);
      EXPECT_TRUE(y >= 0 && y <= 240 && (x < 16 ? y == x : y % 16 == 0)) << x;
    }
    for (int w = -128; w < 128; ++w) {
      const int y = reduce_weight4(w, r);
      EXPECT_TRUE(y >= -128 && y <= 112 && (w >= -8 && w <= 7 ? y == w : y % 16 == 0)) << w;
    }
  }
}

TEST(SysmtSpec, ParseAndFormatSwitches) {
  EXPECT_EQ(parse_idle_rule("either"), IdleRule::kEither);
  EXPECT_EQ(parse_idle_rule("act"), IdleRule::kAct);
  EXPECT_EQ(parse_rounding("rne"), Rounding::kRne);
  EXPECT_EQ(parse_rounding("half_up"), Rounding::kHalfUp);
  EXPECT_EQ(parse_rounding("trunc"), Rounding::kTrunc);
  for (Rounding r : {Rounding::kRne, Rounding::kHalfUp, Rounding::kTrunc})
    EXPECT_EQ(parse_rounding(to_string(r)), r);
  EXPECT_THROW(parse_idle_rule("weight"), InputError);
  EXPECT_THROW(parse_rounding("nearest"), InputError);
  EXPECT_EQ(to_string(config(4, IdleRule::kAct, Rounding::kTrunc)), "T=4 idle=act round=trunc");
}

TEST(SysmtSpec, ValidateRejectsBadThreadsAndDepth) {
  EXPECT_NO_THROW(validate(config(1), 10));
  EXPECT_NO_THROW(validate(config(2), kMaxK));
  EXPECT_THROW(validate(config(3), 10), InputError);
  EXPECT_THROW(validate(config(8), 10), InputError);
  EXPECT_THROW(validate(config(2), kMaxK + 1), InputError);
  uint8_t x = 1;
  int8_t w = 1;
  int32_t y = 0;
  EXPECT_THROW(sysmt_gemm(&x, &w, &y, 1, 1, 1, config(3)), InputError);
  EXPECT_THROW(sysmt_gemm_ref(&x, &w, &y, 1, 1, 1, config(0)), InputError);
}

}  // namespace
}  // namespace bnrecal::sysmt

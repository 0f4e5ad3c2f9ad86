// Diagnostics on hand-checked groups (spec section 6 examples).
#include <gtest/gtest.h>

#include <vector>

#include "bnrecal/arith/sysmt_diagnostics.h"

namespace bnrecal::sysmt {
namespace {

TEST(SysmtDiagnostics, TwoThreadHandChecked) {
  // Group 0: (12,100) (200,-3) collides, 200 -> 192 (624 instead of 600).
  // Group 1: (0,7) (5,9): one active lane, exact 45.
  const std::vector<uint8_t> A = {12, 200, 0, 5};
  const std::vector<int8_t> W = {100, -3, 7, 9};
  SysmtConfig c;
  c.threads = 2;
  const SysmtDiagnostics d = sysmt_diagnostics(A.data(), W.data(), 1, 1, 4, c);
  EXPECT_EQ(d.threads, 2);
  EXPECT_EQ(d.active_lane_histogram, (std::vector<int64_t>{0, 1, 1}));
  EXPECT_EQ(d.groups, 2);
  EXPECT_EQ(d.collisions, 1);
  EXPECT_EQ(d.activations_reduced, 2);
  EXPECT_EQ(d.activations_changed, 1);
  EXPECT_EQ(d.weights_reduced, 0);
  EXPECT_EQ(d.weights_changed, 0);
  EXPECT_EQ(d.outputs, 1);
  EXPECT_EQ(d.sum_squared_error, 576.0);
  EXPECT_EQ(d.mse_vs_exact(), 576.0);
  EXPECT_EQ(d.collision_rate(), 0.5);
  EXPECT_EQ(d.activation_changed_fraction(), 0.5);
}

TEST(SysmtDiagnostics, FourThreadHandCheckedAndMerge) {
  // Row 0: (255,127) (7,-8) (16,-128) (40,8): 4 active lanes, 24776 vs 30601.
  // Row 1: all activations zero: 4 idle lanes, exact.
  const std::vector<uint8_t> A = {255, 7, 16, 40, 0, 0, 0, 0};
  const std::vector<int8_t> W = {127, -8, -128, 8};
  SysmtConfig c;
  c.threads = 4;
  const SysmtDiagnostics d = sysmt_diagnostics(A.data(), W.data(), 2, 1, 4, c);
  EXPECT_EQ(d.active_lane_histogram, (std::vector<int64_t>{1, 0, 0, 0, 1}));
  EXPECT_EQ(d.groups, 2);
  EXPECT_EQ(d.collisions, 1);
  EXPECT_EQ(d.activations_reduced, 4);
  EXPECT_EQ(d.activations_changed, 2);  // 255 -> 240, 40 -> 32
  EXPECT_EQ(d.weights_reduced, 4);
  EXPECT_EQ(d.weights_changed, 2);      // 127 -> 112, 8 -> 0
  EXPECT_EQ(d.outputs, 2);
  EXPECT_EQ(d.sum_squared_error, 5825.0 * 5825.0);
  EXPECT_EQ(d.mse_vs_exact(), 5825.0 * 5825.0 / 2);

  // Batches merge into the same totals.
  SysmtDiagnostics merged;
  merged.merge(sysmt_diagnostics(A.data(), W.data(), 1, 1, 4, c));
  merged.merge(sysmt_diagnostics(A.data() + 4, W.data(), 1, 1, 4, c));
  EXPECT_EQ(merged.active_lane_histogram, d.active_lane_histogram);
  EXPECT_EQ(merged.collisions, d.collisions);
  EXPECT_EQ(merged.weights_changed, d.weights_changed);
  EXPECT_EQ(merged.outputs, d.outputs);
  EXPECT_EQ(merged.sum_squared_error, d.sum_squared_error);
  EXPECT_FALSE(format_diagnostics(merged).empty());
}

TEST(SysmtDiagnostics, IdleActCountsZeroWeightLanes) {
  const std::vector<uint8_t> A = {37, 200};
  const std::vector<int8_t> W = {0, -3};
  SysmtConfig c;
  c.threads = 2;
  c.idle = IdleRule::kAct;
  const SysmtDiagnostics d = sysmt_diagnostics(A.data(), W.data(), 1, 1, 2, c);
  EXPECT_EQ(d.active_lane_histogram, (std::vector<int64_t>{0, 0, 1}));
  EXPECT_EQ(d.sum_squared_error, 24.0 * 24.0);  // -576 vs -600
}

TEST(SysmtDiagnostics, MergeRejectsDifferentThreads) {
  SysmtDiagnostics a, b;
  a.threads = 2;
  a.active_lane_histogram.assign(3, 0);
  b.threads = 4;
  b.active_lane_histogram.assign(5, 0);
  EXPECT_THROW(a.merge(b), std::logic_error);
}

}  // namespace
}  // namespace bnrecal::sysmt

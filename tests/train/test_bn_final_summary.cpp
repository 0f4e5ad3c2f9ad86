// The BN-final study's statistics from hand-made run records: pairing by seed, the last
// evaluations, jitter and pooling over cells, against values worked out by hand.
#include <gtest/gtest.h>

#include "bnrecal/train/bn_final_summary.h"

using namespace bnrecal;

namespace {

BnFinalRun make_run(const std::string& arch, const std::string& bn, uint64_t seed, std::vector<double> top1,
                    double end = -1, double recal = -1) {
  BnFinalRun r;
  r.dataset = "mnist";
  r.arch = arch;
  r.setting = "w1a2";
  r.bn = bn;
  r.seed = seed;
  for (size_t i = 0; i < top1.size(); ++i) r.series.push_back({{"step", i}, {"top1", top1[i]}});
  r.end_top1 = end;
  r.recal_final_top1 = recal;
  return r;
}

}  // namespace

TEST(BnFinalSummary, PairsRunsBySeedOverTheirLastEvaluations) {
  // last = 2: pop seed 0 -> {80, 82} mean 81 std sqrt(2); final seed 0 -> {84, 84} mean 84 std 0.
  //           pop seed 1 -> {70, 70} mean 70;             final seed 1 -> {71, 75} mean 73 std sqrt(8).
  const std::vector<BnFinalRun> runs = {
      make_run("a", "pop", 0, {10, 80, 82}, 81, 83), make_run("a", "final", 0, {50, 84, 84}, 85),
      make_run("a", "pop", 1, {99, 70, 70}, 70, 69), make_run("a", "final", 1, {0, 71, 75}, 77),
      make_run("a", "final", 7, {1, 1, 1}),  // no BN-pop partner: in the spread, not in a pair
  };
  const std::vector<BnFinalCell> cells = summarize_bn_final(runs, 2);
  ASSERT_EQ(cells.size(), 1u);
  const BnFinalCell& c = cells[0];
  ASSERT_EQ(c.pairs.size(), 2u);
  EXPECT_DOUBLE_EQ(c.pairs[0].pop, 81);
  EXPECT_DOUBLE_EQ(c.pairs[0].final, 84);
  EXPECT_DOUBLE_EQ(c.pairs[1].final_jitter, std::sqrt(8.0));
  // final - pop per seed: 3 and 3 -> mean 3, standard error 0.
  EXPECT_DOUBLE_EQ(c.difference.mean, 3);
  EXPECT_DOUBLE_EQ(c.difference.standard_error, 0);
  EXPECT_EQ(c.difference.pairs, 2);
  // recal - pop at the end per seed: 83 - 81 = 2 and 69 - 70 = -1 -> mean 0.5, std sqrt(4.5),
  // standard error sqrt(4.5) / sqrt(2) = 1.5.
  EXPECT_DOUBLE_EQ(c.recal_difference.mean, 0.5);
  EXPECT_NEAR(c.recal_difference.standard_error, 1.5, 1e-12);
  // final - pop at the end per seed: 4 and 7.
  EXPECT_DOUBLE_EQ(c.end_difference.mean, 5.5);
  EXPECT_DOUBLE_EQ(c.end_difference.standard_error, 1.5);
  // jitter final - pop per seed: 0 - sqrt(2) and sqrt(8) - 0 -> mean sqrt(2) / 2.
  EXPECT_NEAR(c.jitter_difference.mean, std::sqrt(2.0) / 2, 1e-12);
  EXPECT_DOUBLE_EQ(c.pop_jitter, std::sqrt(2.0) / 2);
  EXPECT_EQ(c.final.values.size(), 6u);  // every final run's last two, the unpaired one included
  EXPECT_DOUBLE_EQ(c.pop.mean, 75.5);
}

TEST(BnFinalSummary, PoolsASettingOverArchitectures) {
  const std::vector<BnFinalRun> runs = {
      make_run("a", "pop", 0, {80}), make_run("a", "final", 0, {81}),
      make_run("b", "pop", 0, {60}), make_run("b", "final", 0, {65}),
  };
  const auto cells = summarize_bn_final(runs, 1);
  ASSERT_EQ(cells.size(), 2u);
  EXPECT_EQ(cells[0].difference.pairs, 1);
  EXPECT_DOUBLE_EQ(cells[0].difference.standard_error, 0);  // one pair: no spread to report
  const auto pooled = summarize_bn_final_settings(cells);
  ASSERT_EQ(pooled.size(), 1u);
  EXPECT_EQ(pooled[0].difference.pairs, 2);
  EXPECT_DOUBLE_EQ(pooled[0].difference.mean, 3);          // (1 + 5) / 2
  EXPECT_DOUBLE_EQ(pooled[0].difference.standard_error, 2);  // std sqrt(8) / sqrt(2)
  EXPECT_EQ(pooled[0].recal_difference.pairs, 0);          // no recalibrated runs
  EXPECT_EQ(pooled[0].end_difference.pairs, 0);            // no end-of-training evaluations recorded
}

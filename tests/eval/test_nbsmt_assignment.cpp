// The per-layer thread-assignment search: the greedy path on its own (pure), and the search on a
// tiny network: a path of growing speedup, a choice within the budget on validation, and a choice
// that does not depend on the test split (it never sees it).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "bnrecal/eval/nbsmt_assignment.h"
#include "bnrecal/eval/nbsmt_sweep.h"
#include "bnrecal/nn/calibration.h"
#include "tensor_source.h"
#include "tiny_net.h"

namespace bnrecal {
namespace {

using testing::TinyNetImpl;

TEST(GreedyThreadPath, CheapestMovePerSavedCycleFirstAndFourWaitsForTwo) {
  // Layer 0: 1->2 costs 1.0 per 50 cycles; layer 1: 2->4 is nearly free but waits for its 1->2.
  const std::vector<SweepPoint> path = greedy_thread_path({100, 100}, {1.0, 3.0}, {2.0, -0.5});
  ASSERT_EQ(path.size(), 5u);
  EXPECT_EQ(path[0].threads, std::vector<int>({1, 1}));
  EXPECT_EQ(path[1].threads, std::vector<int>({2, 1}));  // price 0.02
  EXPECT_EQ(path[2].threads, std::vector<int>({2, 2}));  // layer 1's 1->2 (0.06), its 2->4 right after
  EXPECT_EQ(path[3].threads, std::vector<int>({2, 4}));
  EXPECT_EQ(path[4].threads, std::vector<int>({4, 4}));  // layer 0's 2->4 (0.08), the dearest
  EXPECT_EQ(path[4].label, "greedy 4");
  // A big layer's move saves more cycles: the same cost is cheaper per cycle.
  EXPECT_EQ(greedy_thread_path({100, 1000}, {1.0, 1.0}, {9.0, 9.0})[1].threads, std::vector<int>({1, 2}));
  EXPECT_EQ(greedy_thread_path({}, {}, {}).size(), 1u);
}

struct AssignmentFixture {
  std::shared_ptr<TinyNetImpl> net = std::make_shared<TinyNetImpl>(1, 8, 3);
  std::shared_ptr<testing::TensorSource> train = std::make_shared<testing::TensorSource>(96, 1);
  ModelCalibration calibration;
  AssignmentFixture() {
    net->randomize_bn(3);
    net->eval();
    TensorBatchStream stream({train->images().narrow(0, 0, 32)});
    calibration.activations = calibrate_activations(*net, stream, "mean_max");
  }
  AssignmentOptions options() const {
    AssignmentOptions o;
    o.base = PolicySpec::parse("sysmt override=fc=sysmt");  // two accelerated layers: conv2 and fc
    o.validation_images = 32;
    o.path_points = 3;
    o.diag_images = 16;
    o.budget = 5;
    o.protocol.recal.images = 32;
    o.protocol.recal.draws = 2;
    o.protocol.eval.batch_size = 16;
    return o;
  }
};

TEST(ThreadAssignment, PathSpeedsUpChoiceIsWithinBudgetAndBlindToTheTestSplit) {
  AssignmentFixture f;
  testing::TensorSource test_a(48, 2), test_b(40, 7);
  const AssignmentResult a = search_thread_assignment(*f.net, f.calibration, f.train, test_a, f.options());
  ASSERT_EQ(a.layers, std::vector<std::string>({"conv2", "fc"}));
  EXPECT_EQ(a.cost_1to2.size(), a.layers.size());
  ASSERT_EQ(a.path.size(), 3u);  // of the path's 5 points: 1 (round(4/3)), 3 (round(8/3)) and 4
  ASSERT_EQ(a.mse.size(), 3u);
  ASSERT_EQ(a.greedy_vs_mse.size(), 3u);
  for (size_t i = 1; i < a.path.size(); ++i) EXPECT_GT(a.path[i].test.speedup_all, a.path[i - 1].test.speedup_all);
  EXPECT_EQ(a.path.back().threads, std::vector<int>(a.layers.size(), 4));  // the path ends at all 4T
  EXPECT_EQ(a.path[0].test.recalibrated.draws.size(), 2u);
  EXPECT_EQ(a.test_a8w8.n, 48);
  if (a.chosen >= 0) EXPECT_GE(a.path[a.chosen].validation_top1, a.validation_a8w8 - 5);
  for (size_t i = static_cast<size_t>(a.chosen + 1); i < a.path.size(); ++i) {
    EXPECT_LT(a.path[i].validation_top1, a.validation_a8w8 - 5) << "a faster point within budget was passed over";
  }

  const AssignmentResult b = search_thread_assignment(*f.net, f.calibration, f.train, test_b, f.options());
  EXPECT_EQ(b.chosen, a.chosen);
  EXPECT_EQ(b.cost_2to4, a.cost_2to4);
  for (size_t i = 0; i < a.path.size(); ++i) {
    EXPECT_EQ(b.path[i].threads, a.path[i].threads);
    EXPECT_EQ(b.path[i].validation_top1, a.path[i].validation_top1);
  }
  EXPECT_EQ(b.test_a8w8.n, 40);
}

}  // namespace
}  // namespace bnrecal

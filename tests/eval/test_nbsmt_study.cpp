// The NB-SMT study on a tiny network and synthetic images: its rows, speedups, diagnostics, the
// restored BN statistics and policies, and the sweep; plus the sweep schedule on its own.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "bnrecal/core/error.h"
#include "bnrecal/eval/nbsmt_study.h"
#include "bnrecal/eval/nbsmt_sweep.h"
#include "bnrecal/nn/calibration.h"
#include "tensor_source.h"
#include "tiny_net.h"

namespace bnrecal {
namespace {

using testing::TinyNetImpl;

TEST(NbsmtSweep, RankIsByMseHighestFirstAndStable) {
  EXPECT_EQ(rank_by_mse({1.0, 5.0, 3.0, 5.0}), std::vector<size_t>({1, 3, 2, 0}));
  EXPECT_TRUE(rank_by_mse({}).empty());
}

TEST(NbsmtSweep, ScheduleMovesTheTopLayersDownOnePhaseAtATime) {
  const std::vector<SweepPoint> points = nbsmt_sweep_schedule(5, 2);
  // i = 2, 4, 5 in each phase.
  ASSERT_EQ(points.size(), 6u);
  EXPECT_EQ(points[0].label, "2 at 2T, rest 4T");
  EXPECT_EQ(points[0].threads, std::vector<int>({2, 2, 4, 4, 4}));
  EXPECT_EQ(points[2].label, "5 at 2T, rest 4T");
  EXPECT_EQ(points[2].threads, std::vector<int>({2, 2, 2, 2, 2}));
  EXPECT_EQ(points[3].label, "2 at 1T, rest 2T");
  EXPECT_EQ(points[3].threads, std::vector<int>({1, 1, 2, 2, 2}));
  EXPECT_EQ(points[5].threads, std::vector<int>({1, 1, 1, 1, 1}));
  EXPECT_EQ(nbsmt_sweep_schedule(3, 1).size(), 6u);
  EXPECT_EQ(nbsmt_sweep_schedule(3, 0).size(), 6u);   // step < 1 is 1
  EXPECT_EQ(nbsmt_sweep_schedule(3, 10).size(), 2u);  // one point per phase: all layers
  EXPECT_TRUE(nbsmt_sweep_schedule(0, 1).empty());
}

struct StudyFixture {
  std::shared_ptr<TinyNetImpl> net = std::make_shared<TinyNetImpl>(1, 8, 3);
  testing::TensorSource train{64, 1}, test{48, 2};
  ModelCalibration calibration;
  StudyFixture() {
    net->randomize_bn(3);
    net->eval();
    TensorBatchStream stream({train.images().narrow(0, 0, 32)});
    calibration.activations = calibrate_activations(*net, stream, "mean_max");
  }
  NbsmtStudyOptions options() const {
    NbsmtStudyOptions o;
    o.protocol.recal.images = 32;
    o.protocol.recal.batch_size = 16;
    o.protocol.eval.batch_size = 16;
    o.diag_images = 16;
    return o;
  }
};

TEST(NbsmtStudy, RowsSpeedupsAndDiagnosticsOnATinyNet) {
  StudyFixture f;
  const at::Tensor mean_before = f.net->bn2->running_mean.clone();
  const NbsmtStudyResult r = run_nbsmt_study(*f.net, f.calibration, {f.train, f.test}, f.options());
  EXPECT_EQ(r.fp32.n, 48);
  ASSERT_EQ(r.settings.size(), 2u);
  EXPECT_EQ(r.settings[0].label, "2T");
  EXPECT_EQ(r.settings[1].label, "4T");
  // Only conv2 is accelerated (first conv and fc stay exact): its speedup is T over its MACs.
  for (size_t i = 0; i < 2; ++i) {
    const NbsmtSetting& s = r.settings[i];
    const double t = i == 0 ? 2.0 : 4.0;
    EXPECT_DOUBLE_EQ(s.speedup_accelerated, t);
    ASSERT_EQ(s.layers.size(), 3u);
    EXPECT_FALSE(s.layers[0].accelerated);
    EXPECT_TRUE(s.layers[1].accelerated);
    EXPECT_EQ(s.layers[1].k, 8 * 9);
    const double macs = s.layers[0].macs + s.layers[1].macs + s.layers[2].macs;
    EXPECT_NEAR(s.speedup_all, macs / (s.layers[0].macs + s.layers[1].macs / t + s.layers[2].macs), 1e-12);
    EXPECT_GT(s.layers[1].collision_rate, 0.0);
    EXPECT_EQ(s.plain.n, 48);
    ASSERT_EQ(s.recalibrated.draws.size(), 3u);  // the protocol's default draws
    EXPECT_EQ(s.recalibrated.draws[0].n, 48);
    EXPECT_EQ(s.vs_a8w8.n, 48);
    // Each draw's paired gain is its own top-1 minus the plain one, exactly.
    for (size_t k = 0; k < 3; ++k) {
      EXPECT_NEAR(s.recalibrated.gain.draws[k].difference, s.recalibrated.draws[k].top1 - s.plain.top1, 1e-9);
    }
    EXPECT_NEAR(s.vs_a8w8.difference, s.plain.top1 - r.a8w8.top1, 1e-9);
  }
  // The draws use different training images: distinct seeds.
  const auto& seeds = r.settings[0].recalibrated.seeds;
  EXPECT_NE(seeds[0], seeds[1]);
  EXPECT_NE(seeds[1], seeds[2]);
  // The model comes back in fp32 with its own BN statistics.
  EXPECT_EQ(f.net->conv2->policy().name(), "fp32");
  EXPECT_TRUE(f.net->bn2->running_mean.equal(mean_before));
  EXPECT_EQ(r.to_json()["settings"].size(), 2u);
}

TEST(NbsmtStudy, SweepFollowsTheScheduleAndBadInputIsRefused) {
  StudyFixture f;
  NbsmtStudyOptions o = f.options();
  o.threads = {4};
  o.sweep = true;
  const NbsmtStudyResult r = run_nbsmt_study(*f.net, f.calibration, {f.train, f.test}, o);
  ASSERT_EQ(r.sweep.size(), 2u);  // one accelerated layer: one point per phase
  EXPECT_EQ(r.sweep[0].label, "1 at 2T, rest 4T");
  EXPECT_EQ(r.sweep[0].layers[1].threads, 2);
  EXPECT_EQ(r.sweep[1].layers[1].threads, 1);
  EXPECT_DOUBLE_EQ(r.sweep[1].speedup_accelerated, 1.0);

  EXPECT_THROW(run_nbsmt_study(*f.net, ModelCalibration{}, {f.train, f.test}, o), InputError);  // uncalibrated
  o.protocol.recal.images = 1000;  // more than the training split holds
  EXPECT_THROW(run_nbsmt_study(*f.net, f.calibration, {f.train, f.test}, o), InputError);
}

}  // namespace
}  // namespace bnrecal

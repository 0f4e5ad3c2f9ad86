// The per-layer divergence measurement on a tiny network: no perturbation means no divergence,
// a perturbation gives some, and recalibrating on exactly the evaluated images in one batch
// (self-consistent statistics) leaves no gap between the running statistics and the input moments.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "bnrecal/eval/activation_divergence.h"
#include "bnrecal/nn/calibration.h"
#include "tensor_source.h"
#include "tiny_net.h"

namespace bnrecal {
namespace {

using testing::TinyNetImpl;

struct DivergenceFixture {
  std::shared_ptr<TinyNetImpl> net = std::make_shared<TinyNetImpl>(1, 8, 3);
  testing::TensorSource images{64, 1};
  ModelCalibration calibration;
  StudyProtocol protocol;
  DivergenceFixture() {
    net->randomize_bn(3);
    net->eval();
    TensorBatchStream stream({images.images().narrow(0, 0, 32)});
    calibration.activations = calibrate_activations(*net, stream, "mean_max");
    protocol.eval.batch_size = 16;
    protocol.recal.images = 64;  // every image, in one batch: the same images the divergence sees
    protocol.recal.batch_size = 0;
  }
  DivergenceResult run(const std::string& perturbed) {
    DivergenceOptions o;
    o.images = 64;
    o.bins = 32;
    return measure_activation_divergence(*net, calibration, PolicySpec{}, PolicySpec::parse(perturbed), 0,
                                         {images, images}, protocol, o);
  }
};

TEST(ActivationDivergence, NothingPerturbedMeansNoDivergence) {
  DivergenceFixture f;
  const at::Tensor mean_before = f.net->bn2->running_mean.clone();
  const DivergenceResult r = f.run("fp32");
  ASSERT_EQ(r.layers.size(), 2u);
  EXPECT_EQ(r.images, 64);
  for (const auto& l : r.layers) {
    EXPECT_NEAR(l.kl_plain, 0.0, 1e-12) << l.name;
    EXPECT_NEAR(l.js_plain, 0.0, 1e-12) << l.name;
  }
  // Its statistics are put back and the model is left clean.
  EXPECT_TRUE(f.net->bn2->running_mean.equal(mean_before));
  EXPECT_EQ(f.net->conv2->policy().name(), "fp32");
}

TEST(ActivationDivergence, APerturbationDivergesAndSelfConsistentStatisticsHaveNoGap) {
  DivergenceFixture f;
  // Spatial noise only (sigma_t = 0): fixed by the seed, so every pass sees the same weights.
  const DivergenceResult r = f.run("fp32 noise=seed-003 eta=0.3 sigma_t=0");
  for (const auto& l : r.layers) {
    EXPECT_GT(l.js_plain, 0.0) << l.name;
    // The randomized original statistics are far from the real moments; one-batch pooled
    // statistics on the evaluated images are those moments, up to the stored variance's
    // n / (n - 1): ln(1024 / 1023) = 0.001 for bn2's 64 x 4 x 4 values per channel.
    EXPECT_GT(l.original.mean + l.original.variance, 0.1) << l.name;
    EXPECT_LT(l.recalibrated.mean, 1e-4) << l.name;
    EXPECT_LT(l.recalibrated.variance, 2e-3) << l.name;
  }
  EXPECT_EQ(r.to_json()["layers"].size(), 2u);
}

}  // namespace
}  // namespace bnrecal

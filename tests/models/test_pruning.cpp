// Magnitude pruning: exact counts per layer and globally, which weights go, the default layer
// selection, bad input, and zeros held through fine-tuning.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/data/data_source.h"
#include "bnrecal/models/pruning.h"
#include "bnrecal/models/zoo.h"
#include "bnrecal/nn/arith_layers.h"
#include "bnrecal/train/trainer.h"

namespace bnrecal {
namespace {

std::shared_ptr<Network> small_resnet() {
  torch::manual_seed(3);
  return build_model("resnet20", {10, 1});
}

at::Tensor weight_of(torch::nn::Module& model, const std::string& name) {
  for (const auto& l : arith_layers(model))
    if (l.name == name) return l.weight();
  ADD_FAILURE() << "no layer " << name;
  return {};
}

TEST(Pruning, PerLayerZeroesExactlyTheSmallestFractionOfEachLayer) {
  auto net = small_resnet();
  const at::Tensor before = weight_of(*net, "layer2.1.conv1").clone();
  PruneOptions o;
  o.fraction = 0.4;
  const PruneReport r = prune_by_magnitude(*net, o);
  for (const auto& l : r.layers) {
    EXPECT_EQ(l.zeros_after, std::llround(0.4 * l.weights)) << l.name;
  }
  // Every kept weight is at least as large in magnitude as every pruned one.
  const at::Tensor after = weight_of(*net, "layer2.1.conv1");
  const at::Tensor pruned = (after == 0), mag = before.abs();
  EXPECT_LE(mag.masked_select(pruned).max().item<float>(), mag.masked_select(~pruned).min().item<float>());
  EXPECT_TRUE(after.masked_select(~pruned).equal(before.masked_select(~pruned)));
}

TEST(Pruning, DefaultSelectsTheAcceleratedConvsOnly) {
  auto net = small_resnet();
  const at::Tensor first = weight_of(*net, "conv1").clone(), fc = weight_of(*net, "fc").clone();
  PruneOptions o;
  o.fraction = 0.5;
  const PruneReport r = prune_by_magnitude(*net, o);
  for (const auto& name : r.layer_names()) {
    EXPECT_NE(name, "conv1");
    EXPECT_NE(name, "fc");
  }
  EXPECT_TRUE(weight_of(*net, "conv1").equal(first));
  EXPECT_TRUE(weight_of(*net, "fc").equal(fc));
}

TEST(Pruning, GlobalUsesOneThresholdAcrossLayers) {
  auto net = small_resnet();
  // Make layer1.0.conv1 tiny: a global threshold prunes it almost entirely.
  {
    torch::NoGradGuard no_grad;
    weight_of(*net, "layer1.0.conv1").mul_(1e-3);
  }
  PruneOptions o;
  o.fraction = 0.3;
  o.scope = PruneScope::kGlobal;
  o.layers = {"layer1.*", "layer3.2.conv2"};
  const PruneReport r = prune_by_magnitude(*net, o);
  EXPECT_EQ(r.zeros_after, std::llround(0.3 * r.weights));
  for (const auto& l : r.layers) {
    if (l.name == "layer1.0.conv1") EXPECT_EQ(l.zeros_after, l.weights);
    if (l.name == "layer3.2.conv2") EXPECT_LT(l.zeros_after, l.weights / 3);
  }
  EXPECT_EQ(r.to_json()["scope"], "global");
}

TEST(Pruning, BadInputIsAnInputErrorAndLeavesTheModelUntouched) {
  auto net = small_resnet();
  const at::Tensor before = weight_of(*net, "layer1.0.conv1").clone();
  PruneOptions o;
  o.fraction = 1.0;
  EXPECT_THROW(prune_by_magnitude(*net, o), InputError);
  o.fraction = -0.1;
  EXPECT_THROW(prune_by_magnitude(*net, o), InputError);
  o.fraction = 0.5;
  o.layers = {"layer9.*"};
  EXPECT_THROW(prune_by_magnitude(*net, o), InputError);
  EXPECT_THROW(parse_prune_scope("channel"), InputError);
  EXPECT_TRUE(weight_of(*net, "layer1.0.conv1").equal(before));
}

TEST(Pruning, FineTuningKeepsPrunedWeightsAtZero) {
  if (!file_exists("/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz"))
    GTEST_SKIP() << "apt-get install dataset-fashion-mnist";
  auto train = open_dataset("fashion-mnist", Split::kTrain);
  auto net = small_resnet();
  PruneOptions p;
  p.fraction = 0.5;
  const PruneReport report = prune_by_magnitude(*net, p);
  const at::Tensor zeros_before = weight_of(*net, "layer2.0.conv2") == 0;
  TrainOptions o;
  o.epochs = 1;
  o.batch_size = 64;
  o.train_limit = 256;
  o.lr = 0.05;
  o.keep_zeros_in = report.layer_names();
  const at::Tensor kept_before = weight_of(*net, "layer2.0.conv2").clone();
  train_model(*net, *train, nullptr, o, {});
  const at::Tensor after = weight_of(*net, "layer2.0.conv2");
  EXPECT_TRUE((after == 0).equal(zeros_before)) << "pruned weights moved or kept weights became 0";
  EXPECT_FALSE(after.equal(kept_before)) << "the unpruned weights should have trained";
  // Unpruned layers are free to change as usual.
  EXPECT_GT((weight_of(*net, "conv1") != 0).sum().item<int64_t>(), 0);
}

}  // namespace
}  // namespace bnrecal

// YoloSmall (models/yolo.h): its zoo entry, the raw map's shape for square and oblong inputs, the
// objectness prior the untrained head starts from, the module names and BN layers its header
// promises (counted by hand), and an overfitting check: SGD on two synthetic images, each with one
// bright rectangle, cuts the detection loss more than 5x.
#include <gtest/gtest.h>
#include <torch/optim/sgd.h>

#include <cmath>
#include <set>
#include <string>

#include "bnrecal/models/yolo.h"
#include "bnrecal/nn/arith_layers.h"
#include "bnrecal/nn/batch_norm.h"
#include "bnrecal/train/detection_targets.h"

namespace bnrecal {
namespace {

ZooEntry yolo_entry() {
  std::vector<ZooEntry> zoo;
  detail::add_detection_models(zoo);
  EXPECT_EQ(zoo.size(), 1u);
  return zoo.at(0);
}

TEST(YoloSmall, IsTheZoosDetectionModelFor96x96Images) {
  const ZooEntry entry = yolo_entry();
  EXPECT_EQ(entry.name, "yolo_small");
  EXPECT_EQ(entry.family, "detection");
  EXPECT_EQ(entry.default_input, (std::vector<int64_t>{3, 96, 96}));
}

TEST(YoloSmall, ForwardGivesTheRawMapAtStride8) {
  torch::manual_seed(0);
  auto net = yolo_entry().build({/*num_classes=*/10, /*in_channels=*/3});
  net->eval();
  torch::NoGradGuard no_grad;
  // 5 + 10 channels: objectness, tx, ty, tw, th, 10 class logits.
  EXPECT_EQ(net->forward(at::zeros({2, 3, 96, 96})).sizes(), at::IntArrayRef({2, 15, 12, 12}));
  EXPECT_EQ(net->forward(at::zeros({1, 3, 64, 128})).sizes(), at::IntArrayRef({1, 15, 8, 16}));
  auto gray = yolo_entry().build({/*num_classes=*/3, /*in_channels=*/1});
  gray->eval();
  EXPECT_EQ(gray->forward(at::zeros({1, 1, 96, 96})).sizes(), at::IntArrayRef({1, 8, 12, 12}));
  EXPECT_EQ(std::dynamic_pointer_cast<YoloSmall>(net)->stride(), 8);
}

TEST(YoloSmall, RejectsSidesThatAreNotMultiplesOfTheStride) {
  auto net = yolo_entry().build({10, 3});
  net->eval();
  torch::NoGradGuard no_grad;
  EXPECT_THROW(net->forward(at::zeros({1, 3, 92, 96})), c10::Error);
  EXPECT_THROW(net->forward(at::zeros({1, 3, 96, 100})), c10::Error);
}

TEST(YoloSmall, UntrainedHeadPredictsObjectsWithTheRetinaNetPrior) {
  torch::manual_seed(1);
  auto net = yolo_entry().build({10, 3});
  const at::Tensor bias = net->named_parameters()["head.predict.bias"];
  // -log(0.99 / 0.01) = -4.59512; the box and class biases start at 0.
  EXPECT_NEAR(bias[0].item<double>(), -4.59512, 1e-5);
  EXPECT_EQ(bias.slice(0, 1).abs().max().item<double>(), 0.0);
  net->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor raw = net->forward(at::rand({2, 3, 96, 96}));
  // The small predictor weights keep every cell's objectness near the prior.
  const at::Tensor objectness = at::sigmoid(raw.select(1, 0));
  EXPECT_GT(objectness.min().item<double>(), 0.005);
  EXPECT_LT(objectness.max().item<double>(), 0.03);
}

TEST(YoloSmall, HasTorchvisionStyleNamesAndBatchNormInBackboneAndHead) {
  auto net = yolo_entry().build({10, 3});
  const auto parameters = net->named_parameters();
  const auto buffers = net->named_buffers();
  for (const char* name : {"backbone.conv1.weight", "backbone.layer1.0.conv1.weight", "backbone.layer4.1.bn2.weight",
                           "backbone.layer4.0.downsample.0.weight", "head.conv1.weight", "head.bn2.bias",
                           "head.predict.weight", "head.predict.bias"})
    EXPECT_TRUE(parameters.contains(name)) << name;
  EXPECT_TRUE(buffers.contains("head.bn1.running_var"));
  EXPECT_FALSE(parameters.contains("backbone.fc.weight"));

  // BN: the stem's, 2 per basic block (3 + 3 + 3 + 2 blocks), 1 per downsample (layer2..4), 2 in the head.
  std::set<std::string> batch_norms;
  for (const auto& m : net->named_modules())
    if (dynamic_cast<BatchNorm2dImpl*>(m.value().get())) batch_norms.insert(m.key());
  EXPECT_EQ(batch_norms.size(), 1u + 22u + 3u + 2u);
  EXPECT_EQ(batch_norms.count("head.bn1"), 1u);
  // Convs, all perturbable: one per BN, plus the predictor, last in forward order.
  const std::vector<ArithLayerRef> layers = arith_layers(*net);
  EXPECT_EQ(layers.size(), 29u);
  EXPECT_EQ(layers.back().name, "head.predict");
  EXPECT_EQ(layers.front().name, "backbone.conv1");
}

// Two 96x96 images, each with one bright rectangle (the object) on black.
at::Tensor rectangles(const std::vector<Box>& boxes) {
  at::Tensor images = at::zeros({static_cast<int64_t>(boxes.size()), 3, 96, 96});
  for (size_t b = 0; b < boxes.size(); ++b) {
    const Box& r = boxes[b];
    images[b].slice(1, static_cast<int64_t>(r.y), static_cast<int64_t>(r.y + r.h))
        .slice(2, static_cast<int64_t>(r.x), static_cast<int64_t>(r.x + r.w))
        .fill_(1.0);
  }
  return images;
}

TEST(YoloSmall, OverfitsTwoImagesWithOneObjectEach) {
  torch::manual_seed(0);
  // A slim YoloSmall (1 block per stage, half the widths) keeps this to about 2 s; the full one
  // learns as fast per step, 3x slower.
  YoloConfig config;
  config.backbone.blocks_per_stage = {1, 1, 1, 1};
  config.backbone.stage_planes = {8, 16, 32, 64};
  config.head_width = 32;
  auto net = std::make_shared<YoloSmall>(config, ModelOptions{/*num_classes=*/10, /*in_channels=*/3});
  const std::vector<Box> boxes{{16, 24, 30, 20}, {50, 40, 24, 40}};
  const at::Tensor images = rectangles(boxes);
  const DetectionTargets targets = assign_detection_targets({{{boxes[0], 2}}, {{boxes[1], 7}}}, 12, 12);

  torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(0.02).momentum(0.9));
  net->train();
  const double first = detection_loss(net->forward(images), targets).total.item<double>();
  for (int step = 0; step < 50; ++step) {
    sgd.zero_grad();
    detection_loss(net->forward(images), targets).total.backward();
    sgd.step();
  }
  const double last = detection_loss(net->forward(images), targets).total.item<double>();
  EXPECT_LT(last, first / 5) << "first " << first << ", last " << last;
}

}  // namespace
}  // namespace bnrecal

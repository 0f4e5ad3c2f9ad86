// YOLO target assignment and loss (train/detection_targets.h): the responsible cell and box targets
// of hand-placed boxes, the rule for two centres in one cell, loss values computed by hand, the loss
// falling as the raw map moves toward its targets, and the round trip targets -> the perfect raw map
// -> decode_detections giving back the ground-truth boxes.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "bnrecal/eval/box_decoding.h"
#include "bnrecal/train/detection_targets.h"

namespace bnrecal {
namespace {

constexpr double kLog2 = 0.69314718055994531;

// The raw map a perfect model would give: objectness +-20 (sigmoid 1 - 2e-9 or 2e-9), offsets through
// the inverse sigmoid (clamped off 0 and 1, where it is infinite: 1e-6 cells = 8e-6 px), sizes as they
// are, and the true class's logit 20 above the others.
at::Tensor perfect_map(const DetectionTargets& t, int64_t classes) {
  const at::Tensor positive = t.objectness.unsqueeze(1);  // [B, 1, h, w]
  const at::Tensor objectness = positive * 40.0 - 20.0;
  const at::Tensor offsets = at::logit(t.boxes.slice(1, 0, 2).clamp(1e-6, 1 - 1e-6));
  const at::Tensor sizes = t.boxes.slice(1, 2, 4);
  const at::Tensor class_logits =
      at::one_hot(t.classes.clamp_min(0), classes).permute({0, 3, 1, 2}).to(at::kFloat) * 20.0;
  return at::cat({objectness, offsets, sizes, class_logits}, 1);
}

TEST(AssignDetectionTargets, TheCellHoldingTheCentreAnswersForTheBox) {
  // Centre (18, 24): column floor(18 / 8) = 2, row floor(24 / 8) = 3, offsets 0.25 and 0.
  const DetectionTargets t = assign_detection_targets({{{{10, 20, 16, 8}, 3}}}, 12, 12);
  EXPECT_EQ(t.objectness.sizes(), at::IntArrayRef({1, 12, 12}));
  EXPECT_EQ(t.classes.sizes(), at::IntArrayRef({1, 12, 12}));
  EXPECT_EQ(t.boxes.sizes(), at::IntArrayRef({1, 4, 12, 12}));
  EXPECT_EQ(t.objectness.sum().item<float>(), 1.0f);
  EXPECT_EQ(t.objectness[0][3][2].item<float>(), 1.0f);
  EXPECT_EQ(t.classes[0][3][2].item<int64_t>(), 3);
  EXPECT_EQ(t.classes.eq(-1).sum().item<int64_t>(), 143);
  EXPECT_FLOAT_EQ(t.boxes[0][0][3][2].item<float>(), 0.25f);
  EXPECT_FLOAT_EQ(t.boxes[0][1][3][2].item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(t.boxes[0][2][3][2].item<float>(), static_cast<float>(std::log(16.0 / 32)));
  EXPECT_FLOAT_EQ(t.boxes[0][3][3][2].item<float>(), static_cast<float>(std::log(8.0 / 32)));
  EXPECT_EQ(t.boxes.abs().sum().item<float>(), t.boxes.select(3, 2).select(2, 3).abs().sum().item<float>());
}

TEST(AssignDetectionTargets, TheSmallerBoxWinsASharedCellAndEqualAreasTheEarlier) {
  // Both centred at (18, 28), cell (3, 2).
  const GroundTruthBox big{{2, 12, 32, 32}, 1}, small{{14, 24, 8, 8}, 5};
  EXPECT_EQ(assign_detection_targets({{big, small}}, 12, 12).classes[0][3][2].item<int64_t>(), 5);
  EXPECT_EQ(assign_detection_targets({{small, big}}, 12, 12).classes[0][3][2].item<int64_t>(), 5);
  const GroundTruthBox twin{{14, 24, 8, 8}, 7};
  EXPECT_EQ(assign_detection_targets({{small, twin}}, 12, 12).classes[0][3][2].item<int64_t>(), 5);
  EXPECT_EQ(assign_detection_targets({{twin, small}}, 12, 12).classes[0][3][2].item<int64_t>(), 7);
  EXPECT_EQ(assign_detection_targets({{big, small}}, 12, 12).objectness.sum().item<float>(), 1.0f);
}

TEST(AssignDetectionTargets, SkipsEmptyBoxesAndRejectsBadOnes) {
  EXPECT_EQ(assign_detection_targets({{{{10, 10, 0, 5}, 1}}, {}}, 12, 12).objectness.sum().item<float>(), 0.0f);
  // A centre on the far edge (x = 96) belongs to the last column, offset 1.
  const DetectionTargets edge = assign_detection_targets({{{{90, 0, 12, 8}, 1}}}, 12, 12);
  EXPECT_EQ(edge.classes[0][0][11].item<int64_t>(), 1);
  EXPECT_FLOAT_EQ(edge.boxes[0][0][0][11].item<float>(), 1.0f);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(assign_detection_targets({{{{10, 10, 5, 5}, -1}}}, 12, 12), std::invalid_argument);
  EXPECT_THROW(assign_detection_targets({{{{nan, 10, 5, 5}, 0}}}, 12, 12), std::invalid_argument);
  EXPECT_THROW(assign_detection_targets({{{{10, 10, -5, 5}, 0}}}, 12, 12), std::invalid_argument);
  EXPECT_THROW(assign_detection_targets({{{{95, 10, 5, 5}, 0}}}, 12, 12), std::invalid_argument);  // cx 97.5
  EXPECT_THROW(assign_detection_targets({{}}, 0, 12), std::invalid_argument);
}

TEST(DetectionLoss, MatchesHandComputedValues) {
  // A 1x2 grid, 2 classes, a zero map: every objectness BCE is log 2, the class CE log 2, every
  // sigmoid offset 0.5 and every size 32 px.
  const at::Tensor zero = at::zeros({1, 7, 1, 2}, at::TensorOptions().requires_grad(true));
  // Box centred in cell 0 at offsets (0.5, 0.5), 32 x 32: nothing to correct in the box.
  DetectionLoss loss = detection_loss(zero, assign_detection_targets({{{{-12, -12, 32, 32}, 1}}}, 1, 2));
  EXPECT_NEAR(loss.objectness.item<double>(), 2 * kLog2 * kObjectnessWeight, 1e-6);
  EXPECT_NEAR(loss.classification.item<double>(), kLog2 * kClassWeight, 1e-6);
  EXPECT_NEAR(loss.box.item<double>(), 0.0, 1e-7);
  EXPECT_NEAR(loss.total.item<double>(), 3 * kLog2, 1e-6);

  // Centre (2, 4): offsets (0.25, 0.5); 64 x 32: tw = log 2, past the smooth L1's quadratic part, so
  // log 2 - beta / 2. A second, empty image halves every per-image sum and adds 2 empty cells.
  const at::Tensor zeros2 = at::zeros({2, 7, 1, 2});
  loss = detection_loss(zeros2, assign_detection_targets({{{{-30, -12, 64, 32}, 0}}, {}}, 1, 2));
  const double box = 0.25 * 0.25 * kOffsetWeight + (kLog2 - kSizeBeta / 2) * kSizeWeight;
  EXPECT_NEAR(loss.objectness.item<double>(), 4 * kLog2 / 2, 1e-6);
  EXPECT_NEAR(loss.classification.item<double>(), kLog2 / 2, 1e-6);
  EXPECT_NEAR(loss.box.item<double>(), box / 2, 1e-6);
  EXPECT_NEAR(loss.total.item<double>(), (5 * kLog2 + box) / 2, 1e-6);
}

TEST(DetectionLoss, IsOnlyObjectnessWithoutObjects) {
  const DetectionLoss loss = detection_loss(at::zeros({2, 7, 3, 3}), assign_detection_targets({{}, {}}, 3, 3));
  EXPECT_NEAR(loss.objectness.item<double>(), 9 * kLog2, 1e-6);
  EXPECT_EQ(loss.classification.item<double>(), 0.0);
  EXPECT_EQ(loss.box.item<double>(), 0.0);
}

TEST(DetectionLoss, FallsAsTheMapMovesTowardItsTargets) {
  const DetectionTargets t = assign_detection_targets(
      {{{{10, 20, 16, 8}, 3}, {{60, 50, 30, 40}, 0}}, {{{47, 33, 49, 49}, 9}}}, 12, 12);
  const at::Tensor target = perfect_map(t, 10);
  at::manual_seed(0);
  const at::Tensor start = at::randn(target.sizes()) * 2;
  double previous = std::numeric_limits<double>::infinity();
  for (double a : {0.0, 0.25, 0.5, 0.75, 1.0}) {
    const double loss = detection_loss(start * (1 - a) + target * a, t).total.item<double>();
    EXPECT_LT(loss, previous) << "at " << a;
    previous = loss;
  }
  EXPECT_LT(previous, 1e-3);  // the perfect map: only the clamped offsets' and the 2e-9 probabilities' residue

  // One gradient step from the random map lowers it too: the loss is differentiable through every part.
  const at::Tensor raw = start.clone().requires_grad_(true);
  const DetectionLoss loss = detection_loss(raw, t);
  loss.total.backward();
  ASSERT_TRUE(raw.grad().defined());
  EXPECT_TRUE(raw.grad().isfinite().all().item<bool>());
  EXPECT_GT(raw.grad().select(1, 3).abs().sum().item<double>(), 0.0);  // tw reaches its gradient
  EXPECT_LT(detection_loss(start - 0.01 * raw.grad(), t).total.item<double>(), loss.total.item<double>());
}

TEST(DetectionLoss, RejectsMismatchedTargets) {
  const DetectionTargets t = assign_detection_targets({{{{10, 20, 16, 8}, 3}}}, 12, 12);
  EXPECT_THROW(detection_loss(at::zeros({1, 7, 12, 12}), t), std::invalid_argument);   // 2 classes, index 3
  EXPECT_THROW(detection_loss(at::zeros({1, 15, 6, 12}), t), std::invalid_argument);   // grid
  EXPECT_THROW(detection_loss(at::zeros({2, 15, 12, 12}), t), std::invalid_argument);  // batch
  EXPECT_THROW(detection_loss(at::zeros({1, 5, 12, 12}), t), std::invalid_argument);   // no class channel
}

TEST(DetectionTargetsRoundTrip, ThePerfectMapDecodesToTheGroundTruth) {
  // Both images 96x96 (a 12x12 grid); distinct classes per image so each box is found by category.
  // {60, 4, 24, 8} has its centre (72, 8) on a cell corner: offsets 0; {88, 90, 8, 6} touches the
  // far corner; {47, 33, 49, 49} is the largest fashion-scatter item.
  const std::vector<std::vector<GroundTruthBox>> truth{
      {{{10, 20, 16, 8}, 3}, {{60, 50, 30, 40}, 0}, {{0, 0, 21, 21}, 9}, {{60, 4, 24, 8}, 4}},
      {{{47, 33, 49, 49}, 5}, {{88, 90, 8, 6}, 1}}};
  const DetectionTargets t = assign_detection_targets(truth, 12, 12);
  const std::vector<Detection> found = decode_detections(perfect_map(t, 10), {}, {100, 200});
  ASSERT_EQ(found.size(), 6u);
  for (size_t b = 0; b < truth.size(); ++b) {
    for (const GroundTruthBox& want : truth[b]) {
      int matches = 0;
      for (const Detection& d : found) {
        if (d.image_id != (b == 0 ? 100 : 200) || d.category_id != want.class_index + 1) continue;
        ++matches;
        EXPECT_GT(d.score, 0.999);
        EXPECT_NEAR(d.box.x, want.box.x, 1e-4);
        EXPECT_NEAR(d.box.y, want.box.y, 1e-4);
        EXPECT_NEAR(d.box.w, want.box.w, 1e-4);
        EXPECT_NEAR(d.box.h, want.box.h, 1e-4);
      }
      EXPECT_EQ(matches, 1) << "image " << b << ", class " << want.class_index;
    }
  }
}

}  // namespace
}  // namespace bnrecal

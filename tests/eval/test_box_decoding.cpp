// Decoding a YOLO-style raw map into COCO detections (eval/box_decoding.h): IoU and greedy NMS on
// hand-made boxes (overlapping pairs, equal scores, an IoU equal to the threshold, categories), a
// hand-built map whose one box and two scores are computed in the comments, the options, and maps
// holding NaN and inf (a badly perturbed model) that must decode without throwing.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "bnrecal/eval/box_decoding.h"

namespace bnrecal {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

void expect_box(const Box& got, const Box& want, double tolerance = 1e-5) {
  EXPECT_NEAR(got.x, want.x, tolerance);
  EXPECT_NEAR(got.y, want.y, tolerance);
  EXPECT_NEAR(got.w, want.w, tolerance);
  EXPECT_NEAR(got.h, want.h, tolerance);
}

TEST(BoxIou, IsIntersectionOverUnion) {
  // Half-shifted: intersection 5 x 10 = 50, union 100 + 100 - 50 = 150.
  EXPECT_DOUBLE_EQ(box_iou({0, 0, 10, 10}, {5, 0, 10, 10}), 1.0 / 3);
  EXPECT_DOUBLE_EQ(box_iou({0, 0, 10, 10}, {2, 2, 5, 5}), 0.25);  // contained: 25 / 100
  EXPECT_DOUBLE_EQ(box_iou({0, 0, 10, 10}, {0, 0, 10, 10}), 1.0);
  EXPECT_DOUBLE_EQ(box_iou({0, 0, 10, 10}, {10, 0, 10, 10}), 0.0);  // touching edges
  EXPECT_DOUBLE_EQ(box_iou({3, 3, 0, 0}, {3, 3, 0, 0}), 0.0);       // empty union
}

TEST(NonMaximumSuppression, KeepsTheBestOfEachOverlappingPairBestFirst) {
  // a-b overlap with IoU 90 / 110, c-d with 81 / 119; the pairs do not touch.
  const std::vector<Box> boxes{{0, 0, 10, 10}, {1, 0, 10, 10}, {20, 0, 10, 10}, {21, 1, 10, 10}};
  const std::vector<double> scores{0.9, 0.8, 0.7, 0.95};
  EXPECT_EQ(non_maximum_suppression(boxes, scores, 0.5), (std::vector<size_t>{3, 0}));
  // Above both IoUs nothing is suppressed; the order is still by score.
  EXPECT_EQ(non_maximum_suppression(boxes, scores, 0.9), (std::vector<size_t>{3, 0, 1, 2}));
}

TEST(NonMaximumSuppression, EqualScoresKeepInputOrder) {
  const Box a{0, 0, 10, 10}, far{50, 50, 10, 10};
  EXPECT_EQ(non_maximum_suppression({a, a, far}, {0.5, 0.5, 0.5}, 0.5), (std::vector<size_t>{0, 2}));
  EXPECT_EQ(non_maximum_suppression({far, a, a}, {0.5, 0.5, 0.5}, 0.5), (std::vector<size_t>{0, 1}));
  EXPECT_EQ(non_maximum_suppression({a, far, {100, 0, 5, 5}}, {0.5, 0.7, 0.5}, 0.5),
            (std::vector<size_t>{1, 0, 2}));
}

TEST(NonMaximumSuppression, AnIouEqualToTheThresholdDoesNotSuppress) {
  const std::vector<Box> boxes{{0, 0, 10, 10}, {5, 0, 10, 10}};  // IoU exactly 1/3
  EXPECT_EQ(non_maximum_suppression(boxes, {0.9, 0.8}, 1.0 / 3), (std::vector<size_t>{0, 1}));
  EXPECT_EQ(non_maximum_suppression(boxes, {0.9, 0.8}, 0.3), (std::vector<size_t>{0}));
}

TEST(NonMaximumSuppression, CategoriesDoNotSuppressEachOther) {
  const std::vector<Box> boxes{{0, 0, 10, 10}, {1, 0, 10, 10}, {0, 1, 10, 10}};
  const std::vector<double> scores{0.6, 0.9, 0.5};
  // Category 1: boxes 0 and 2 (IoU 90 / 110), category 2: box 1 alone.
  EXPECT_EQ(non_maximum_suppression(boxes, scores, {1, 2, 1}, 0.5), (std::vector<size_t>{1, 0}));
  EXPECT_EQ(non_maximum_suppression(boxes, scores, 0.5), (std::vector<size_t>{1}));
}

TEST(NonMaximumSuppression, NeverKeepsANaNScoreAndChecksSizes) {
  const Box a{0, 0, 10, 10};
  EXPECT_EQ(non_maximum_suppression({a, a}, {kNaN, 0.1}, 0.5), (std::vector<size_t>{1}));
  EXPECT_THROW(non_maximum_suppression({a, a}, {0.1}, 0.5), std::invalid_argument);
  EXPECT_THROW(non_maximum_suppression({a}, {0.1}, {1, 2}, 0.5), std::invalid_argument);
}

// A 2x3 grid (16x24 px at stride 8), 2 classes. Every cell has objectness logit -20 (score < 1e-8,
// under any threshold) except cell (1, 2): objectness 0 -> 0.5; tx 0 -> centre x (2 + 0.5) * 8 = 20;
// ty log 3 -> sigmoid 0.75, centre y (1 + 0.75) * 8 = 14; tw log 0.5 -> 0.5 * 32 = 16 px; th 0 -> 32 px;
// class logits 0, log 3 -> softmax 0.25, 0.75. Box x 12..28, y -2..30, clipped to the 24x16 image:
// x 12..24, y 0..16, i.e. {12, 0, 12, 16}. Scores 0.5 * 0.75 = 0.375 (category 2), 0.125 (category 1).
at::Tensor one_box_map() {
  at::Tensor raw = at::zeros({1, 7, 2, 3});
  raw.select(1, 0).fill_(-20.0);
  raw[0][0][1][2] = 0.0;
  raw[0][2][1][2] = std::log(3.0);
  raw[0][3][1][2] = std::log(0.5);
  raw[0][6][1][2] = std::log(3.0);
  return raw;
}

TEST(DecodeDetections, DecodesAHandBuiltCell) {
  const std::vector<Detection> d = decode_detections(one_box_map(), {}, {42});
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].image_id, 42);
  EXPECT_EQ(d[0].category_id, 2);
  EXPECT_NEAR(d[0].score, 0.375, 1e-6);
  expect_box(d[0].box, {12, 0, 12, 16});
  EXPECT_EQ(d[1].category_id, 1);
  EXPECT_NEAR(d[1].score, 0.125, 1e-6);
  expect_box(d[1].box, {12, 0, 12, 16});
}

TEST(DecodeDetections, AppliesThresholdNmsModeCapAndImageSize) {
  DecodeOptions o;
  o.score_threshold = 0.2;
  ASSERT_EQ(decode_detections(one_box_map(), o, {1}).size(), 1u);
  o = {};
  o.class_agnostic = true;  // the same box twice: IoU 1
  ASSERT_EQ(decode_detections(one_box_map(), o, {1}).size(), 1u);
  EXPECT_EQ(decode_detections(one_box_map(), o, {1})[0].category_id, 2);
  o = {};
  o.max_per_image = 1;
  EXPECT_EQ(decode_detections(one_box_map(), o, {1}).size(), 1u);
  o = {};
  o.image_width = o.image_height = 100;  // x 12..28 fits now; y still starts above the image
  expect_box(decode_detections(one_box_map(), o, {1})[0].box, {12, 0, 16, 30});
  o = {};
  o.stride = 16;  // every length doubles; the image is 32x48
  expect_box(decode_detections(one_box_map(), o, {1})[0].box, {24, 0, 24, 32});
}

TEST(DecodeDetections, KeepsImagesInBatchOrderAndChecksIds) {
  const at::Tensor raw = at::cat({one_box_map(), one_box_map()});
  const std::vector<Detection> d = decode_detections(raw, {}, {9, 7});
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d[0].image_id, 9);
  EXPECT_EQ(d[3].image_id, 7);
  EXPECT_THROW(decode_detections(raw, {}, {9}), std::invalid_argument);
  EXPECT_THROW(decode_detections(at::zeros({1, 5, 2, 2}), {}, {1}), std::invalid_argument);  // no class
  EXPECT_THROW(decode_detections(at::zeros({5, 2, 2}), {}, {1}), std::invalid_argument);
}

TEST(DecodeDetections, SurvivesNaNAndInfinity) {
  // A 2x2 grid (16x16 px), 2 classes, every cell confident (objectness 5, class logits 2, 0), each
  // broken in its own way.
  at::Tensor raw = at::zeros({1, 7, 2, 2}, at::kDouble);
  raw.select(1, 0).fill_(5.0);
  raw.select(1, 5).fill_(2.0);
  raw[0][0][0][0] = kNaN;                    // NaN objectness: no detection
  raw[0][6][0][1] = kNaN;                    // a NaN class logit: no detection
  raw[0][3][1][0] = kInf;                    // infinite width: clamped, clipped, kept
  raw[0][1][1][0] = -kInf;                   // centre at the cell's left edge: finite, kept
  raw[0][5][1][1] = raw[0][6][1][1] = kInf;  // inf - inf in the softmax: no detection
  std::vector<Detection> d;
  ASSERT_NO_THROW(d = decode_detections(raw, {}, {1}));
  ASSERT_EQ(d.size(), 2u);  // cell (1, 0), both classes
  for (const Detection& det : d) {
    EXPECT_TRUE(std::isfinite(det.score));
    // Centre x 0, width exp(6) * 32: the clipped box spans x 0..16; centre y 12, height 32: y 0..16.
    expect_box(det.box, {0, 0, 16, 16});
  }
  EXPECT_TRUE(decode_detections(at::full({2, 7, 2, 2}, kNaN), {}, {1, 2}).empty());
}

}  // namespace
}  // namespace bnrecal

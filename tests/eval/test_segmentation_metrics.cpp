// The VOC segmentation scores on hand-counted cases: perfect prediction, a two-class case with known
// TP/FP/FN, ignored pixels, which classes mIoU averages over, bad labels, and the bootstrap and
// paired standard errors in the cases where they must vanish.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

#include "bnrecal/core/error.h"
#include "bnrecal/eval/segmentation_metrics.h"

namespace bnrecal {
namespace {

using Labels = std::vector<uint8_t>;

TEST(SegmentationMetrics, PerfectPredictionScoresOne) {
  SegmentationConfusion c(3);
  c.add(Labels{0, 1, 2, 2}, Labels{0, 1, 2, 2});
  c.add(Labels{1, 1}, Labels{1, 1});
  const SegmentationScores s = c.scores();
  EXPECT_EQ(s.images, 2);
  EXPECT_EQ(s.pixels, 6);
  EXPECT_EQ(s.present_classes, 3);
  EXPECT_DOUBLE_EQ(s.mean_iou, 1.0);
  EXPECT_DOUBLE_EQ(s.pixel_accuracy, 1.0);
  EXPECT_DOUBLE_EQ(s.mean_class_accuracy, 1.0);
}

TEST(SegmentationMetrics, TwoClassesWithKnownTruePositivesFalsePositivesAndFalseNegatives) {
  SegmentationConfusion c(2);
  // target     0 0 0 0 1 1 1 1 1 1
  // prediction 0 0 0 1 1 1 1 1 0 0
  // class 0: TP 3 (pixels 0-2), FP 2 (8, 9), FN 1 (3) -> IoU 3/6
  // class 1: TP 4 (4-7),        FP 1 (3),    FN 2 (8, 9) -> IoU 4/7
  c.add(Labels{0, 0, 0, 1, 1, 1, 1, 1, 0, 0}, Labels{0, 0, 0, 0, 1, 1, 1, 1, 1, 1});
  const SegmentationScores s = c.scores();
  EXPECT_DOUBLE_EQ(s.class_iou[0], 3.0 / 6.0);
  EXPECT_DOUBLE_EQ(s.class_iou[1], 4.0 / 7.0);
  EXPECT_DOUBLE_EQ(s.mean_iou, (3.0 / 6.0 + 4.0 / 7.0) / 2.0);
  EXPECT_DOUBLE_EQ(s.pixel_accuracy, 7.0 / 10.0);                    // 3 + 4 right of 10
  EXPECT_DOUBLE_EQ(s.mean_class_accuracy, (3.0 / 4.0 + 4.0 / 6.0) / 2.0);  // TP / labelled
  // matrix[t * 2 + p]: 3 (0->0), 1 (0->1), 2 (1->0), 4 (1->1).
  EXPECT_EQ(c.matrix(), (std::vector<int64_t>{3, 1, 2, 4}));
}

TEST(SegmentationMetrics, IgnoredPixelsCountNowhere) {
  SegmentationConfusion with_ignored(2), without(2);
  // The ignored pixels' predictions (1, 0, and even 7, not a class) must change nothing.
  with_ignored.add(Labels{0, 1, 1, 7, 0}, Labels{0, 255, 1, 255, 255});
  without.add(Labels{0, 1}, Labels{0, 1});
  const SegmentationScores s = with_ignored.scores();
  EXPECT_EQ(s.pixels, 2);
  EXPECT_DOUBLE_EQ(s.pixel_accuracy, 1.0);
  EXPECT_DOUBLE_EQ(s.mean_iou, 1.0);
  EXPECT_EQ(with_ignored.matrix(), without.matrix());
  // Another ignore label, with int64 labels (e.g. -1 for "unlabelled").
  SegmentationConfusion minus_one(2, -1);
  minus_one.add(std::vector<int64_t>{0, 1, 0}, std::vector<int64_t>{0, -1, 1});
  EXPECT_EQ(minus_one.scores().pixels, 2);  // class 1: FN 1 -> IoU 0; class 0: TP 1, FP 1 -> 1/2
  EXPECT_DOUBLE_EQ(minus_one.scores().mean_iou, 0.25);
}

TEST(SegmentationMetrics, AbsentClassesAreLeftOutOfTheMeanButPredictedOnesCountWithZero) {
  // Class 2 occurs nowhere: left out. Class 3 is only predicted (FP 1, TP 0): IoU 0, included.
  // class 0: TP 2, FN 1 (pixel 2 predicted 3) -> 2/3;  class 1: TP 1 -> 1.
  SegmentationConfusion c(4);
  c.add(Labels{0, 0, 3, 1}, Labels{0, 0, 0, 1});
  const SegmentationScores s = c.scores();
  EXPECT_EQ(s.present_classes, 3);
  EXPECT_TRUE(std::isnan(s.class_iou[2]));
  EXPECT_DOUBLE_EQ(s.class_iou[3], 0.0);
  EXPECT_DOUBLE_EQ(s.mean_iou, (2.0 / 3.0 + 1.0 + 0.0) / 3.0);
  // Mean class accuracy averages over the labelled classes only (0 and 1): (2/3 + 1) / 2.
  EXPECT_DOUBLE_EQ(s.mean_class_accuracy, (2.0 / 3.0 + 1.0) / 2.0);
  const nlohmann::json j = s.to_json();
  EXPECT_TRUE(j["class_iou"][2].is_null());
  EXPECT_DOUBLE_EQ(j["class_iou"][3].get<double>(), 0.0);
}

TEST(SegmentationMetrics, LabelsOutsideTheClassesAreErrorsThatLeaveTheCountsAlone) {
  SegmentationConfusion c(21);
  c.add(Labels{1}, Labels{1});
  try {
    c.add(Labels{0, 0}, Labels{0, 21});
    FAIL() << "no error for ground-truth label 21";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("ground-truth label 21"), std::string::npos) << e.what();
  }
  try {
    c.add(Labels{0, 30}, Labels{0, 1});
    FAIL() << "no error for predicted label 30";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("predicted label 30"), std::string::npos) << e.what();
  }
  EXPECT_THROW(c.add(std::vector<int64_t>{0}, std::vector<int64_t>{-3}), InputError);
  EXPECT_THROW(c.add(Labels{0, 1}, Labels{0}), std::invalid_argument);
  EXPECT_EQ(c.images(), 1);
  EXPECT_EQ(c.scores().pixels, 1);
}

TEST(SegmentationMetrics, BootstrapErrorVanishesWhenEveryImageIsTheSame) {
  SegmentationConfusion c(3);
  for (int i = 0; i < 20; ++i) c.add(Labels{0, 1, 1, 2, 0}, Labels{0, 1, 2, 2, 2});
  const SegmentationEstimate e = bootstrap_segmentation(c, 200, 7);
  EXPECT_NEAR(e.mean_iou_stderr, 0.0, 1e-12);
  EXPECT_NEAR(e.pixel_accuracy_stderr, 0.0, 1e-12);
  EXPECT_DOUBLE_EQ(e.scores.pixel_accuracy, 3.0 / 5.0);
  EXPECT_THROW(bootstrap_segmentation(c, 1, 7), std::invalid_argument);
}

TEST(SegmentationMetrics, BootstrapErrorIsPositiveAndDeterministicForDifferingImages) {
  SegmentationConfusion c(2);
  for (int i = 0; i < 30; ++i) c.add(Labels{0, 1, static_cast<uint8_t>(i % 3 == 0)}, Labels{0, 1, 1});
  const SegmentationEstimate e = bootstrap_segmentation(c, 100, 3);
  EXPECT_GT(e.mean_iou_stderr, 0.0);
  EXPECT_GT(e.pixel_accuracy_stderr, 0.0);
  EXPECT_EQ(bootstrap_segmentation(c, 100, 3).to_json(), e.to_json());
  EXPECT_NE(bootstrap_segmentation(c, 100, 4).mean_iou_stderr, e.mean_iou_stderr);
}

TEST(SegmentationMetrics, PairedErrorIsZeroForIdenticalPredictionsAndPositiveOtherwise) {
  SegmentationConfusion a(2), same(2), better(2);
  for (int i = 0; i < 30; ++i) {
    const Labels target{0, 0, 1, 1}, wrong_on_some{0, static_cast<uint8_t>(i % 3 == 0), 1, 1};
    a.add(wrong_on_some, target);
    same.add(wrong_on_some, target);
    better.add(i % 2 ? target : wrong_on_some, target);  // fixes the odd images' mistakes
  }
  const PairedSegmentation none = compare_segmentation(a, same);
  EXPECT_EQ(none.mean_iou_difference, 0.0);
  EXPECT_EQ(none.mean_iou_stderr, 0.0);
  EXPECT_EQ(none.pixel_accuracy_stderr, 0.0);
  const PairedSegmentation gain = compare_segmentation(a, better);
  // a misses 10 pixels of 120 (images 0, 3, ..., 27); better only the 5 in even images.
  EXPECT_NEAR(gain.pixel_accuracy_difference, 5.0 / 120.0, 1e-12);
  EXPECT_GT(gain.mean_iou_difference, 0.0);
  EXPECT_GT(gain.mean_iou_stderr, 0.0);
  EXPECT_GT(gain.pixel_accuracy_stderr, 0.0);
  EXPECT_EQ(gain.to_json()["resamples"], 200);
  // Different ground truth: not a paired comparison.
  SegmentationConfusion other(2);
  for (int i = 0; i < 30; ++i) other.add(Labels{0, 0, 1, 1}, Labels{0, 1, 1, 1});
  EXPECT_THROW(compare_segmentation(a, other), std::invalid_argument);
}

}  // namespace
}  // namespace bnrecal

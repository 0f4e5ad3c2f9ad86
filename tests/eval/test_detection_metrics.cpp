// The COCO detection metrics on hand-made cases whose curves are derived in the comments, the
// borderline rules (IoU equal to the threshold, ties, crowds, the 100-detection cap, numpy's recall
// points), and the bootstrap against evaluating its resamples as copied images.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

#include "bnrecal/eval/detection_metrics.h"

namespace bnrecal {
namespace {

constexpr double kTol = 1e-12;
// Apart from each other: IoU 0 between any two.
constexpr Box kA{0, 0, 10, 10}, kB{20, 0, 10, 10}, kC{40, 0, 10, 10}, kD{60, 0, 10, 10};

GroundTruth gt(int64_t image, int64_t category, Box box, bool crowd = false) {
  return {image, category, box, crowd, box.w * box.h};
}
Detection det(int64_t image, int64_t category, Box box, double score) {
  return {image, category, box, score};
}

void expect_all(const DetectionMetrics& m, double ap, double ap50, double ap75, double ar100, double ar50) {
  EXPECT_NEAR(m.ap, ap, kTol);
  EXPECT_NEAR(m.ap50, ap50, kTol);
  EXPECT_NEAR(m.ap75, ap75, kTol);
  EXPECT_NEAR(m.ar100, ar100, kTol);
  EXPECT_NEAR(m.ar50, ar50, kTol);
}

TEST(DetectionMetrics, PerfectDetectionsScoreOne) {
  const std::vector<GroundTruth> gts = {gt(1, 1, kA), gt(1, 2, kB), gt(2, 1, kC), gt(2, 1, kD)};
  const std::vector<Detection> dts = {det(1, 1, kA, 0.9), det(1, 2, kB, 0.8), det(2, 1, kC, 0.7),
                                      det(2, 1, kD, 0.6)};
  const DetectionMetrics m = evaluate_detections(gts, dts);
  expect_all(m, 1, 1, 1, 1, 1);
  ASSERT_EQ(m.per_category.size(), 2u);
  EXPECT_EQ(m.per_category[0].category_id, 1);
  EXPECT_EQ(m.per_category[0].ground_truths, 3);
  EXPECT_NEAR(m.per_category[1].ap50, 1, kTol);
  EXPECT_EQ(m.to_json().at("per_category").size(), 2u);
}

TEST(DetectionMetrics, MissedGroundTruthHalvesRecall) {
  // One TP of 2 ground truths: recall 0.5 at precision 1. The points 0, 0.01, ..., 0.5 (51 of them;
  // 50 * 0.01 == 0.5) read 1, the 50 above 0.5 are never reached: AP 51/101 at every threshold.
  const DetectionMetrics m = evaluate_detections({gt(1, 1, kA), gt(2, 1, kA)}, {det(1, 1, kA, 0.9)});
  const double ap = 51.0 / 101;
  expect_all(m, ap, ap, ap, 0.5, 0.5);
}

TEST(DetectionMetrics, DuplicateDetectionIsAFalsePositive) {
  // Ranked TP (0.9), duplicate FP (0.8), TP on image 2 (0.7); 2 ground truths.
  // recall [.5, .5, 1], precision [1, 1/2, 2/3] -> made non-increasing [1, 2/3, 2/3]: points r <= 0.5
  // (51) read 1, the 50 above read 2/3. AP = (51 + 50 * 2/3) / 101; recall 1.
  const std::vector<Detection> dts = {det(1, 1, kA, 0.9), det(1, 1, kA, 0.8), det(2, 1, kB, 0.7)};
  const DetectionMetrics m = evaluate_detections({gt(1, 1, kA), gt(2, 1, kB)}, dts);
  const double ap = (51 + 50 * 2.0 / 3) / 101;
  expect_all(m, ap, ap, ap, 1, 1);
  // Without the duplicate both are found first: AP 1.
  EXPECT_NEAR(evaluate_detections({gt(1, 1, kA), gt(2, 1, kB)}, {dts[0], dts[2]}).ap, 1, kTol);
}

TEST(DetectionMetrics, CrowdRegionAbsorbsDetectionsWithoutFalsePositives) {
  // Two small detections inside a 50x50 crowd: IoU with a crowd is intersection / detection area = 1,
  // so both match it (a crowd can be matched again) and are ignored. Left: the TP on kA. AP 1.
  const Box crowd{100, 100, 50, 50};
  const std::vector<Detection> dts = {det(1, 1, {100, 100, 10, 10}, 0.9), det(1, 1, {120, 120, 10, 10}, 0.8),
                                      det(1, 1, kA, 0.7)};
  const DetectionMetrics m = evaluate_detections({gt(1, 1, kA), gt(1, 1, crowd, true)}, dts);
  expect_all(m, 1, 1, 1, 1, 1);
  EXPECT_EQ(m.per_category[0].ground_truths, 1);  // the crowd is not counted
  // The same region as an ordinary ground truth: IoU 100 / 2500, so FP, FP, then TP of 2:
  // recall [0, 0, .5], precision [0, 0, 1/3] -> 1/3 for the 51 points r <= 0.5. AP 17/101.
  EXPECT_NEAR(evaluate_detections({gt(1, 1, kA), gt(1, 1, crowd)}, dts).ap50, 17.0 / 101, kTol);
}

TEST(DetectionMetrics, OrdinaryGroundTruthIsPreferredToACrowd) {
  // The detection's IoU with kA is 60 / 100 = 0.6, with the crowd (it lies inside) 1. Up to t = 0.6 it
  // takes kA (ordinary first; the scan stops at the ignored crowd once it holds a match): TP. From
  // t = 0.65 only the crowd qualifies: ignored, and kA is missed. AP 1 at 3 of 10 thresholds.
  const DetectionMetrics m =
      evaluate_detections({gt(1, 1, kA), gt(1, 1, {0, 0, 40, 40}, true)}, {det(1, 1, {0, 0, 10, 6}, 0.9)});
  expect_all(m, 0.3, 1, 0, 0.3, 1);
}

TEST(DetectionMetrics, UnmatchedCrowdDoesNotLowerRecall) {
  const DetectionMetrics m = evaluate_detections({gt(1, 1, kA), gt(1, 1, kB, true)}, {det(1, 1, kA, 0.9)});
  expect_all(m, 1, 1, 1, 1, 1);
}

TEST(DetectionMetrics, EqualScoresKeepImageOrderThenInputOrder) {
  // Across images: a TP on one image and an FP on another, both 0.5; 2 ground truths (one missed).
  // TP first: recall [.5, .5], precision [1, .5] -> AP 51/101. FP first: recall [0, .5], precision
  // [0, .5] -> .5 for the 51 points r <= 0.5: AP 25.5/101. The lower image id goes first.
  auto across = [](int64_t tp_image, int64_t fp_image) {
    return evaluate_detections({gt(tp_image, 1, kA), gt(fp_image, 1, kA)},
                               {det(fp_image, 1, kB, 0.5), det(tp_image, 1, kA, 0.5)})
        .ap50;
  };
  EXPECT_NEAR(across(1, 2), 51.0 / 101, kTol);
  EXPECT_NEAR(across(2, 1), 25.5 / 101, kTol);
  // In one image, input order: FP then TP of 1 ground truth: recall [0, 1], precision [0, .5] -> AP
  // .5; TP then FP: AP 1.
  EXPECT_NEAR(evaluate_detections({gt(1, 1, kA)}, {det(1, 1, kB, 0.5), det(1, 1, kA, 0.5)}).ap50, 0.5, kTol);
  EXPECT_NEAR(evaluate_detections({gt(1, 1, kA)}, {det(1, 1, kA, 0.5), det(1, 1, kB, 0.5)}).ap50, 1, kTol);
}

TEST(DetectionMetrics, AtMostTheFirstHundredDetectionsPerImageAndCategory) {
  std::vector<Detection> misses;
  for (int i = 0; i < 100; ++i) misses.push_back(det(1, 1, {20.0 + i, 50, 5, 5}, 0.5));
  // The TP ranks 101st (equal score, last in input order) and is dropped: recall 0, AP 0.
  std::vector<Detection> dts = misses;
  dts.push_back(det(1, 1, kA, 0.5));
  expect_all(evaluate_detections({gt(1, 1, kA)}, dts), 0, 0, 0, 0, 0);
  // A higher score ranks it first: kept, AP 1.
  dts.back().score = 0.6;
  EXPECT_NEAR(evaluate_detections({gt(1, 1, kA)}, dts).ap, 1, kTol);
  // The cap is per category: 100 detections of category 2 leave category 1's alone.
  for (Detection& d : misses) d.category_id = 2;
  misses.push_back(det(1, 1, kA, 0.1));
  EXPECT_NEAR(evaluate_detections({gt(1, 1, kA)}, misses).ap, 1, kTol);
}

TEST(DetectionMetrics, DetectionsOnAnImageWithoutGroundTruthAreFalsePositives) {
  // FP (0.95, image 2) then TP: recall [0, 1], precision [0, .5] -> .5 everywhere: AP .5, recall 1.
  const DetectionMetrics m = evaluate_detections({gt(1, 1, kA)}, {det(1, 1, kA, 0.9), det(2, 1, kA, 0.95)});
  expect_all(m, 0.5, 0.5, 0.5, 1, 1);
}

TEST(DetectionMetrics, CategoriesWithoutGroundTruthAreLeftOut) {
  // Category 1 perfect; category 2 only detections; category 3 only a crowd (ignored) with a
  // detection in it. Neither 2 nor 3 has a non-ignored ground truth: the means are category 1's.
  const std::vector<Detection> dts = {det(1, 1, kA, 0.9), det(1, 2, kB, 0.9), det(1, 3, kC, 0.9)};
  const DetectionMetrics m = evaluate_detections({gt(1, 1, kA), gt(1, 3, kC, true)}, dts);
  expect_all(m, 1, 1, 1, 1, 1);
  ASSERT_EQ(m.per_category.size(), 1u);
  EXPECT_EQ(m.per_category[0].category_id, 1);
  // No category left: -1, as COCO reports it.
  expect_all(evaluate_detections({}, dts), -1, -1, -1, -1, -1);
}

TEST(DetectionMetrics, IouEqualToTheThresholdMatches) {
  // [0, 0, 10, 5] on [0, 0, 10, 10]: IoU 50 / 100 = 0.5 exactly: TP at t = 0.5 only. AP = 1/10.
  expect_all(evaluate_detections({gt(1, 1, kA)}, {det(1, 1, {0, 0, 10, 5}, 0.9)}), 0.1, 1, 0, 0.1, 1);
  // IoU 0.75 exactly: TP at the 6 thresholds 0.5 ... 0.75.
  expect_all(evaluate_detections({gt(1, 1, kA)}, {det(1, 1, {0, 0, 10, 7.5}, 0.9)}), 0.6, 1, 1, 0.6, 1);
  // Just below 0.5: an FP at every threshold.
  expect_all(evaluate_detections({gt(1, 1, kA)}, {det(1, 1, {0, 0, 10, 4.99}, 0.9)}), 0, 0, 0, 0, 0);
}

TEST(DetectionMetrics, HundredAndOnePointInterpolation) {
  // 4 ground truths; ranked TP, FP, TP, FP, TP. recall [.25, .25, .5, .5, .75], precision
  // [1, 1/2, 2/3, 1/2, 3/5] -> non-increasing [1, 2/3, 2/3, 3/5, 3/5]. Each point reads the first
  // detection reaching it: r = 0 ... 0.25 (26 points) -> 1, 0.26 ... 0.5 (25) -> 2/3, 0.51 ... 0.75
  // (25) -> 3/5, 0.76 ... 1 (25) -> 0. AP = (26 + 25 * 2/3 + 25 * 3/5) / 101.
  const std::vector<GroundTruth> gts = {gt(1, 1, kA), gt(1, 1, kB), gt(1, 1, kC), gt(1, 1, kD)};
  const std::vector<Detection> dts = {det(1, 1, kA, 0.9), det(1, 1, {0, 50, 5, 5}, 0.8), det(1, 1, kB, 0.7),
                                      det(1, 1, {20, 50, 5, 5}, 0.6), det(1, 1, kC, 0.5)};
  const double ap = (26 + 25 * 2.0 / 3 + 25 * 3.0 / 5) / 101;
  expect_all(evaluate_detections(gts, dts), ap, ap, ap, 0.75, 0.75);
}

TEST(DetectionMetrics, RecallPointsAreNumpysDoubles) {
  // 7 TPs of 20 ground truths: recall 7/20 = 0.35. numpy's 35th point is 35 * 0.01 =
  // 0.35000000000000003 > 0.35, so only the 35 points 0 ... 0.34 read precision 1: AP 35/101, not 36/101.
  std::vector<GroundTruth> gts;
  std::vector<Detection> dts;
  for (int i = 0; i < 20; ++i) {
    const Box b{20.0 * i, 0, 10, 10};
    gts.push_back(gt(1, 1, b));
    if (i < 7) dts.push_back(det(1, 1, b, 0.9 - 0.01 * i));
  }
  EXPECT_NEAR(evaluate_detections(gts, dts).ap50, 35.0 / 101, kTol);
}

TEST(DetectionMetrics, ReadsTheFilesStructures) {
  CocoInstances instances;
  instances.annotations.push_back({7, 1, 3, kA, true, 42});
  CocoResults results;
  results.results.push_back({1, 3, kB, 0.25});
  const std::vector<GroundTruth> gts = ground_truths_of(instances);
  ASSERT_EQ(gts.size(), 1u);
  EXPECT_EQ(gts[0].category_id, 3);
  EXPECT_TRUE(gts[0].iscrowd);
  EXPECT_EQ(gts[0].area, 42);
  const std::vector<Detection> dts = detections_of(results);
  ASSERT_EQ(dts.size(), 1u);
  EXPECT_EQ(dts[0].box.x, 20);
  EXPECT_EQ(dts[0].score, 0.25);
}

TEST(DetectionMetrics, NonFiniteScoreIsRefused) {
  EXPECT_THROW(evaluate_detections({gt(1, 1, kA)}, {det(1, 1, kA, std::nan(""))}), std::invalid_argument);
}

// Images 1..5 of varied difficulty, with equal scores inside an image and across images, an image
// with only a false positive (4) and one with nothing (5).
struct Varied {
  std::vector<int64_t> images = {5, 4, 3, 2, 1};
  std::vector<GroundTruth> gts = {gt(1, 1, kA), gt(1, 1, kB), gt(2, 1, kA), gt(3, 1, kA), gt(3, 2, kC)};
  std::vector<Detection> dts = {
      det(1, 1, kA, 0.8), det(1, 1, kD, 0.8), det(1, 1, kB, 0.3), det(2, 1, {0, 0, 10, 7}, 0.8),
      det(3, 2, kC, 0.6), det(3, 1, kD, 0.7), det(4, 1, kA, 0.9)};
};

TEST(DetectionBootstrap, IdenticalImagesHaveNoSpread) {
  // Every resample is 5 copies of the same image: the same metric each time.
  std::vector<GroundTruth> gts;
  std::vector<Detection> dts;
  for (int64_t image = 1; image <= 5; ++image) {
    gts.push_back(gt(image, 1, kA));
    dts.push_back(det(image, 1, kA, 0.9));
    dts.push_back(det(image, 1, kB, 0.3));
  }
  const DetectionEstimate e = bootstrap_detections({1, 2, 3, 4, 5}, gts, dts);
  EXPECT_EQ(e.resamples, 200);
  EXPECT_EQ(e.metrics.ap50, evaluate_detections(gts, dts).ap50);
  EXPECT_NEAR(e.ap50_stderr, 0, kTol);
  EXPECT_NEAR(e.ap_stderr, 0, kTol);
  EXPECT_NEAR(e.ar50_stderr, 0, kTol);
}

TEST(DetectionBootstrap, PairedIdenticalSetsHaveNoDifference) {
  const Varied v;
  const PairedDetection d = compare_detections(v.images, v.gts, v.dts, v.dts);
  EXPECT_EQ(d.ap_difference, 0);
  EXPECT_EQ(d.ap_stderr, 0);
  EXPECT_EQ(d.ap50_stderr, 0);
  EXPECT_EQ(d.ar50_stderr, 0);
  EXPECT_GT(bootstrap_detections(v.images, v.gts, v.dts).ap50_stderr, 0.05);
}

// The resamples of the header's definition, built as data: the images sorted by id, draw i of
// resample r is rng() % n, and an image drawn k times becomes k copies with consecutive new ids.
std::vector<std::pair<std::vector<GroundTruth>, std::vector<Detection>>> copied_resamples(
    const Varied& v, const std::vector<Detection>& dts, int resamples, uint64_t seed) {
  std::vector<int64_t> images = v.images;
  std::sort(images.begin(), images.end());
  std::mt19937_64 rng(seed);
  std::vector<std::pair<std::vector<GroundTruth>, std::vector<Detection>>> copies;
  for (int r = 0; r < resamples; ++r) {
    std::vector<int64_t> draws(images.size(), 0);
    for (size_t i = 0; i < images.size(); ++i) ++draws[rng() % images.size()];
    auto& [gts, dts_copied] = copies.emplace_back();
    int64_t id = 0;
    for (size_t i = 0; i < images.size(); ++i) {
      for (int64_t k = 0; k < draws[i]; ++k, ++id) {
        for (GroundTruth g : v.gts) {
          if (g.image_id != images[i]) continue;
          g.image_id = id;
          gts.push_back(g);
        }
        for (Detection d : dts) {
          if (d.image_id != images[i]) continue;
          d.image_id = id;
          dts_copied.push_back(d);
        }
      }
    }
  }
  return copies;
}

double sample_std(const std::vector<double>& x) {
  double mean = 0, squares = 0;
  for (double v : x) mean += v / static_cast<double>(x.size());
  for (double v : x) squares += (v - mean) * (v - mean);
  return std::sqrt(squares / static_cast<double>(x.size() - 1));
}

TEST(DetectionBootstrap, EqualsEvaluatingTheResamplesAsCopiedImages) {
  const Varied v;
  const int resamples = 40;
  const uint64_t seed = 7;
  std::vector<Detection> better = v.dts;
  better[1].score = 0.1;  // image 1's false positive ranked below its true positives
  std::vector<double> ap, ap50, ar50, paired_ap50;
  const auto copies_a = copied_resamples(v, v.dts, resamples, seed);
  const auto copies_b = copied_resamples(v, better, resamples, seed);
  for (size_t r = 0; r < copies_a.size(); ++r) {
    const DetectionMetrics a = evaluate_detections(copies_a[r].first, copies_a[r].second);
    const DetectionMetrics b = evaluate_detections(copies_b[r].first, copies_b[r].second);
    if (a.ap < 0) continue;  // no ground truth drawn
    ap.push_back(a.ap);
    ap50.push_back(a.ap50);
    ar50.push_back(a.ar50);
    paired_ap50.push_back(b.ap50 - a.ap50);
  }
  const DetectionEstimate e = bootstrap_detections(v.images, v.gts, v.dts, resamples, seed);
  EXPECT_EQ(e.resamples, static_cast<int64_t>(ap.size()));
  EXPECT_NEAR(e.ap_stderr, sample_std(ap), kTol);
  EXPECT_NEAR(e.ap50_stderr, sample_std(ap50), kTol);
  EXPECT_NEAR(e.ar50_stderr, sample_std(ar50), kTol);
  const PairedDetection d = compare_detections(v.images, v.gts, v.dts, better, resamples, seed);
  EXPECT_EQ(d.ap50_difference, d.b.ap50 - d.a.ap50);
  EXPECT_NEAR(d.b.ap50, evaluate_detections(v.gts, better).ap50, kTol);
  EXPECT_NEAR(d.ap50_stderr, sample_std(paired_ap50), kTol);
  EXPECT_GT(d.ap50_stderr, 0);
  EXPECT_EQ(d.to_json().at("ap50_stderr"), d.ap50_stderr);
}

TEST(DetectionBootstrap, DeterministicGivenSeedAndCount) {
  const Varied v;
  const DetectionEstimate a = bootstrap_detections(v.images, v.gts, v.dts, 100, 3);
  EXPECT_EQ(a.ap_stderr, bootstrap_detections(v.images, v.gts, v.dts, 100, 3).ap_stderr);
  EXPECT_NE(a.ap_stderr, bootstrap_detections(v.images, v.gts, v.dts, 100, 4).ap_stderr);
}

TEST(DetectionBootstrap, RefusesRepeatedOrMissingImagesAndTooFewResamples) {
  const Varied v;
  EXPECT_THROW(bootstrap_detections({1, 2, 2, 3, 4}, v.gts, v.dts), std::invalid_argument);
  EXPECT_THROW(bootstrap_detections({1, 2, 3}, v.gts, v.dts), std::invalid_argument);  // image 4's detection
  EXPECT_THROW(compare_detections(v.images, v.gts, v.dts, v.dts, 1), std::invalid_argument);
}

}  // namespace
}  // namespace bnrecal

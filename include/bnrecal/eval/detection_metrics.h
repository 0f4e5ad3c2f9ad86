// Object-detection accuracy as the COCO benchmark defines it (pycocotools' COCOeval for boxes), with
// bootstrap standard errors over images and a paired bootstrap for two detectors on the same images.
//
//   bnrecal::CocoInstances gt = bnrecal::read_coco_instances("instances_val2017.json");
//   auto truth = bnrecal::ground_truths_of(gt);
//   auto clean = bnrecal::detections_of(bnrecal::read_coco_results("clean.json", gt));
//   auto noisy = bnrecal::detections_of(bnrecal::read_coco_results("noisy.json", gt));
//   bnrecal::DetectionMetrics m = bnrecal::evaluate_detections(truth, noisy);
//   m.ap;  m.ap50;  m.ar50;                                      // fractions, as COCO prints them
//   bnrecal::PairedDetection d = bnrecal::compare_detections(gt.image_ids(), truth, clean, noisy);
//   d.ap50_difference;  d.ap50_stderr;                           // AP@.5(noisy) - AP@.5(clean)
//
// The definition. Each category is scored on its own and the scores are averaged over categories.
// In one image, a category's detections are ranked by score (highest first, equal scores in input
// order) and all but the first 100 dropped. At an IoU threshold t, the ranked detections are matched
// greedily: each takes the not yet matched ground truth it overlaps most, with IoU >= t, and takes an
// ignored one (a crowd region, or outside the area range) only when no ordinary one qualifies. A
// crowd region's overlap is the intersection over the detection's own area (a detection inside a
// crowd of people is not wrong), and a crowd can take any number of detections. A detection matched
// to an ignored ground truth, or unmatched with its own area outside the range, is ignored: neither
// right nor wrong. The other detections are true positives (matched) or false positives.
// Over all images, the category's detections are ranked by score again (equal scores in image id
// order, then in their image's order); precision and recall after each one trace a curve. Precision
// is made non-increasing (each point takes the best precision at its recall or beyond) and read at
// the 101 recalls 0, 0.01, ..., 1 (at the first detection reaching that recall; 0 past the last
// recall reached). AP is the mean of the 101 values, the category's recall that after its last
// detection. A category without a single non-ignored ground truth has neither and is left out of the
// averages (a metric with no category left is -1, as in COCO). The reported metrics:
//   ap          AP averaged over t = 0.50, 0.55, ..., 0.95 and the categories (COCO's "AP", mAP)
//   ap50, ap75  AP at t = 0.5, 0.75
//   ar100       recall averaged over the 10 thresholds and the categories (COCO's AR, maxDets=100)
//   ar50        recall at t = 0.5 (with ap50 the mAP / mAR at IoU 0.5 that the analog-noise paper
//               reports)
// Only COCO's 'all' area range is evaluated (every gt and detection with an area up to 1e10).
// Borderline cases follow pycocotools to the last bit: an IoU equal to t matches, the thresholds and
// recall points are numpy.linspace's doubles (0.8999999999999999, 0.35000000000000003), and
// precision is tp / (tp + fp + 2^-52).
//
// Uncertainty, by the bootstrap over images: each resample draws as many images as there are, with
// replacement (the n images sorted by id, each draw rng() % n from one std::mt19937_64(seed), so the
// resamples are the same on every platform), and evaluates them as one data set; an image drawn k
// times contributes its ground truths and detections k times, as k separate identical images next
// to each other in image order. The standard error is the sample standard deviation of the metric
// over the resamples (for ap, ap50 and ar50). The paired version scores two detection sets A and B on
// the same ground truth with the same resamples and takes the standard deviation of metric(B) -
// metric(A): what makes an image easy or hard for both cancels (as in paired_accuracy.h), so a small
// difference can be significant although each AP alone is uncertain.
#pragma once
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "bnrecal/data/coco_annotations.h"

namespace bnrecal {

// GroundTruth (one annotated object) is declared in data/coco_annotations.h, beside Box: detection
// data sources (data/detection_source.h) hand it out, and data sits below eval.

struct Detection {
  int64_t image_id = 0, category_id = 0;
  Box box;
  double score = 0;
};

std::vector<GroundTruth> ground_truths_of(const CocoInstances& instances);
std::vector<Detection> detections_of(const CocoResults& results);

// A category with at least one non-ignored ground truth.
struct CategoryAp {
  int64_t category_id = 0;
  int64_t ground_truths = 0;  // non-ignored
  double ap = 0, ap50 = 0;
};

struct DetectionMetrics {
  double ap = -1, ap50 = -1, ap75 = -1, ar100 = -1, ar50 = -1;  // fractions; -1: no category to average
  std::vector<CategoryAp> per_category;                         // by category id
  nlohmann::json to_json() const;
};

// Images are those named by a ground truth or a detection (an image with neither changes nothing).
// std::invalid_argument for a score that is not finite (a model whose outputs overflowed).
DetectionMetrics evaluate_detections(const std::vector<GroundTruth>& ground_truths,
                                     const std::vector<Detection>& detections);

// The metrics on the images as given, with standard errors: the sample standard deviation over
// the resamples. resamples counts those with a metric: one that draws no image with a non-ignored
// ground truth has none (and with no such image at all, every standard error is 0).
struct DetectionEstimate {
  DetectionMetrics metrics;
  double ap_stderr = 0, ap50_stderr = 0, ar50_stderr = 0;
  int64_t resamples = 0;
  uint64_t seed = 0;
  nlohmann::json to_json() const;
};
// image_ids: every evaluated image, each once; images without annotations matter (they are drawn
// too). std::invalid_argument for resamples < 2, a repeated id, or a ground truth or detection on
// an image not listed.
DetectionEstimate bootstrap_detections(const std::vector<int64_t>& image_ids,
                                       const std::vector<GroundTruth>& ground_truths,
                                       const std::vector<Detection>& detections, int resamples = 200,
                                       uint64_t seed = 0);

// B - A for two detection sets on the same ground truth, with the standard error of each difference
// over shared resamples.
struct PairedDetection {
  DetectionMetrics a, b;
  double ap_difference = 0, ap_stderr = 0;
  double ap50_difference = 0, ap50_stderr = 0;
  double ar50_difference = 0, ar50_stderr = 0;
  int64_t resamples = 0;
  uint64_t seed = 0;
  nlohmann::json to_json() const;
};
PairedDetection compare_detections(const std::vector<int64_t>& image_ids,
                                   const std::vector<GroundTruth>& ground_truths,
                                   const std::vector<Detection>& a, const std::vector<Detection>& b,
                                   int resamples = 200, uint64_t seed = 0);

}  // namespace bnrecal

// Evaluation of a YOLO-style detector on a DetectionSource: the model's raw map of each batch decoded
// into boxes (eval/box_decoding.h), every detection named by the source's COCO image and category
// ids, and COCO's AP / AR with bootstrap standard errors over the evaluated images
// (eval/detection_metrics.h).
//
//   auto val = bnrecal::open_coco_detection(root, bnrecal::Split::kTest);
//   bnrecal::DetectionEvalOptions o;  o.batch_size = 16;  o.normalization = card.normalization;
//   bnrecal::DetectionEvalResult r = bnrecal::evaluate_detector(*net, *val, o);
//   r.estimate.metrics.ap50;  r.estimate.ap50_stderr;  r.estimate.metrics.ar50;
//   bnrecal::compare_detections(r.image_ids, bnrecal::ground_truths_on(val->ground_truths(), r.image_ids),
//                               plain.detections, noisy.detections);      // paired, same images
//
// The model must answer [B, 5 + classes, h, w] for the source's classes, with h * stride and
// w * stride the input's height and width (DecodeOptions::stride): decoding places cell (i, j) on
// pixels [i * stride, (i + 1) * stride), so a map of any other extent would put every box in the
// wrong place without an error. Decoded class c (category_id c + 1) becomes the source's c-th
// category id.
//
// Images are read in split order; limit keeps the first N. Streaming calibration
// (recal/streaming_calibration.h) follows the images in that order, as for classification; the
// model's statistics and mode are restored afterwards.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "bnrecal/data/detection_source.h"
#include "bnrecal/eval/box_decoding.h"
#include "bnrecal/eval/detection_metrics.h"
#include "bnrecal/eval/evaluation_pass.h"
#include "bnrecal/nn/network.h"

namespace bnrecal {

struct DetectionEvalOptions : PassOptions {
  DecodeOptions decode{};  // initialized, so `DetectionEvalOptions{pass}` names only the pass
  int bootstrap_resamples = 200;
};

struct DetectionEvalResult {
  std::vector<int64_t> image_ids;    // the evaluated images, in split order
  std::vector<Detection> detections;  // COCO ids; per image in decoding order
  DetectionEstimate estimate;         // on image_ids and their ground truths only
  double seconds = 0, images_per_second = 0;
  nlohmann::json to_json() const;     // the estimate, counts and timing (not every detection)
};

// InputError when the model's output is not [B, 5 + classes, h, w] at the decoding stride.
DetectionEvalResult evaluate_detector(Network& model, const DetectionSource& source,
                                      const DetectionEvalOptions& options);

// The ground truths that lie on the given images: what a subset of a split is scored against.
std::vector<GroundTruth> ground_truths_on(const std::vector<GroundTruth>& ground_truths,
                                          const std::vector<int64_t>& image_ids);

}  // namespace bnrecal

// Evaluation of a segmentation model on a SegmentationSource: every pixel's predicted class (the
// argmax of the model's [B, K, h, w] logits, bilinearly upsampled to the mask's size when smaller,
// as torchvision's FCN does internally) against the mask, into a SegmentationConfusion; mIoU and
// pixel accuracy with bootstrap standard errors over images (eval/segmentation_metrics.h).
//
//   auto val = bnrecal::open_voc_segmentation(root, bnrecal::Split::kTest);
//   bnrecal::SegmentationEvalOptions o;  o.batch_size = 16;  o.normalization = card.normalization;
//   bnrecal::SegmentationEvalResult r = bnrecal::evaluate_segmentation(*net, *val, o);
//   r.estimate.scores.mean_iou;  r.estimate.mean_iou_stderr;
//   bnrecal::compare_segmentation(plain.confusion, noisy.confusion);   // paired, same images
//
// Streaming calibration (recal/streaming_calibration.h) follows the images in split order, as for
// classification; the model's statistics are restored afterwards.
#pragma once
#include <functional>
#include <optional>

#include <nlohmann/json.hpp>

#include "bnrecal/data/segmentation_source.h"
#include "bnrecal/eval/evaluation_pass.h"
#include "bnrecal/eval/segmentation_metrics.h"
#include "bnrecal/nn/network.h"

namespace bnrecal {

struct SegmentationEvalOptions : PassOptions {
  int bootstrap_resamples = 200;
};

struct SegmentationEvalResult {
  SegmentationConfusion confusion;  // per image, for paired comparisons
  SegmentationEstimate estimate;
  double seconds = 0, images_per_second = 0;
  nlohmann::json to_json() const;
};

// InputError when the model's output is not [B, num_classes, h, w] for the source's classes.
SegmentationEvalResult evaluate_segmentation(Network& model, const SegmentationSource& source,
                                             const SegmentationEvalOptions& options);

}  // namespace bnrecal

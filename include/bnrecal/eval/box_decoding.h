// From a YOLO-style head's raw map to COCO detections: decoding each grid cell into a box and class
// scores (models/yolo_box_coding.h), then greedy non-maximum suppression per category, as
// eval/detection_metrics.h expects its input.
//
//   at::Tensor raw = net->forward(images);                    // [B, 5 + C, H / 8, W / 8]
//   std::vector<bnrecal::Detection> dets = bnrecal::decode_detections(raw, {}, {101, 102});
//   bnrecal::DetectionMetrics m = bnrecal::evaluate_detections(truth, dets);
//
// A cell gives one candidate per class c: its decoded box (COCO xywh in input pixels, clipped to the
// image) with score sigmoid(objectness) * softmax(class logits)[c] and category_id c + 1 (the
// fashion-scatter task's ids; COCO has no category 0). A candidate is kept when its score is at least
// score_threshold: 0.01 by default, low, because COCO's AP rewards ranking every plausible box. Then,
// per image, NMS per category (or across categories with class_agnostic) and the max_per_image best.
//
// Order, deterministic: images in batch order; within one, by descending score, equal scores in
// candidate order (cells row by row, then classes). Every tie rule below is "earlier input first".
//
// A badly perturbed model emits NaN and inf. Decoding never throws for them: a candidate whose score
// or box is not a finite number (NaN logits, inf - inf in the softmax) is dropped, as if its score
// were 0; infinite tx, ty, objectness or class logits that still give a finite score and box are kept
// (tw, th are clamped before exp, so an infinite size is the clamp's largest box, clipped).
#pragma once
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "bnrecal/eval/detection_metrics.h"
#include "bnrecal/models/yolo_box_coding.h"

namespace bnrecal {

struct DecodeOptions {
  int64_t stride = yolo::kStride;  // input pixels per grid cell
  double score_threshold = 0.01;
  double nms_iou = 0.5;         // suppress a box overlapping a better kept one with IoU > nms_iou
  int64_t max_per_image = 100;  // COCO evaluates at most 100 per category anyway
  bool class_agnostic = false;  // NMS across categories (one box per object)
  // The image the boxes are clipped to; 0: the grid's extent (grid height * stride, width * stride).
  int64_t image_height = 0, image_width = 0;
};

// Intersection over union of two xywh boxes; 0 when the union is empty (two empty boxes).
double box_iou(const Box& a, const Box& b);

// Greedy NMS: indices of the kept boxes, best score first (equal scores in input order). Going down
// that order, a box is kept unless its IoU with an already kept box is above iou_threshold (an IoU
// equal to the threshold keeps it, as torchvision's nms). A box whose score is NaN is never kept.
// std::invalid_argument when boxes and scores differ in size.
std::vector<size_t> non_maximum_suppression(const std::vector<Box>& boxes, const std::vector<double>& scores,
                                            double iou_threshold);
// The same within each category: boxes of different categories never suppress each other.
std::vector<size_t> non_maximum_suppression(const std::vector<Box>& boxes, const std::vector<double>& scores,
                                            const std::vector<int64_t>& categories, double iou_threshold);

// raw: [B, 5 + C, h, w] (any floating dtype and device; C >= 1), image_ids: B ids, one per image.
// std::invalid_argument for another shape, a count of ids that is not B, or options out of range
// (stride < 1, max_per_image < 0).
std::vector<Detection> decode_detections(const at::Tensor& raw, const DecodeOptions& options,
                                         const std::vector<int64_t>& image_ids);

}  // namespace bnrecal

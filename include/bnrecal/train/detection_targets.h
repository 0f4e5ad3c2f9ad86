// Training a YOLO-style detector (models/yolo.h): which grid cell answers for which ground-truth
// object (target assignment) and the loss of the raw prediction map against those targets.
//
//   std::vector<std::vector<bnrecal::GroundTruthBox>> truth = {{{{10, 20, 16, 8}, 3}}, {}};  // per image
//   bnrecal::DetectionTargets t = bnrecal::assign_detection_targets(truth, 12, 12);
//   bnrecal::DetectionLoss loss = bnrecal::detection_loss(net->forward(images), t);
//   loss.total.backward();
//   log(loss.objectness.item<double>(), loss.classification.item<double>(), loss.box.item<double>());
//
// Assignment (YOLO's): the cell containing a box's centre, cell (floor(cy / s), floor(cx / s)), is
// responsible for it: objectness target 1, its class, and box targets that decode exactly back to the
// box (models/yolo_box_coding.h): tx = cx / s - j and ty = cy / s - i, the centre's offset in the cell,
// in [0, 1) (1 only for a centre on the grid's far edge, which belongs to the last cell);
// tw = log(w / (s * prior)), th = log(h / (s * prior)). Every other cell has objectness 0,
// class -1 and box targets 0 (unused). When several centres fall into one cell, the box of the
// smallest area wins (equal areas: the earlier one), the others get no cell: a large object is big
// enough that neighbouring evidence still shows it, a small one is easily lost (FCOS resolves
// ambiguous locations the same way). Boxes with zero width or height are skipped (there is no size to
// learn; COCO files may contain them).
//
// Loss, per image summed over cells and averaged over the batch (so each object weighs the same
// whether it shares its image with 0 or 4 others):
//   objectness      BCE with logits over every cell                              x kObjectnessWeight
//   classification  cross-entropy of the class logits on responsible cells       x kClassWeight
//   box             on responsible cells: squared error of sigmoid(tx), sigmoid(ty) against the offsets
//                   (x kOffsetWeight) + smooth L1 (beta kSizeBeta) of tw, th against their targets
//                   (x kSizeWeight); tw, th unclamped here, so a prediction past the decoder's clamp
//                   still feels a gradient back
// The reported parts are weighted, and total is their sum.
#pragma once
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "bnrecal/data/detection_source.h"
#include "bnrecal/models/yolo_box_coding.h"

namespace bnrecal {


struct DetectionTargets {
  at::Tensor objectness;  // [B, h, w] float, 1 at responsible cells, else 0
  at::Tensor classes;     // [B, h, w] int64, the class index at responsible cells, else -1
  at::Tensor boxes;       // [B, 4, h, w] float: tx, ty, tw, th at responsible cells, else 0
};

// Objectness is the most frequent signal (every cell, every image); the others count responsible
// cells only. Offsets live in [0, 1], so their squared errors are small next to the logit losses: the
// weight of 5 (YOLOv1's coordinate weight) makes a 0.1-cell centre error cost about as much as a 10%
// size error does through the smooth L1.
constexpr double kObjectnessWeight = 1.0;
constexpr double kClassWeight = 1.0;
constexpr double kOffsetWeight = 5.0;
constexpr double kSizeWeight = 1.0;
constexpr double kSizeBeta = 0.1;  // smooth L1: quadratic below 0.1 (about 10% in size), linear above

// truths: one list per image. std::invalid_argument for a negative class index, a box with a
// non-finite number or a negative side, a centre outside the grid's extent (grid_h * stride,
// grid_w * stride), or a grid or stride < 1.
DetectionTargets assign_detection_targets(const std::vector<std::vector<GroundTruthBox>>& truths, int64_t grid_h,
                                          int64_t grid_w, int64_t stride = yolo::kStride);

struct DetectionLoss {
  at::Tensor total;  // scalar, differentiable: objectness + classification + box
  at::Tensor objectness, classification, box;
};

// raw: the head's [B, 5 + C, h, w]; targets for the same B, h, w and class indices < C
// (std::invalid_argument otherwise).
DetectionLoss detection_loss(const at::Tensor& raw, const DetectionTargets& targets);

}  // namespace bnrecal

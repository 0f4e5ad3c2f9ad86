#include "bnrecal/train/detection_targets.h"

#include <ATen/ATen.h>

#include <cmath>
#include <stdexcept>
#include <string>

namespace bnrecal {

namespace {

[[noreturn]] void bad_box(size_t image, size_t index, const std::string& why) {
  throw std::invalid_argument("assign_detection_targets: image " + std::to_string(image) + ", box " +
                              std::to_string(index) + ": " + why);
}

}  // namespace

DetectionTargets assign_detection_targets(const std::vector<std::vector<GroundTruthBox>>& truths, int64_t grid_h,
                                          int64_t grid_w, int64_t stride) {
  if (grid_h < 1 || grid_w < 1 || stride < 1)
    throw std::invalid_argument("assign_detection_targets: grid sides and stride must be >= 1");
  const int64_t batch = static_cast<int64_t>(truths.size());
  DetectionTargets t;
  t.objectness = at::zeros({batch, grid_h, grid_w}, at::kFloat);
  t.classes = at::full({batch, grid_h, grid_w}, -1, at::kLong);
  t.boxes = at::zeros({batch, 4, grid_h, grid_w}, at::kFloat);
  auto objectness = t.objectness.accessor<float, 3>();
  auto classes = t.classes.accessor<int64_t, 3>();
  auto boxes = t.boxes.accessor<float, 4>();
  const double s = static_cast<double>(stride);

  for (size_t b = 0; b < truths.size(); ++b) {
    // Area of the box owning each cell so far; the smaller box takes a contested cell.
    std::vector<double> owner_area(static_cast<size_t>(grid_h * grid_w), INFINITY);
    for (size_t n = 0; n < truths[b].size(); ++n) {
      const GroundTruthBox& truth = truths[b][n];
      const Box& box = truth.box;
      if (!std::isfinite(box.x) || !std::isfinite(box.y) || !std::isfinite(box.w) || !std::isfinite(box.h))
        bad_box(b, n, "a coordinate is not finite");
      if (box.w < 0 || box.h < 0) bad_box(b, n, "negative width or height");
      if (truth.class_index < 0) bad_box(b, n, "negative class index");
      if (box.w == 0 || box.h == 0) continue;
      const double cx = (box.x + box.w / 2) / s, cy = (box.y + box.h / 2) / s;  // in cells
      if (cx < 0 || cy < 0 || cx > grid_w || cy > grid_h) bad_box(b, n, "centre outside the grid");
      const int64_t j = std::min(static_cast<int64_t>(std::floor(cx)), grid_w - 1);
      const int64_t i = std::min(static_cast<int64_t>(std::floor(cy)), grid_h - 1);
      const double area = box.w * box.h;
      double& owner = owner_area[static_cast<size_t>(i * grid_w + j)];
      if (!(area < owner)) continue;  // an earlier box of smaller or equal area keeps the cell
      owner = area;
      objectness[b][i][j] = 1.0f;
      classes[b][i][j] = truth.class_index;
      boxes[b][0][i][j] = static_cast<float>(cx - j);
      boxes[b][1][i][j] = static_cast<float>(cy - i);
      boxes[b][2][i][j] = static_cast<float>(yolo::log_side(box.w, stride));
      boxes[b][3][i][j] = static_cast<float>(yolo::log_side(box.h, stride));
    }
  }
  return t;
}

DetectionLoss detection_loss(const at::Tensor& raw, const DetectionTargets& targets) {
  if (raw.dim() != 4 || raw.size(1) <= yolo::kFirstClassChannel)
    throw std::invalid_argument("detection_loss: raw must be [B, 5 + C, h, w] with C >= 1");
  const int64_t batch = raw.size(0), channels = raw.size(1), grid_h = raw.size(2), grid_w = raw.size(3);
  const int64_t classes = channels - yolo::kFirstClassChannel;
  const std::vector<int64_t> grid{batch, grid_h, grid_w};
  if (targets.objectness.sizes() != grid || targets.classes.sizes() != grid ||
      targets.boxes.sizes() != at::IntArrayRef({batch, 4, grid_h, grid_w}))
    throw std::invalid_argument("detection_loss: targets do not match the raw map's batch and grid");
  if (targets.classes.numel() > 0 && targets.classes.max().item<int64_t>() >= classes)
    throw std::invalid_argument("detection_loss: a class index is >= the map's " + std::to_string(classes) +
                                " classes");
  const auto options = raw.options();
  const double per_image = 1.0 / static_cast<double>(std::max<int64_t>(batch, 1));

  DetectionLoss loss;
  loss.objectness = at::binary_cross_entropy_with_logits(raw.select(1, yolo::kObjectnessChannel),
                                                         targets.objectness.to(options), {}, {},
                                                         at::Reduction::Sum) *
                    (per_image * kObjectnessWeight);

  // One row per cell, [B * h * w, 5 + C], and the responsible cells' rows picked out of it.
  const at::Tensor cells = raw.permute({0, 2, 3, 1}).reshape({-1, channels});
  const at::Tensor responsible = targets.classes.flatten().ge(0).nonzero().squeeze(1).to(raw.device());
  const at::Tensor predicted = cells.index_select(0, responsible);
  const at::Tensor wanted_class = targets.classes.flatten().to(raw.device()).index_select(0, responsible);
  const at::Tensor wanted_box =
      targets.boxes.permute({0, 2, 3, 1}).reshape({-1, 4}).to(options).index_select(0, responsible);

  loss.classification =
      at::cross_entropy_loss(predicted.slice(1, yolo::kFirstClassChannel), wanted_class, {}, at::Reduction::Sum) *
      (per_image * kClassWeight);
  const at::Tensor offset_error =
      at::sigmoid(predicted.slice(1, yolo::kOffsetXChannel, yolo::kOffsetYChannel + 1)) - wanted_box.slice(1, 0, 2);
  const at::Tensor size_loss =
      at::smooth_l1_loss(predicted.slice(1, yolo::kLogWidthChannel, yolo::kLogHeightChannel + 1),
                         wanted_box.slice(1, 2, 4), at::Reduction::Sum, kSizeBeta);
  loss.box = (offset_error.square().sum() * kOffsetWeight + size_loss * kSizeWeight) * per_image;
  loss.total = loss.objectness + loss.classification + loss.box;
  return loss;
}

}  // namespace bnrecal

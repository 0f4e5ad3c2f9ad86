#include "bnrecal/eval/box_decoding.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace bnrecal {

namespace {

// sigmoid(-inf) = 0 and sigmoid(inf) = 1 without a NaN: exp(inf) = inf, 1 / inf = 0.
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

bool is_finite(const Box& b) {
  return std::isfinite(b.x) && std::isfinite(b.y) && std::isfinite(b.w) && std::isfinite(b.h);
}

// Indices by descending score, equal scores in input order; NaN scores left out (they cannot be
// ranked, and std::sort with them would not even be well defined).
std::vector<size_t> by_descending_score(const std::vector<double>& scores) {
  std::vector<size_t> order;
  order.reserve(scores.size());
  for (size_t i = 0; i < scores.size(); ++i)
    if (!std::isnan(scores[i])) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&scores](size_t a, size_t b) { return scores[a] > scores[b]; });
  return order;
}

// categories == nullptr: every box in one category.
std::vector<size_t> greedy_nms(const std::vector<Box>& boxes, const std::vector<double>& scores,
                               const std::vector<int64_t>* categories, double iou_threshold) {
  if (boxes.size() != scores.size() || (categories && categories->size() != boxes.size()))
    throw std::invalid_argument("non_maximum_suppression: boxes, scores and categories differ in count");
  std::vector<size_t> kept;
  for (const size_t candidate : by_descending_score(scores)) {
    const bool suppressed = std::any_of(kept.begin(), kept.end(), [&](size_t k) {
      if (categories && (*categories)[k] != (*categories)[candidate]) return false;
      return box_iou(boxes[candidate], boxes[k]) > iou_threshold;
    });
    if (!suppressed) kept.push_back(candidate);
  }
  return kept;
}

// One image's candidates before NMS, in cell-then-class order.
struct Candidates {
  std::vector<Box> boxes;
  std::vector<double> scores;
  std::vector<int64_t> categories;
};

}  // namespace

double box_iou(const Box& a, const Box& b) {
  const double overlap_w = std::max(0.0, std::min(a.x + a.w, b.x + b.w) - std::max(a.x, b.x));
  const double overlap_h = std::max(0.0, std::min(a.y + a.h, b.y + b.h) - std::max(a.y, b.y));
  const double intersection = overlap_w * overlap_h;
  const double union_area = a.w * a.h + b.w * b.h - intersection;
  return union_area > 0 ? intersection / union_area : 0.0;
}

std::vector<size_t> non_maximum_suppression(const std::vector<Box>& boxes, const std::vector<double>& scores,
                                            double iou_threshold) {
  return greedy_nms(boxes, scores, nullptr, iou_threshold);
}

std::vector<size_t> non_maximum_suppression(const std::vector<Box>& boxes, const std::vector<double>& scores,
                                            const std::vector<int64_t>& categories, double iou_threshold) {
  return greedy_nms(boxes, scores, &categories, iou_threshold);
}

std::vector<Detection> decode_detections(const at::Tensor& raw, const DecodeOptions& options,
                                         const std::vector<int64_t>& image_ids) {
  if (raw.dim() != 4 || raw.size(1) <= yolo::kFirstClassChannel)
    throw std::invalid_argument("decode_detections: raw must be [B, 5 + C, h, w] with C >= 1");
  const int64_t batch = raw.size(0), channels = raw.size(1), grid_h = raw.size(2), grid_w = raw.size(3);
  if (static_cast<int64_t>(image_ids.size()) != batch)
    throw std::invalid_argument("decode_detections: " + std::to_string(image_ids.size()) +
                                " image ids for a batch of " + std::to_string(batch));
  if (options.stride < 1 || options.max_per_image < 0 || options.image_height < 0 || options.image_width < 0)
    throw std::invalid_argument("decode_detections: stride must be >= 1, max_per_image and image size >= 0");
  const int64_t classes = channels - yolo::kFirstClassChannel;
  const double stride = static_cast<double>(options.stride);
  const double image_h = options.image_height > 0 ? options.image_height : grid_h * stride;
  const double image_w = options.image_width > 0 ? options.image_width : grid_w * stride;

  // Double precision on the CPU: the map is small (15 x 12 x 12 per 96x96 image), and doubles make
  // the decoded boxes independent of the model's dtype.
  const at::Tensor values = raw.detach().to(at::kCPU, at::kDouble).contiguous();
  const double* data = values.data_ptr<double>();

  std::vector<Detection> detections;
  std::vector<double> class_weights(static_cast<size_t>(classes));
  for (int64_t b = 0; b < batch; ++b) {
    Candidates found;
    for (int64_t i = 0; i < grid_h; ++i) {
      for (int64_t j = 0; j < grid_w; ++j) {
        const auto channel = [&](int64_t c) { return data[((b * channels + c) * grid_h + i) * grid_w + j]; };
        const double center_x = (static_cast<double>(j) + sigmoid(channel(yolo::kOffsetXChannel))) * stride;
        const double center_y = (static_cast<double>(i) + sigmoid(channel(yolo::kOffsetYChannel))) * stride;
        const double width = yolo::box_side(channel(yolo::kLogWidthChannel), options.stride);
        const double height = yolo::box_side(channel(yolo::kLogHeightChannel), options.stride);
        const double x0 = std::clamp(center_x - width / 2, 0.0, image_w);
        const double x1 = std::clamp(center_x + width / 2, 0.0, image_w);
        const double y0 = std::clamp(center_y - height / 2, 0.0, image_h);
        const double y1 = std::clamp(center_y + height / 2, 0.0, image_h);
        const Box box{x0, y0, x1 - x0, y1 - y0};
        if (!is_finite(box)) continue;

        // Softmax shifted by the largest logit. A NaN logit, or an infinite largest one (inf - inf),
        // makes every score NaN, and the threshold test below drops them.
        double largest = -INFINITY;
        for (int64_t c = 0; c < classes; ++c) largest = std::max(largest, channel(yolo::kFirstClassChannel + c));
        double total = 0;
        for (int64_t c = 0; c < classes; ++c) {
          class_weights[c] = std::exp(channel(yolo::kFirstClassChannel + c) - largest);
          total += class_weights[c];
        }
        const double objectness = sigmoid(channel(yolo::kObjectnessChannel));
        for (int64_t c = 0; c < classes; ++c) {
          const double score = objectness * class_weights[c] / total;
          if (!(score >= options.score_threshold) || !std::isfinite(score)) continue;  // NaN fails >=
          found.boxes.push_back(box);
          found.scores.push_back(score);
          found.categories.push_back(c + 1);
        }
      }
    }
    const std::vector<size_t> kept =
        options.class_agnostic ? non_maximum_suppression(found.boxes, found.scores, options.nms_iou)
                               : non_maximum_suppression(found.boxes, found.scores, found.categories, options.nms_iou);
    const size_t count = std::min(kept.size(), static_cast<size_t>(options.max_per_image));
    for (size_t k = 0; k < count; ++k) {
      const size_t n = kept[k];
      detections.push_back({image_ids[b], found.categories[n], found.boxes[n], found.scores[n]});
    }
  }
  return detections;
}

}  // namespace bnrecal

#include "bnrecal/eval/detection_eval.h"

#include <map>
#include <set>
#include <string>

#include "bnrecal/core/error.h"

namespace bnrecal {

namespace {

std::string shape_text(const at::Tensor& t) { return std::string(c10::str(t.sizes())); }

// The map must be the head's output for this source's classes at the decoding stride (see the header).
void check_map(const at::Tensor& raw, const at::Tensor& images, const DetectionSource& source, int64_t stride) {
  const int64_t b = images.size(0), height = images.size(2), width = images.size(3);
  const int64_t channels = yolo::kFirstClassChannel + source.num_classes();
  const bool grid_fits = height % stride == 0 && width % stride == 0;
  const bool ok = raw.dim() == 4 && raw.size(0) == b && raw.size(1) == channels && grid_fits &&
                  raw.size(2) == height / stride && raw.size(3) == width / stride;
  if (ok) return;
  const std::string needed =
      grid_fits ? "[" + std::to_string(b) + ", " + std::to_string(channels) + ", " + std::to_string(height / stride) +
                      ", " + std::to_string(width / stride) + "]"
                : "[B, " + std::to_string(channels) + ", H / stride, W / stride] with H and W multiples of the stride";
  throw InputError("detection evaluation: the model's output is " + shape_text(raw) + " for input " +
                   shape_text(images) + " but " + needed + " (5 + " + std::to_string(source.num_classes()) +
                   " classes, stride " + std::to_string(stride) + ") is needed for '" + source.name() + "'");
}

}  // namespace

nlohmann::json DetectionEvalResult::to_json() const {
  nlohmann::json j = estimate.to_json();
  j["images"] = image_ids.size();
  j["detections"] = detections.size();
  j["seconds"] = seconds;
  j["images_per_second"] = images_per_second;
  return j;
}

std::vector<GroundTruth> ground_truths_on(const std::vector<GroundTruth>& ground_truths,
                                          const std::vector<int64_t>& image_ids) {
  const std::set<int64_t> wanted(image_ids.begin(), image_ids.end());
  std::vector<GroundTruth> out;
  for (const GroundTruth& g : ground_truths)
    if (wanted.count(g.image_id)) out.push_back(g);
  return out;
}

DetectionEvalResult evaluate_detector(Network& model, const DetectionSource& source,
                                      const DetectionEvalOptions& options) {
  require(options.bootstrap_resamples >= 2, "detection evaluation: at least 2 bootstrap resamples are needed");
  require(options.decode.stride >= 1, "detection evaluation: the decoding stride must be >= 1");
  const std::vector<int64_t>& category_ids = source.category_ids();
  DetectionEvalResult result;
  // Each batch's map decoded into boxes, named by the batch's images and the source's category ids.
  const auto score = [&](const Batch& batch, const at::Tensor& raw) {
    check_map(raw, batch.images, source, options.decode.stride);
    std::vector<int64_t> ids;
    std::map<int64_t, ImageScale> scale_of;  // by image id: boxes go back to the stored image's pixels
    for (int64_t index : batch.indices) {
      ids.push_back(source.image_id(index));
      scale_of[ids.back()] = source.image_scale(index);
    }
    for (Detection d : decode_detections(raw, options.decode, ids)) {
      d.category_id = category_ids.at(static_cast<size_t>(d.category_id - 1));  // decoding names class c as c + 1
      const ImageScale scale = scale_of.at(d.image_id);
      d.box = {d.box.x / scale.x, d.box.y / scale.y, d.box.w / scale.x, d.box.h / scale.y};
      result.detections.push_back(d);
    }
    result.image_ids.insert(result.image_ids.end(), ids.begin(), ids.end());
  };
  const PassTiming timing = run_evaluation_pass(model, source, options, score);
  result.seconds = timing.seconds;
  result.images_per_second = timing.images_per_second;
  result.estimate = bootstrap_detections(result.image_ids, ground_truths_on(source.ground_truths(), result.image_ids),
                                         result.detections, options.bootstrap_resamples);
  return result;
}

}  // namespace bnrecal

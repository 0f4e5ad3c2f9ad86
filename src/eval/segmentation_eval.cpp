#include "bnrecal/eval/segmentation_eval.h"

#include "bnrecal/core/error.h"

namespace bnrecal {

nlohmann::json SegmentationEvalResult::to_json() const {
  nlohmann::json j = estimate.to_json();
  j["seconds"] = seconds;
  j["images_per_second"] = images_per_second;
  return j;
}

SegmentationEvalResult evaluate_segmentation(Network& model, const SegmentationSource& source,
                                             const SegmentationEvalOptions& options) {
  const int64_t classes = source.num_classes();
  SegmentationEvalResult result{SegmentationConfusion(static_cast<int>(classes), SegmentationSource::kIgnoreLabel),
                                {}, 0, 0};
  // Every pixel's argmax against the mask, scores upsampled to the mask's size when smaller.
  const auto score = [&](const Batch& batch, const at::Tensor& output) {
    const int64_t b = batch.images.size(0);
    const at::Tensor& masks = batch.masks;
    require(output.dim() == 4 && output.size(0) == b && output.size(1) == classes,
            "segmentation evaluation: the model's output is " + std::string(c10::str(output.sizes())) +
                " but [" + std::to_string(b) + ", " + std::to_string(classes) + ", H, W] is needed for '" +
                source.name() + "'");
    const int64_t h = masks.size(1), w = masks.size(2);
    at::Tensor logits = output;
    if (logits.size(2) != h || logits.size(3) != w) {
      logits = at::upsample_bilinear2d(logits, {h, w}, /*align_corners=*/false);
    }
    const at::Tensor predicted = logits.argmax(1).to(at::kByte).contiguous();
    for (int64_t i = 0; i < b; ++i) {
      const uint8_t* p = predicted[i].data_ptr<uint8_t>();
      const at::Tensor mask = masks[i].contiguous();
      const uint8_t* t = mask.data_ptr<uint8_t>();
      result.confusion.add(std::vector<uint8_t>(p, p + h * w), std::vector<uint8_t>(t, t + h * w));
    }
  };
  const PassTiming timing = run_evaluation_pass(model, source, options, score);
  result.seconds = timing.seconds;
  result.images_per_second = timing.images_per_second;
  result.estimate = bootstrap_segmentation(result.confusion, options.bootstrap_resamples);
  return result;
}

}  // namespace bnrecal

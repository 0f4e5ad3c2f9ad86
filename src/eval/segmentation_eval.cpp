#include "bnrecal/eval/segmentation_eval.h"

#include <chrono>

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
  require(options.batch_size >= 1, "segmentation evaluation: the batch size must be >= 1");
  LoaderOptions loader_options;
  loader_options.batch_size = options.batch_size;
  loader_options.limit = options.limit;
  loader_options.normalization = options.normalization;
  BatchLoader loader(source, loader_options);
  const int64_t classes = source.num_classes();
  SegmentationEvalResult result{SegmentationConfusion(static_cast<int>(classes), SegmentationSource::kIgnoreLabel),
                                {}, 0, 0};

  const bool was_training = model.is_training();
  model.eval();
  at::NoGradGuard no_grad;
  std::optional<StreamingCalibration> streaming;  // restores the statistics when evaluation ends
  if (options.streaming) streaming.emplace(model, *options.streaming);
  const auto start = std::chrono::steady_clock::now();
  int64_t done = 0;
  for (Batch batch; loader.next(batch);) {
    const int64_t b = batch.images.size(0);
    // The loader hands out the split's first images in order; the masks of the same indices.
    std::vector<int64_t> indices(static_cast<size_t>(b));
    for (int64_t i = 0; i < b; ++i) indices[static_cast<size_t>(i)] = done + i;
    const at::Tensor masks = source.masks(indices);
    at::Tensor logits = model.forward(batch.images);
    require(logits.dim() == 4 && logits.size(0) == b && logits.size(1) == classes,
            "segmentation evaluation: the model's output is " + std::string(c10::str(logits.sizes())) +
                " but [" + std::to_string(b) + ", " + std::to_string(classes) + ", H, W] is needed for '" +
                source.name() + "'");
    const int64_t h = masks.size(1), w = masks.size(2);
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
    done += b;
    if (options.progress) options.progress(done, loader.num_images());
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.images_per_second = result.seconds > 0 ? static_cast<double>(done) / result.seconds : 0.0;
  model.train(was_training);
  result.estimate = bootstrap_segmentation(result.confusion, options.bootstrap_resamples);
  return result;
}

}  // namespace bnrecal

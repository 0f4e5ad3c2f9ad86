#include "bnrecal/eval/evaluate.h"

#include <chrono>

#include "bnrecal/core/error.h"
#include "bnrecal/eval/metrics.h"

namespace bnrecal {

nlohmann::json EvalResult::to_json() const {
  return {{"top1", top1},       {"top5", top5}, {"top1_stderr", top1_stderr}, {"top5_stderr", top5_stderr},
          {"loss", loss},       {"n", n},       {"seconds", seconds},         {"images_per_second", images_per_second}};
}

EvalResult evaluate(Network& model, const DataSource& source, const EvalOptions& options) {
  LoaderOptions loader_options;
  loader_options.batch_size = options.batch_size;
  loader_options.limit = options.limit;
  loader_options.normalization = options.normalization;
  BatchLoader loader(source, loader_options);

  const bool was_training = model.is_training();
  model.eval();
  at::NoGradGuard no_grad;
  AccuracyCounter counter;
  const auto start = std::chrono::steady_clock::now();
  for (Batch batch; loader.next(batch);) {
    counter.add(model.forward(batch.images), batch.labels);
    if (options.progress) options.progress(counter.count(), loader.num_images());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  model.train(was_training);

  EvalResult result;
  result.top1 = counter.top1();
  result.top5 = counter.top5();
  result.top1_stderr = counter.top1_stderr();
  result.top5_stderr = counter.top5_stderr();
  result.loss = counter.mean_loss();
  result.n = counter.count();
  result.seconds = seconds;
  result.images_per_second = seconds > 0 ? result.n / seconds : 0.0;
  result.correct = counter.hits();
  return result;
}

std::unique_ptr<DataSource> open_dataset_for_model(const std::string& spec, Split split,
                                                   const ModelCard& card) {
  auto source = open_dataset(spec, split, card.classes);
  check_data_fits_model(*source, card);
  return source;
}

void check_data_fits_model(const DataSource& source, const ModelCard& card) {
  if (!card.input_shape.empty() && card.input_shape != source.image_shape()) {
    auto text = [](const std::vector<int64_t>& s) {
      std::string t;
      for (size_t i = 0; i < s.size(); ++i) t += (i ? "x" : "") + std::to_string(s[i]);
      return t;
    };
    throw InputError("'" + source.name() + "' has images of shape " + text(source.image_shape()) +
                     " (CxHxW) but the model expects " + text(card.input_shape));
  }
  if (card.num_classes > 0 && source.num_classes() > card.num_classes) {
    throw InputError("'" + source.name() + "' has " + std::to_string(source.num_classes()) +
                     " classes but the model's head has " + std::to_string(card.num_classes));
  }
}

}  // namespace bnrecal

#include "bnrecal/eval/evaluate.h"

#include <chrono>
#include <map>

#include "bnrecal/core/error.h"
#include "bnrecal/data/data_task.h"
#include "bnrecal/eval/metrics.h"

namespace bnrecal {

nlohmann::json EvalResult::to_json() const {
  nlohmann::json j = {{"top1", top1}, {"top5", top5}, {"top1_stderr", top1_stderr}, {"top5_stderr", top5_stderr},
                      {"loss", loss}, {"n", n},       {"seconds", seconds},         {"images_per_second", images_per_second}};
  if (!streaming.is_null()) j["streaming"] = streaming;
  return j;
}

namespace {
// Every rank's batch outcomes, by batch index; InputError when a batch is missing (a rank saw
// other data).
std::map<int64_t, BatchOutcome> gather_outcomes(WorkGroup& group, const std::map<int64_t, BatchOutcome>& local) {
  nlohmann::json mine = nlohmann::json::array();
  for (const auto& [t, outcome] : local) mine.push_back({{"batch", t}, {"outcome", outcome.to_json()}});
  std::map<int64_t, BatchOutcome> all;
  for (const nlohmann::json& theirs : group.all_gather_json(mine)) {
    for (const auto& entry : theirs) {
      all[entry.at("batch").get<int64_t>()] = BatchOutcome::from_json(entry.at("outcome"));
    }
  }
  require(all.empty() || all.rbegin()->first + 1 == static_cast<int64_t>(all.size()),
          "distributed evaluation: the ranks' batches do not add up (do all ranks read the same data?)");
  return all;
}
// The images of the batches this rank evaluates (all of them when it is alone).
int64_t images_owned(int64_t images, int64_t batch_size, const WorkGroup* group) {
  if (!group) return images;
  int64_t owned = 0;
  for (int64_t t = 0; t * batch_size < images; ++t) {
    if (group->owns(t)) owned += std::min(batch_size, images - t * batch_size);
  }
  return owned;
}
}  // namespace

EvalResult evaluate(Network& model, const DataSource& source, const EvalOptions& options) {
  require(!(options.streaming && options.group),
          "streaming calibration follows the images in order: run it on one process, not distributed");
  LoaderOptions loader_options;
  loader_options.batch_size = options.batch_size;
  loader_options.limit = options.limit;
  loader_options.normalization = options.normalization;
  BatchLoader loader(source, loader_options);

  const bool was_training = model.is_training();
  model.eval();
  at::NoGradGuard no_grad;
  std::optional<StreamingCalibration> streaming;  // ends (restoring the statistics) when evaluate returns
  if (options.streaming) streaming.emplace(model, *options.streaming);
  std::map<int64_t, BatchOutcome> outcomes;  // by batch index
  int64_t images_done = 0;
  const int64_t images_total = images_owned(loader.num_images(), options.batch_size, options.group);
  const auto start = std::chrono::steady_clock::now();
  for (int64_t t = 0;; ++t) {
    if (options.group && !options.group->owns(t)) {
      if (!loader.skip()) break;
      continue;
    }
    Batch batch;
    if (!loader.next(batch)) break;
    const at::Tensor logits = model.forward(batch.images);
    require(logits.dim() == 2, "the model answers with " + std::to_string(logits.dim()) +
                                   "-D scores, not [images, classes]: a segmentation model is scored per pixel "
                                   "(docs/dense-tasks.md), not by top-1");
    BatchOutcome& outcome = outcomes[t] = score_batch(logits, batch.labels);
    images_done += static_cast<int64_t>(outcome.hits.size());
    if (options.progress) options.progress(images_done, images_total);
  }
  if (options.group) outcomes = gather_outcomes(*options.group, outcomes);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  model.train(was_training);
  AccuracyCounter counter;
  for (const auto& [t, outcome] : outcomes) counter.add(outcome);

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
  if (options.streaming) {
    result.streaming = options.streaming->to_json();
    result.streaming["batch_size"] = options.batch_size;
  }
  return result;
}

std::unique_ptr<DataSource> open_dataset_for_model(const std::string& spec, Split split,
                                                   const ModelCard& card) {
  auto source = open_dataset(spec, split, card.classes);
  check_data_fits_model(*source, card);
  return source;
}

void check_data_fits_model(const DataSource& source, const ModelCard& card) {
  // Dense-task networks are fully convolutional and VOC's and COCO's images differ in size: channels only.
  const bool any_size = data_task(source) != DataTask::kClassification;
  const bool fits = card.input_shape.empty() ||
                    (any_size ? card.input_shape.at(0) == source.image_shape().at(0)
                              : card.input_shape == source.image_shape());
  if (!fits) {
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

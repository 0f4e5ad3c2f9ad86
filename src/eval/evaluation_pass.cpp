#include "bnrecal/eval/evaluation_pass.h"

#include <chrono>

#include "bnrecal/core/error.h"

namespace bnrecal {

namespace {

// Puts the model back in the mode it came in, also when the forward or the scoring throws.
class ModeRestorer {
 public:
  explicit ModeRestorer(Network& model) : model_(model), was_training_(model.is_training()) {}
  ~ModeRestorer() { model_.train(was_training_); }
  ModeRestorer(const ModeRestorer&) = delete;
  ModeRestorer& operator=(const ModeRestorer&) = delete;

 private:
  Network& model_;
  bool was_training_;
};

}  // namespace

PassTiming run_evaluation_pass(Network& model, const DataSource& source, const PassOptions& options,
                               const std::function<void(const Batch&, const at::Tensor&)>& score) {
  require(options.batch_size >= 1, "evaluation: the batch size must be >= 1");
  LoaderOptions loader_options;  // no shuffle: the split's first images, in order
  loader_options.batch_size = options.batch_size;
  loader_options.limit = options.limit;
  loader_options.normalization = options.normalization;
  BatchLoader loader(source, loader_options);

  const ModeRestorer restore_mode(model);
  model.eval();
  at::NoGradGuard no_grad;
  std::optional<StreamingCalibration> streaming;  // restores the statistics when the pass ends
  if (options.streaming) streaming.emplace(model, *options.streaming);
  PassTiming timing;
  const auto start = std::chrono::steady_clock::now();
  for (Batch batch; loader.next(batch);) {
    score(batch, model.forward(batch.images));
    timing.images += batch.images.size(0);
    if (options.progress) options.progress(timing.images, loader.num_images());
  }
  timing.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  timing.images_per_second = timing.seconds > 0 ? static_cast<double>(timing.images) / timing.seconds : 0.0;
  return timing;
}

}  // namespace bnrecal

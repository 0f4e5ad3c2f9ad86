#include "bnrecal/train/trainer.h"

#include <torch/optim/sgd.h>

#include <chrono>
#include <cmath>

#include "bnrecal/core/error.h"
#include "bnrecal/data/data_task.h"
#include "bnrecal/data/detection_source.h"
#include "bnrecal/data/segmentation_source.h"
#include "bnrecal/eval/detection_eval.h"
#include "bnrecal/eval/evaluate.h"
#include "bnrecal/eval/metrics.h"
#include "bnrecal/eval/segmentation_eval.h"
#include "bnrecal/models/pruning.h"
#include "bnrecal/nn/batch_norm.h"
#include "bnrecal/train/detection_targets.h"

namespace bnrecal {

nlohmann::json TrainOptions::to_json() const {
  return {{"epochs", epochs},         {"start_epoch", start_epoch}, {"batch_size", batch_size},
          {"lr", lr},                 {"momentum", momentum},       {"nesterov", nesterov},
          {"weight_decay", weight_decay}, {"schedule", schedule},   {"milestones", milestones},
          {"gamma", gamma},           {"seed", seed},               {"train_limit", train_limit},
          {"eval_limit", eval_limit}, {"eval_every", eval_every},   {"augment", augment},
          {"keep_zeros_in", keep_zeros_in}, {"eval_every_steps", eval_every_steps},
          {"bn_momentum", bn_momentum}};
}

nlohmann::json TrainEvaluation::to_json() const {
  return {{"step", step}, {"epoch", epoch}, {"top1", top1}, {"top5", top5}, {"top1_stderr", top1_stderr}, {"n", n}};
}

nlohmann::json EpochReport::to_json() const {
  nlohmann::json j = {{"epoch", epoch},          {"lr", lr},
                      {"train_loss", train_loss}, {"train_top1", train_top1},
                      {"images_per_second", images_per_second}, {"seconds", seconds}};
  if (evaluated && eval_segmentation) {
    j["eval"] = eval_segmentation->to_json();
  } else if (evaluated && eval_detection) {
    j["eval"] = eval_detection->to_json();
  } else if (evaluated) {
    j["eval"] = {{"top1", eval_top1}, {"top1_stderr", eval_top1_stderr}, {"loss", eval_loss}, {"n", eval_n}};
  }
  return j;
}

double learning_rate(const TrainOptions& o, int64_t epoch) {
  if (o.schedule == "cosine")
    return 0.5 * o.lr * (1.0 + std::cos(M_PI * static_cast<double>(epoch) / static_cast<double>(o.epochs)));
  if (o.schedule == "step") {
    double lr = o.lr;
    for (int64_t m : o.milestones)
      if (epoch >= m) lr *= o.gamma;
    return lr;
  }
  throw InputError("unknown learning-rate schedule '" + o.schedule + "' (cosine or step)");
}

namespace {

void validate(const TrainOptions& o) {
  require(o.epochs > 0, "epochs must be positive, got " + std::to_string(o.epochs));
  require(o.start_epoch >= 0 && o.start_epoch < o.epochs,
          "start epoch " + std::to_string(o.start_epoch) + " is outside 0.." + std::to_string(o.epochs - 1));
  require(o.lr > 0, "learning rate must be positive");
  require(o.momentum >= 0 && o.momentum < 1, "momentum must be in [0, 1)");
  require(o.weight_decay >= 0, "weight decay must be non-negative");
  require(!o.nesterov || o.momentum > 0, "Nesterov needs a positive momentum");
  require(o.bn_momentum > 0 && o.bn_momentum <= 1, "BatchNorm momentum must be in (0, 1], got " +
                                                       std::to_string(o.bn_momentum));
  require(o.eval_every_steps >= 0, "eval_every_steps must be >= 0");
  learning_rate(o, 0);  // validates the schedule name
}

}  // namespace

EvalResult evaluate_during_training(Network& model, const DataSource& source, const TrainOptions& o) {
  EvalOptions eval_options;
  eval_options.limit = o.eval_limit;
  eval_options.normalization = o.normalization;
  return evaluate(model, source, eval_options);
}

namespace {

void set_bn_momentum(Network& model, double momentum) {
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    if (auto* bn = dynamic_cast<BatchNorm2dImpl*>(item.value().get())) bn->options.momentum(momentum);
  }
}

// Everything one epoch needs besides the model.
struct EpochContext {
  BatchLoader& loader;
  torch::optim::SGD& optimizer;
  const ZeroMask& pruned_zeros;
  const DataSource* eval_source;
  const DetectionSource* detection;  // the training source, when it is detection data
  const TrainOptions& options;
  const TrainCallbacks& callbacks;
};

// Per-pixel scores [B, K, H, W] as rows [pixels, K] with their mask labels, ignored pixels left out.
std::pair<at::Tensor, at::Tensor> counted_pixels(const at::Tensor& scores, const at::Tensor& masks) {
  const at::Tensor rows = scores.permute({0, 2, 3, 1}).reshape({-1, scores.size(1)});
  const at::Tensor labels = masks.reshape({-1}).to(at::kLong);
  const at::Tensor counted = labels.ne(SegmentationSource::kIgnoreLabel).nonzero().squeeze(1);
  return {rows.index_select(0, counted), labels.index_select(0, counted)};
}

// The task's loss of the model's output on the batch. Segmentation scores smaller than the masks are
// upsampled first (in place, so the running pixel accuracy counts the same scores).
at::Tensor task_loss(at::Tensor& logits, const Batch& batch, const EpochContext& c) {
  if (batch.masks.defined()) {
    require(logits.dim() == 4, "a segmentation source needs a model with per-pixel scores [B, K, H, W], got " +
                                   std::string(c10::str(logits.sizes())));
    if (logits.size(2) != batch.masks.size(1) || logits.size(3) != batch.masks.size(2)) {
      logits = at::upsample_bilinear2d(logits, {batch.masks.size(1), batch.masks.size(2)}, /*align_corners=*/false);
    }
    return at::cross_entropy_loss(logits, batch.masks.to(at::kLong), /*weight=*/{}, at::Reduction::Mean,
                                  SegmentationSource::kIgnoreLabel);
  }
  if (c.detection) {
    // The YOLO map's cells at the model's stride; the boxes are looked up by the batch's images.
    const DetectionTargets targets = assign_detection_targets(c.detection->boxes(batch.indices), logits.size(2),
                                                              logits.size(3), batch.images.size(2) / logits.size(2));
    return detection_loss(logits, targets).total;
  }
  return at::cross_entropy_loss(logits, batch.labels);
}

// One SGD step; returns the batch's mean loss.
double training_step(Network& model, const Batch& batch, EpochContext& c, AccuracyCounter& counter) {
  c.optimizer.zero_grad();
  at::Tensor logits = model.forward(batch.images);
  const at::Tensor loss = task_loss(logits, batch, c);
  loss.backward();
  c.optimizer.step();
  c.pruned_zeros.apply();  // the step moved pruned weights by their gradient: zero them again
  at::NoGradGuard no_grad;
  if (c.detection) {
    // No accuracy per image or pixel: the detector is scored by evaluations only.
  } else if (batch.masks.defined()) {
    const auto [rows, labels] = counted_pixels(logits.detach(), batch.masks);
    counter.add(rows, labels);
  } else {
    counter.add(logits.detach(), batch.labels);
  }
  return loss.item<double>();
}

// The end-of-epoch test evaluation: top-1, mIoU and pixel accuracy for segmentation, COCO AP and AR
// for detection.
void evaluate_epoch(Network& model, const DataSource& source, const TrainOptions& o, EpochReport& report) {
  report.evaluated = true;
  PassOptions pass;
  pass.limit = o.eval_limit;
  pass.normalization = o.normalization;
  if (const auto* detection = dynamic_cast<const DetectionSource*>(&source)) {
    const DetectionEvalResult r = evaluate_detector(model, *detection, {pass});
    report.eval_detection = r.estimate;
    report.eval_n = static_cast<int64_t>(r.image_ids.size());
    return;
  }
  if (const auto* segmentation = dynamic_cast<const SegmentationSource*>(&source)) {
    const SegmentationEvalResult r = evaluate_segmentation(model, *segmentation, {pass});
    report.eval_segmentation = r.estimate;
    report.eval_n = r.estimate.scores.images;
    return;
  }
  const EvalResult r = evaluate_during_training(model, source, o);
  report.eval_top1 = r.top1;
  report.eval_top1_stderr = r.top1_stderr;
  report.eval_loss = r.loss;
  report.eval_n = r.n;
}

void maybe_evaluate_step(Network& model, EpochContext& c, int64_t global_step) {
  const TrainOptions& o = c.options;
  if (!c.eval_source || o.eval_every_steps <= 0 || global_step % o.eval_every_steps != 0) return;
  const EvalResult r = evaluate_during_training(model, *c.eval_source, o);
  TrainEvaluation e{global_step, static_cast<double>(global_step) / static_cast<double>(c.loader.num_batches()),
                    r.top1, r.top5, r.top1_stderr, r.n};
  if (c.callbacks.on_evaluation) c.callbacks.on_evaluation(e);
}

EpochReport run_epoch(Network& model, int64_t epoch, EpochContext& c) {
  EpochReport report;
  report.epoch = epoch + 1;
  report.lr = learning_rate(c.options, epoch);
  for (auto& group : c.optimizer.param_groups())
    static_cast<torch::optim::SGDOptions&>(group.options()).lr(report.lr);
  model.train();
  c.loader.start_epoch(epoch);
  AccuracyCounter counter;  // counts pixels for segmentation: images are counted on their own
  int64_t images = 0;
  double loss_sum = 0;  // the mean of the batches' losses (what a detector's loss is reported as)
  const auto start = std::chrono::steady_clock::now();
  int64_t step = 0;
  const auto mean_loss = [&] { return c.detection ? loss_sum / static_cast<double>(step) : counter.mean_loss(); };
  for (Batch batch; c.loader.next(batch);) {
    loss_sum += training_step(model, batch, c, counter);
    images += batch.images.size(0);
    ++step;
    if (c.callbacks.on_step) {
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      c.callbacks.on_step(step, c.loader.num_batches(), mean_loss(), counter.top1(),
                          elapsed > 0 ? static_cast<double>(images) / elapsed : 0.0);
    }
    maybe_evaluate_step(model, c, epoch * c.loader.num_batches() + step);
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report.train_loss = mean_loss();
  report.train_top1 = counter.top1();
  report.images_per_second = report.seconds > 0 ? static_cast<double>(images) / report.seconds : 0.0;
  return report;
}

}  // namespace

std::vector<EpochReport> train_model(Network& model, const DataSource& train_source,
                                     const DataSource* eval_source, const TrainOptions& o,
                                     const TrainCallbacks& callbacks) {
  validate(o);
  const DataTask task = data_task(train_source);
  if (eval_source) {
    require(task == data_task(*eval_source), "training on '" + train_source.name() + "' but evaluating on '" +
                                                 eval_source->name() + "': they are data of different tasks");
  }
  require(task == DataTask::kClassification || o.eval_every_steps == 0,
          "evaluations every N steps (a top-1 time series) are for classifiers; dense tasks evaluate per epoch");
  const auto* detection = dynamic_cast<const DetectionSource*>(&train_source);
  LoaderOptions loader_options;
  loader_options.batch_size = o.batch_size;
  loader_options.shuffle = true;
  // Box-aware augmentation is not implemented: detection trains on the images as they are.
  loader_options.augment = o.augment && !detection;
  // Drop the ragged last batch: a tiny batch gives noisy BN statistics.
  loader_options.drop_last = true;
  loader_options.seed = o.seed;
  loader_options.limit = o.train_limit;
  loader_options.normalization = o.normalization;
  BatchLoader loader(train_source, loader_options);
  require(loader.num_batches() > 0, "fewer training images than one batch of " + std::to_string(o.batch_size));

  torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(o.lr)
                                                      .momentum(o.momentum)
                                                      .nesterov(o.nesterov)
                                                      .weight_decay(o.weight_decay));
  const ZeroMask pruned_zeros(model, o.keep_zeros_in);
  set_bn_momentum(model, o.bn_momentum);
  EpochContext context{loader, optimizer, pruned_zeros, eval_source, detection, o, callbacks};
  std::vector<EpochReport> reports;
  for (int64_t epoch = o.start_epoch; epoch < o.epochs; ++epoch) {
    EpochReport report = run_epoch(model, epoch, context);
    const bool last = epoch + 1 == o.epochs;
    if (eval_source && (last || (o.eval_every > 0 && (epoch + 1) % o.eval_every == 0))) {
      evaluate_epoch(model, *eval_source, o, report);
    }
    reports.push_back(report);
    if (callbacks.on_epoch) callbacks.on_epoch(report);
  }
  model.eval();
  return reports;
}

}  // namespace bnrecal

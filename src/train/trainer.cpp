#include "bnrecal/train/trainer.h"

#include <torch/optim/sgd.h>

#include <chrono>
#include <cmath>

#include "bnrecal/core/error.h"
#include "bnrecal/eval/evaluate.h"
#include "bnrecal/models/pruning.h"
#include "bnrecal/eval/metrics.h"

namespace bnrecal {

nlohmann::json TrainOptions::to_json() const {
  return {{"epochs", epochs},         {"start_epoch", start_epoch}, {"batch_size", batch_size},
          {"lr", lr},                 {"momentum", momentum},       {"nesterov", nesterov},
          {"weight_decay", weight_decay}, {"schedule", schedule},   {"milestones", milestones},
          {"gamma", gamma},           {"seed", seed},               {"train_limit", train_limit},
          {"eval_limit", eval_limit}, {"eval_every", eval_every},   {"augment", augment},
          {"keep_zeros_in", keep_zeros_in}};
}

nlohmann::json EpochReport::to_json() const {
  nlohmann::json j = {{"epoch", epoch},          {"lr", lr},
                      {"train_loss", train_loss}, {"train_top1", train_top1},
                      {"images_per_second", images_per_second}, {"seconds", seconds}};
  if (evaluated)
    j["eval"] = {{"top1", eval_top1}, {"top1_stderr", eval_top1_stderr}, {"loss", eval_loss}, {"n", eval_n}};
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
  learning_rate(o, 0);  // validates the schedule name
}

}  // namespace

std::vector<EpochReport> train_model(Network& model, const DataSource& train_source,
                                     const DataSource* eval_source, const TrainOptions& o,
                                     const TrainCallbacks& callbacks) {
  validate(o);
  LoaderOptions loader_options;
  loader_options.batch_size = o.batch_size;
  loader_options.shuffle = true;
  loader_options.augment = o.augment;
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
  std::vector<EpochReport> reports;
  for (int64_t epoch = o.start_epoch; epoch < o.epochs; ++epoch) {
    EpochReport report;
    report.epoch = epoch + 1;
    report.lr = learning_rate(o, epoch);
    for (auto& group : optimizer.param_groups())
      static_cast<torch::optim::SGDOptions&>(group.options()).lr(report.lr);

    model.train();
    loader.start_epoch(epoch);
    AccuracyCounter counter;
    const auto start = std::chrono::steady_clock::now();
    int64_t step = 0;
    for (Batch batch; loader.next(batch);) {
      optimizer.zero_grad();
      const at::Tensor logits = model.forward(batch.images);
      const at::Tensor loss = at::cross_entropy_loss(logits, batch.labels);
      loss.backward();
      optimizer.step();
      pruned_zeros.apply();  // the step moved pruned weights by their gradient: zero them again
      {
        at::NoGradGuard no_grad;
        counter.add(logits.detach(), batch.labels);
      }
      ++step;
      if (callbacks.on_step) {
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        callbacks.on_step(step, loader.num_batches(), counter.mean_loss(), counter.top1(),
                          elapsed > 0 ? counter.count() / elapsed : 0.0);
      }
    }
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    report.train_loss = counter.mean_loss();
    report.train_top1 = counter.top1();
    report.images_per_second = report.seconds > 0 ? counter.count() / report.seconds : 0.0;

    const bool last = epoch + 1 == o.epochs;
    if (eval_source && (last || (o.eval_every > 0 && (epoch + 1) % o.eval_every == 0))) {
      EvalOptions eval_options;
      eval_options.limit = o.eval_limit;
      eval_options.normalization = o.normalization;
      const EvalResult r = evaluate(model, *eval_source, eval_options);
      report.evaluated = true;
      report.eval_top1 = r.top1;
      report.eval_top1_stderr = r.top1_stderr;
      report.eval_loss = r.loss;
      report.eval_n = r.n;
    }
    reports.push_back(report);
    if (callbacks.on_epoch) callbacks.on_epoch(report);
  }
  model.eval();
  return reports;
}

}  // namespace bnrecal

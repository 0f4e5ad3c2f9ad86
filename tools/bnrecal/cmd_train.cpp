// `bnrecal train`: train a zoo architecture (or continue a checkpoint) and save a checkpoint.
#include <torch/utils.h>

#include <cstdio>

#include "bnrecal/core/error.h"
#include "bnrecal/core/run_info.h"
#include "bnrecal/data/subset.h"
#include "bnrecal/eval/evaluate.h"
#include "bnrecal/models/checkpoint.h"
#include "bnrecal/models/zoo.h"
#include "bnrecal/train/trainer.h"
#include "cli_common.h"
#include "commands.h"

namespace bnrecal::cli {

namespace {

struct TrainSpec {
  std::string arch = "resnet20";
  std::string data = "fashion-mnist";
  std::string from;
  bool resume = false;
  std::string output;
  double val_fraction = 0;
  TrainOptions options;
};

void add_train_options(CLI::App& sub, TrainSpec& spec) {
  TrainOptions& o = spec.options;
  sub.add_option("--arch,-a", spec.arch, "Architecture (see `bnrecal models`)")->capture_default_str();
  sub.add_option("--data,-d", spec.data, "Dataset: " + dataset_spec_help() + " (see `bnrecal models`)")
      ->capture_default_str();
  sub.add_option("--output,-o", spec.output, "Checkpoint to write (.safetensors; rewritten atomically after every epoch)")
      ->required();
  sub.add_option("--from", spec.from,
                 "Start from this checkpoint's weights (fine-tuning, e.g. after pruning); --arch/--data default to its own");
  sub.add_flag("--resume", spec.resume,
               "With --from: continue its interrupted run at the epoch it reached (same schedule; momentum restarts)");
  sub.add_option("--epochs", o.epochs, "Epochs")->check(CLI::PositiveNumber)->capture_default_str();
  sub.add_option("--batch-size", o.batch_size, "Images per step")->check(CLI::PositiveNumber)->capture_default_str();
  sub.add_option("--lr", o.lr, "Peak learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  sub.add_option("--momentum", o.momentum, "SGD momentum")->check(CLI::Range(0.0, 0.999999))->capture_default_str();
  sub.add_flag("--nesterov", o.nesterov, "Nesterov momentum");
  sub.add_option("--weight-decay", o.weight_decay, "L2 weight decay")->check(CLI::NonNegativeNumber)->capture_default_str();
  sub.add_option("--schedule", o.schedule, "Learning-rate schedule: cosine (to 0) or step")
      ->check(CLI::IsMember({"cosine", "step"}))->capture_default_str();
  sub.add_option("--milestones", o.milestones, "Step schedule: epochs at which the rate is multiplied by --gamma")
      ->delimiter(',');
  sub.add_option("--gamma", o.gamma, "Step schedule factor")->capture_default_str();
  sub.add_option("--seed", o.seed, "Seed for initialisation, shuffling and augmentation")->capture_default_str();
  sub.add_option("--train-limit", o.train_limit, "Use only N training images (quick runs)")->check(CLI::PositiveNumber);
  sub.add_option("--eval-limit", o.eval_limit, "Evaluate on only N test images")->check(CLI::PositiveNumber);
  sub.add_option("--eval-every", o.eval_every, "Evaluate every N epochs (and after the last)")->capture_default_str();
  sub.add_option("--val-fraction", spec.val_fraction,
                 "Hold out this fraction of the training split and evaluate on it instead of the test split")
      ->check(CLI::Range(0.0, 0.9));
  sub.add_flag("--no-augment", [&spec](int64_t) { spec.options.augment = false; }, "No training augmentation");
}

// The starting point: a fresh zoo model, or --from's weights and card (with --resume, the epoch to
// continue at; after `bnrecal prune`, the layers whose zeros stay zero).
struct Start {
  std::shared_ptr<Network> network;
  ModelCard card;
};

Start starting_point(TrainSpec& spec) {
  TrainOptions& o = spec.options;
  if (spec.from.empty()) {
    if (spec.resume) throw UsageError("--resume needs --from CHECKPOINT");
    return {nullptr, ModelCard{}};
  }
  LoadedModel loaded = load_model(spec.from);
  spec.arch = loaded.card.arch;
  if (!loaded.card.dataset.empty()) spec.data = loaded.card.dataset;
  o.keep_zeros_in = loaded.card.pruned_layers();  // fine-tuning after `bnrecal prune`: pruned stays pruned
  if (spec.resume) {
    require(loaded.card.training.has_value(), "'" + spec.from + "' records no training run to resume");
    o.start_epoch = loaded.card.training->epochs_done;
    require(o.start_epoch < o.epochs, "'" + spec.from + "' already finished " + std::to_string(o.start_epoch) +
                                          " of " + std::to_string(o.epochs) + " epochs");
  }
  return {loaded.network, loaded.card};
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto spec = std::make_shared<TrainSpec>();
  CLI::App* sub = app.add_subcommand("train", "Train a model from the zoo (or fine-tune a checkpoint) with SGD");
  add_train_options(*sub, *spec);
  auto common = add_common_options(*sub);

  sub->callback([spec, common] {
    const int threads = apply_common_options(*common);
    TrainOptions& o = spec->options;
    Start start = starting_point(*spec);
    ModelCard& card = start.card;
    // Fine-tuning keeps the checkpoint's class names (and so its labels).
    std::shared_ptr<DataSource> train_split = open_dataset_for_model(spec->data, Split::kTrain, card);
    std::shared_ptr<DataSource> eval_split = open_dataset_for_model(spec->data, Split::kTest, card);
    if (spec->val_fraction > 0) std::tie(train_split, eval_split) = split_for_validation(train_split, spec->val_fraction, o.seed);
    o.normalization = card.normalization.mean.empty() ? train_split->default_normalization() : card.normalization;
    if (!start.network) {
      torch::manual_seed(o.seed);  // initialisation depends on the seed only
      ModelOptions model_options;
      model_options.num_classes = train_split->num_classes();
      model_options.in_channels = train_split->image_shape()[0];
      start.network = build_model(spec->arch, model_options);
    }
    // Training changes the weights: every section measured on the old ones is stale.
    card.on_weights_changed();
    card.arch = spec->arch;
    card.dataset = spec->data;
    card.num_classes = train_split->num_classes();
    if (const auto classes = train_split->class_names(); !classes.empty()) card.classes = classes;
    card.input_shape = train_split->image_shape();
    card.normalization = o.normalization;
    check_data_fits_model(*train_split, card);

    const int64_t steps = (o.train_limit > 0 ? o.train_limit : train_split->size()) / o.batch_size;
    std::unique_ptr<Progress> progress;
    double total_seconds = 0;
    TrainCallbacks callbacks;
    callbacks.on_step = [&](int64_t step, int64_t, double loss, double top1, double ips) {
      char extra[128];
      std::snprintf(extra, sizeof extra, "loss %.4f acc %.2f%% %.0f img/s", loss, top1, ips);
      progress->update(step, extra);
    };
    callbacks.on_epoch = [&](const EpochReport& r) {
      char extra[160];
      std::snprintf(extra, sizeof extra, "lr %.4f loss %.4f train %.2f%% %.0f img/s%s", r.lr, r.train_loss,
                    r.train_top1, r.images_per_second,
                    r.evaluated ? (" | eval " + format_percent(r.eval_top1, r.eval_top1_stderr)).c_str() : "");
      progress->finish(extra);
      total_seconds += r.seconds;
      card.training = TrainingRecord{command_line(), o.seed, threads, o.to_json(), r.epoch, total_seconds, git_revision()};
      if (r.evaluated) card.accuracy = AccuracyRecord{r.eval_top1, r.eval_top1_stderr, r.eval_n, eval_split->name()};
      save_checkpoint(spec->output, *start.network, card);  // every epoch: an interruption loses one epoch at most
      if (r.epoch < o.epochs)
        progress = std::make_unique<Progress>("epoch " + std::to_string(r.epoch + 1) + "/" + std::to_string(o.epochs),
                                              steps, common->quiet);
    };
    progress = std::make_unique<Progress>("epoch " + std::to_string(o.start_epoch + 1) + "/" + std::to_string(o.epochs),
                                          steps, common->quiet);
    const auto reports = train_model(*start.network, *train_split, eval_split.get(), o, callbacks);

    std::printf("saved %s\n", spec->output.c_str());
    if (card.accuracy)
      std::printf("final %s top-1 %s (n=%lld)\n", eval_split->name().c_str(),
                  format_percent(card.accuracy->top1, card.accuracy->top1_stderr).c_str(),
                  static_cast<long long>(card.accuracy->n));
    nlohmann::json epochs = nlohmann::json::array();
    for (const auto& r : reports) epochs.push_back(r.to_json());
    nlohmann::json results = {{"epochs", epochs}, {"output", spec->output}, {"seconds", total_seconds}};
    if (card.accuracy) results["accuracy"] = card.accuracy->to_json();
    write_json_result(*common, results, {{"arch", spec->arch}, {"data", spec->data}, {"from", spec->from},
                                         {"options", o.to_json()}, {"val_fraction", spec->val_fraction}},
                      o.seed);
  });
}

}  // namespace bnrecal::cli

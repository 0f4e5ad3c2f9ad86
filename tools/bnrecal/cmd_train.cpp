// `bnrecal train`: train a zoo architecture (or continue a checkpoint) and save a checkpoint.
#include <torch/utils.h>

#include <cstdio>

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/core/run_info.h"
#include "bnrecal/data/data_task.h"
#include "bnrecal/data/subset.h"
#include "bnrecal/eval/evaluate.h"
#include "bnrecal/models/checkpoint.h"
#include "bnrecal/models/zoo.h"
#include "bnrecal/nn/lowbit_policy.h"
#include "bnrecal/nn/policy_registry.h"
#include "bnrecal/nn/policy_resolution.h"
#include "bnrecal/train/trainer.h"
#include "cli_common.h"
#include "commands.h"
#include "perturbation_options.h"

namespace bnrecal::cli {

namespace {

struct TrainSpec {
  std::string arch = "resnet20";
  std::string data = "fashion-mnist";
  std::string from;
  bool resume = false;
  std::string output;
  double val_fraction = 0;
  std::string bn_stats = "pop";
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
  sub.add_option("--epochs", o.epochs, "Epochs")->check(kPositive)->capture_default_str();
  sub.add_option("--batch-size", o.batch_size, "Images per step")->check(kPositive)->capture_default_str();
  sub.add_option("--lr", o.lr, "Peak learning rate")->check(kPositive)->capture_default_str();
  sub.add_option("--momentum", o.momentum, "SGD momentum")->check(CLI::Range(0.0, 0.999999))->capture_default_str();
  sub.add_flag("--nesterov", o.nesterov, "Nesterov momentum");
  sub.add_option("--weight-decay", o.weight_decay, "L2 weight decay")->check(kNonNegative)->capture_default_str();
  sub.add_option("--schedule", o.schedule, "Learning-rate schedule: cosine (to 0) or step")
      ->check(CLI::IsMember({"cosine", "step"}))->capture_default_str();
  sub.add_option("--milestones", o.milestones, "Step schedule: epochs at which the rate is multiplied by --gamma")
      ->delimiter(',');
  sub.add_option("--gamma", o.gamma, "Step schedule factor")->capture_default_str();
  sub.add_option("--seed", o.seed, "Seed for initialisation, shuffling and augmentation")->capture_default_str();
  sub.add_option("--train-limit", o.train_limit, "Use only N training images (quick runs)")->check(kPositive);
  sub.add_option("--eval-limit", o.eval_limit, "Evaluate on only N test images")->check(kPositive);
  sub.add_option("--eval-every", o.eval_every, "Evaluate every N epochs (and after the last)")->capture_default_str();
  sub.add_option("--eval-every-steps", o.eval_every_steps,
                 "Also evaluate every N optimizer steps: a test-accuracy time series, in the checkpoint's training "
                 "record and in OUTPUT.evals.jsonl (0: off)")
      ->check(kNonNegative)->capture_default_str();
  sub.add_option("--bn-stats", spec.bn_stats,
                 "BatchNorm running statistics while training: pop (EMA with --bn-momentum, PyTorch's default) or "
                 "final (the last batch's statistics only, momentum 1: BN-final)")
      ->check(CLI::IsMember({"pop", "final"}))->capture_default_str();
  sub.add_option("--bn-momentum", o.bn_momentum, "EMA momentum of --bn-stats pop (PyTorch convention)")
      ->check(CLI::Range(1e-9, 1.0))->capture_default_str();
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

// The arithmetic to train in: the flags refining the starting model's own (quantization-aware
// training with `--policy "lowbit w_bits=1 a_bits=2"`). Only policies that pass gradients qualify.
PolicySpec training_arithmetic(const PerturbationOptions& flags, const ModelCard& card) {
  const PolicySpec spec = policy_spec(flags, card.native_arithmetic());
  // The noise decorator draws from detached weights: no gradient would reach them.
  if (spec.noise.enabled()) throw UsageError("cannot train under analog noise (--noise): it passes no gradient");
  for (const auto& name : spec.used_policies()) {
    if (!find_policy(name).trainable) {
      throw UsageError("cannot train in '" + name + "' arithmetic: its forward passes no gradient (trainable: fp32, "
                       "lowbit; evaluate a trained model under " + name + " instead)");
    }
  }
  return spec;
}

// The epoch's test score as the card records it (percent): top-1, mean IoU for segmentation, AP at
// IoU 0.5 for detection.
AccuracyRecord accuracy_of(const EpochReport& r, const DataSource& eval_split) {
  if (r.eval_detection) {
    const DetectionEstimate& d = *r.eval_detection;
    return {AccuracyRecord::kAp50, 100 * d.metrics.ap50, 100 * d.ap50_stderr, r.eval_n, eval_split.name()};
  }
  if (r.eval_segmentation) {
    return {AccuracyRecord::kMeanIou, 100 * r.eval_segmentation->scores.mean_iou,
            100 * r.eval_segmentation->mean_iou_stderr, r.eval_n, eval_split.name()};
  }
  return {AccuracyRecord::kTop1, r.eval_top1, r.eval_top1_stderr, r.eval_n, eval_split.name()};
}

std::string metric_label(const std::string& metric) {
  if (metric == AccuracyRecord::kMeanIou) return "mIoU";
  if (metric == AccuracyRecord::kAp50) return "AP@.5";
  return "top-1";
}

// Progress, the per-epoch checkpoint and the record of the run: the training record of the card,
// the test evaluations (also OUTPUT.evals.jsonl, rewritten atomically), the final accuracy.
class TrainingLog {
 public:
  TrainingLog(const TrainSpec& spec, ModelCard& card, Network& net, DataTask task, int threads, bool quiet)
      : spec_(spec), card_(card), net_(net), task_(task), threads_(threads), quiet_(quiet),
        epoch_(spec.options.start_epoch) {
    if (spec.resume && card.training) evaluations_ = card.training->evaluations;
  }

  TrainCallbacks callbacks(const DataSource& eval_split) {
    TrainCallbacks c;
    c.on_step = [this](int64_t step, int64_t steps, double loss, double top1, double ips) {
      if (!progress_) progress_ = std::make_unique<Progress>(epoch_label(), steps, quiet_);
      char extra[128];
      std::snprintf(extra, sizeof extra, "loss %.4f%s %.0f img/s", loss, accuracy_text(" acc", top1).c_str(), ips);
      progress_->update(step, extra);
    };
    c.on_evaluation = [this](const TrainEvaluation& e) {
      evaluations_.push_back(e.to_json());
      std::string lines;
      for (const auto& j : evaluations_) lines += j.dump() + "\n";
      write_file_atomic(spec_.output + ".evals.jsonl", lines);
    };
    c.on_epoch = [this, &eval_split](const EpochReport& r) { on_epoch(r, eval_split); };
    return c;
  }

  void finish(const std::vector<EpochReport>&, const DataSource& eval_split) const {
    std::printf("saved %s\n", spec_.output.c_str());
    if (card_.accuracy)
      std::printf("final %s %s %s (n=%lld)\n", eval_split.name().c_str(), metric_label(card_.accuracy->metric).c_str(),
                  format_percent(card_.accuracy->value, card_.accuracy->stderr_value).c_str(),
                  static_cast<long long>(card_.accuracy->n));
  }

  nlohmann::json results(const std::vector<EpochReport>& reports) const {
    nlohmann::json epochs = nlohmann::json::array();
    for (const auto& r : reports) epochs.push_back(r.to_json());
    nlohmann::json out = {{"epochs", epochs}, {"output", spec_.output}, {"seconds", seconds_},
                          {"evaluations", evaluations_}};
    if (card_.accuracy) out["accuracy"] = card_.accuracy->to_json();
    return out;
  }

 private:
  // " train 93.12%": top-1, or pixel accuracy for segmentation; a detector has none while training.
  std::string accuracy_text(const char* label, double percent) const {
    if (task_ == DataTask::kDetection) return "";
    char text[48];
    std::snprintf(text, sizeof text, "%s %.2f%%", label, percent);
    return text;
  }

  std::string epoch_label() const {
    return "epoch " + std::to_string(epoch_ + 1) + "/" + std::to_string(spec_.options.epochs);
  }

  void on_epoch(const EpochReport& r, const DataSource& eval_split) {
    const std::optional<AccuracyRecord> score = r.evaluated ? std::optional(accuracy_of(r, eval_split)) : std::nullopt;
    std::string eval_text;
    if (score) {
      eval_text = " | eval " + metric_label(score->metric) + " " + format_percent(score->value, score->stderr_value);
    }
    char extra[192];
    std::snprintf(extra, sizeof extra, "lr %.4f loss %.4f%s %.0f img/s%s", r.lr, r.train_loss,
                  accuracy_text(" train", r.train_top1).c_str(), r.images_per_second, eval_text.c_str());
    if (progress_) progress_->finish(extra);
    progress_.reset();
    epoch_ = r.epoch;
    seconds_ += r.seconds;
    const TrainOptions& o = spec_.options;
    card_.training = TrainingRecord{command_line(), o.seed, threads_, o.to_json(), r.epoch, seconds_,
                                    git_revision(), evaluations_};
    if (score) card_.accuracy = score;
    save_checkpoint(spec_.output, net_, card_);  // every epoch: an interruption loses one epoch at most
  }

  const TrainSpec& spec_;
  ModelCard& card_;
  Network& net_;
  DataTask task_;
  int threads_;
  bool quiet_;
  int64_t epoch_;  // epochs done
  std::unique_ptr<Progress> progress_;
  double seconds_ = 0;
  nlohmann::json evaluations_ = nlohmann::json::array();
};

// A segmentation architecture trains on segmentation data, a detector on detection data, a
// classifier on labels (a dense task's zoo family is its task's name).
void check_task_matches_data(const std::string& arch, const DataSource& train_split) {
  const std::string data = data_task_name(data_task(train_split));
  for (const ZooEntry& entry : model_zoo()) {
    if (entry.name != arch) continue;
    const std::string model = entry.family == "segmentation" || entry.family == "detection" ? entry.family
                                                                                            : "classification";
    const std::string data_form = model == "segmentation" ? "voc:DIR" : "coco:DIR";
    const std::string hint = model == "classification" ? ""
                                                       : " (" + model + " trains on " + data_form +
                                                             ", e.g. from `bnrecal make-task " + model + "`)";
    require(model == data, "'" + arch + "' is a " + model + " model but '" + train_split.name() + "' is " + data +
                               " data" + hint);
  }
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto spec = std::make_shared<TrainSpec>();
  CLI::App* sub = app.add_subcommand("train", "Train a model from the zoo (or fine-tune a checkpoint) with SGD");
  add_train_options(*sub, *spec);
  auto perturbation = add_perturbation_options(*sub);
  auto common = add_common_options(*sub);

  sub->callback([spec, perturbation, common] {
    const int threads = apply_common_options(*common);
    TrainOptions& o = spec->options;
    Start start = starting_point(*spec);
    ModelCard& card = start.card;
    const PolicySpec arithmetic = training_arithmetic(*perturbation, card);
    if (spec->bn_stats == "final") o.bn_momentum = 1.0;
    // Fine-tuning keeps the checkpoint's class names (and so its labels).
    std::shared_ptr<DataSource> train_split = open_dataset_for_model(spec->data, Split::kTrain, card);
    std::shared_ptr<DataSource> eval_split = open_dataset_for_model(spec->data, Split::kTest, card);
    require(spec->val_fraction == 0 || data_task(*train_split) == DataTask::kClassification,
            "--val-fraction holds out classification images only; a dense task brings its own val split");
    if (spec->val_fraction > 0) std::tie(train_split, eval_split) = split_for_validation(train_split, spec->val_fraction, o.seed);
    // divide255 low-bit models read pixels / 255; others keep the starting model's, else the dataset's.
    o.normalization = input_normalization(
        arithmetic, card.normalization.mean.empty() ? train_split->default_normalization() : card.normalization);
    check_task_matches_data(spec->arch, *train_split);
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
    card.calibration.training_arithmetic =
        arithmetic.policy == "fp32" ? std::nullopt : std::optional<PolicySpec>(arithmetic);
    check_data_fits_model(*train_split, card);
    apply_policy(*start.network, arithmetic, o.seed, card.calibration);
    TrainingLog log{*spec, card, *start.network, data_task(*train_split), threads, common->quiet};
    const auto reports = train_model(*start.network, *train_split, eval_split.get(), o, log.callbacks(*eval_split));
    log.finish(reports, *eval_split);
    write_json_result(*common, log.results(reports), {{"arch", spec->arch}, {"data", spec->data}, {"from", spec->from},
                                                     {"options", o.to_json()}, {"arithmetic", arithmetic.to_json()},
                                                     {"bn_stats", spec->bn_stats}, {"val_fraction", spec->val_fraction}},
                      o.seed);
  });
}

}  // namespace bnrecal::cli

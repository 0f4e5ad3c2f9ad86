#include "recal_options.h"

#include "bnrecal/core/error.h"
#include "bnrecal/core/name_match.h"
#include "cli_common.h"

namespace bnrecal::cli {

std::shared_ptr<RecalFlags> add_recal_options(CLI::App& sub, RecalFlagNames names) {
  auto r = std::make_shared<RecalFlags>();
  const bool study = names == RecalFlagNames::kStudy;
  const std::string group = "Recalibration";
  sub.add_option(study ? "--recal-images" : "--images,-n", r->images, "Training images to recalibrate on (labels unused)")
      ->check(kPositive)->capture_default_str()->group(group);
  sub.add_option(study ? "--recal-batch-size" : "--batch-size", r->batch_size,
                 "Recalibration batch size. 0 (auto): all the images in one batch (self-consistent statistics) "
                 "when the largest BN input of that batch fits in 1 GiB, else the largest batch that does; "
                 "ema/ema-reset: 256")
      ->check(kNonNegative)->capture_default_str()->group(group);
  if (study) {
    sub.add_option("--recal-draws", r->draws,
                   "Recalibrate on this many independent draws of training images, each compared with the plain "
                   "model on the same test images (mean +- std and paired gains over draws)")
        ->check(kPositive)->capture_default_str()->group(group);
  }
  sub.add_option("--estimator", r->estimator, "BN statistics estimator: " + join_names(estimator_names()))
      ->capture_default_str()->group(group);
  CLI::Option* momentum = sub.add_option("--momentum", r->momentum, "ema/ema-reset momentum, PyTorch convention")
                              ->capture_default_str()->group(group);
  r->decay_option = sub.add_option("--decay", r->decay, "ema/ema-reset decay, TensorFlow convention (= 1 - momentum)")
                        ->group(group);
  momentum->excludes(r->decay_option);
  sub.add_option("--layers", r->layers, "BN layer name or glob to recalibrate (repeatable; default all)")->group(group);
  sub.add_flag("--sequential", r->sequential, "One BN layer at a time in network order")->group(group);
  sub.add_flag("--augment", r->augment, "Training augmentation on the recalibration images (default: plain)")->group(group);
  return r;
}

RecalProtocol recal_protocol(const RecalFlags& flags) {
  RecalProtocol p;
  p.images = flags.images;
  p.batch_size = flags.batch_size;
  p.draws = flags.draws;
  p.augment = flags.augment;
  try {
    p.options.estimator = parse_estimator(flags.estimator);
    p.options.momentum = flags.decay_option->count() ? momentum_from_decay(flags.decay) : flags.momentum;
    check_momentum(p.options.momentum);
  } catch (const InputError& e) {
    throw UsageError(e.what());
  }
  p.options.layers = flags.layers;
  p.options.sequential = flags.sequential;
  return p;
}

std::shared_ptr<StreamingFlags> add_streaming_options(CLI::App& sub, RecalFlagNames names) {
  auto s = std::make_shared<StreamingFlags>();
  const std::string group = "Streaming calibration";
  s->momentum_option = sub.add_option("--stream-momentum", s->momentum,
                                      "Calibrate BN on the evaluated images themselves as they stream, folding each "
                                      "batch's statistics in with this momentum (PyTorch convention; the noise "
                                      "paper's is 0.001, TensorFlow decay 0.999)")
                           ->group(group);
  s->decay_option = sub.add_option("--stream-decay", s->decay, "The same as a TensorFlow decay (= 1 - momentum)")
                        ->group(group);
  s->momentum_option->excludes(s->decay_option);
  sub.add_option("--stream-order", s->order,
                 "after: predict each batch with the statistics of the batches before it, then fold it in "
                 "(causal); before: fold it in first, so its prediction sees its own statistics")
      ->check(CLI::IsMember({"after", "before"}))->capture_default_str()->group(group);
  sub.add_option("--stream-variance", s->variance,
                 "batch: fold in each batch's variance (the paper's EMA); mixture: also the spread of the batch "
                 "means around the running mean, which batches of one image otherwise leave out")
      ->check(CLI::IsMember({"batch", "mixture"}))->capture_default_str()->group(group);
  if (names == RecalFlagNames::kStudy) {
    sub.add_option("--stream-batch-size", s->batch_size, "Images per streamed batch")
        ->check(kPositive)->capture_default_str()->group(group);
    sub.add_option("--stream-warmup", s->warmup_images,
                   "Training images streamed (unscored, a seeded draw) before the test stream, so that it starts "
                   "from statistics already adapted to the perturbation; 0: from the clean model's (the paper's)")
        ->check(kNonNegative)->capture_default_str()->group(group);
  }
  return s;
}

std::optional<StreamingOptions> streaming_options(const StreamingFlags& flags) {
  if (!flags.momentum_option->count() && !flags.decay_option->count()) return std::nullopt;
  StreamingOptions o;
  try {
    o.momentum = flags.decay_option->count() ? momentum_from_decay(flags.decay) : flags.momentum;
    check_momentum(o.momentum);
    o.update_before_predicting = parse_streaming_order(flags.order);
    o.mixture_variance = parse_streaming_variance(flags.variance);
  } catch (const InputError& e) {
    throw UsageError(std::string("--stream-") + e.what());
  }
  return o;
}

}  // namespace bnrecal::cli

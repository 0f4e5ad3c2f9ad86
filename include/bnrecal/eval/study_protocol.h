// What every study shares: how the test split is evaluated, how BN is recalibrated, and the one
// measurement both studies repeat: accuracy under the model's current policies without and with
// recalibration, on the same test images. Recalibration is repeated on `draws` independent sets
// of training images (which images are drawn is itself a source of variance), and each draw is
// compared with the plain model image by image (paired_accuracy.h).
//
//   bnrecal::StudyProtocol p;  p.eval.limit = 1000;  p.recal.images = 2048;  p.recal.draws = 3;
//   bnrecal::BnSnapshot clean(*net);
//   bnrecal::PlainAndRecalibrated r = bnrecal::measure_plain_and_recalibrated(*net, data, p, seed, clean);
//   r.recalibrated.top1.mean;  r.recalibrated.gain.difference.mean;   // over draws
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bnrecal/data/data_source.h"
#include "bnrecal/eval/evaluate.h"
#include "bnrecal/eval/paired_accuracy.h"
#include "bnrecal/nn/network.h"
#include "bnrecal/recal/recalibrate.h"

namespace bnrecal {

struct EvalProtocol {
  int64_t batch_size = 256;
  int64_t limit = -1;  // first N test images (-1: all)
  Normalization normalization;
};

// Recalibration on `images` training images (labels unused), repeated on `draws` independent draws:
// draw 0 with the step's seed, draw k with recal_draw_seed(seed, k).
//
// Batch size 0 (auto, the default): all the images in one batch, when the largest BN input of that
// batch takes at most kOneBatchBytes; otherwise the largest batch that fits. One batch makes the
// statistics self-consistent: every BN layer normalizes the batch with exactly the statistics it
// records, so the recalibrated model in eval mode computes the same activations the statistics
// were measured on. With several batches (all BN layers in training mode at once) each layer's
// statistics are measured on inputs normalized upstream by per-batch statistics, which under
// coarse arithmetic (SySMT 4T) can differ from the running ones enough to move the estimate
// (docs/results.md). ema and ema-reset keep 256 under auto: one EMA step is not an estimate.
struct RecalProtocol {
  static constexpr int64_t kAutoEmaBatch = 256;
  static constexpr int64_t kOneBatchBytes = int64_t{1} << 30;
  int64_t images = 2048;
  int64_t batch_size = 0;  // 0: auto (above)
  int64_t draws = 3;
  bool augment = false;
  RecalOptions options;  // estimator, momentum, layers, sequential
  // The batch size to use for `model` on images of `image_shape` (CxHxW): batch_size, or auto.
  int64_t batch_for(Network& model, const std::vector<int64_t>& image_shape) const;
  nlohmann::json to_json() const;
};

// Streaming calibration on the test images themselves (recal/streaming_calibration.h), measured
// beside offline recalibration when a study sets it: the noise paper streams batches of 1 with
// TensorFlow decay 0.999 (momentum 0.001). warmup_images: training images streamed the same way,
// unscored, before the test stream (a seeded draw, labels unused): an accelerator that has been
// running a while, whose statistics no longer start from the clean model's. It separates the
// stream's warm-up from its steady state; 0 (the paper's setting) starts from the clean statistics.
struct StreamingProtocol {
  StreamingOptions options;
  int64_t batch_size = 1;
  int64_t warmup_images = 0;
  nlohmann::json to_json() const;
};

struct StudyProtocol {
  EvalProtocol eval;
  RecalProtocol recal;
  std::optional<StreamingProtocol> streaming;
  std::function<void(const std::string&)> log;  // progress lines; may be empty
  void say(const std::string& line) const {
    if (log) log(line);
  }
};

struct StudyData {
  const DataSource& train;  // recalibration images
  const DataSource& test;   // accuracy
};

uint64_t recal_draw_seed(uint64_t seed, int64_t draw);

// Recalibration repeated over draws of training images, each evaluated on the same test images.
struct RecalOutcome {
  std::vector<EvalResult> draws;
  std::vector<RecalReport> reports;
  std::vector<uint64_t> seeds;
  SeedStat top1;      // over draws
  RepeatedGain gain;  // each draw against the plain model, paired
  nlohmann::json to_json() const;
};

struct PlainAndRecalibrated {
  EvalResult plain;
  RecalOutcome recalibrated;
  std::optional<EvalResult> streamed;  // when the protocol streams
  PairedAccuracy streaming_gain;       // streamed against plain
  nlohmann::json to_json() const;
};

EvalResult evaluate_test(Network& model, const DataSource& test, const EvalProtocol& protocol,
                         int64_t limit);
// Recalibrates the model's BN statistics under its current policies on protocol.recal.images
// training images drawn with `seed`, in batches of protocol.recal.batch_for (the caller restores).
RecalReport recalibrate_on_training_draw(Network& model, const StudyData& data, const StudyProtocol& protocol,
                                         uint64_t seed);

// Streams protocol.streaming->warmup_images training images through the model under streaming
// calibration and leaves the statistics they reach in it (the caller restores); nothing without a
// warm-up. The images are drawn with the seed before the recalibration draws of recal_seed
// (recal_draw_seed(recal_seed, -1)), so the warm-up is not one of them.
void warm_up_streaming(Network& model, const StudyData& data, const StudyProtocol& protocol, uint64_t recal_seed);

// Evaluates the model's current policies; then for each draw recalibrates its BN statistics under
// them, evaluates again and puts back the statistics of `clean`; then, when the protocol streams,
// evaluates with streaming calibration from the statistics of `clean` (after the warm-up, if any)
// and puts them back. before_each_draw, when given, runs before each recalibration with the seed
// of that draw's training images.
PlainAndRecalibrated measure_plain_and_recalibrated(Network& model, const StudyData& data,
                                                    const StudyProtocol& protocol,
                                                    uint64_t recal_seed, const BnSnapshot& clean,
                                                    const std::function<void(uint64_t)>& before_each_draw = {});
// InputError unless the training split holds the recalibration images and the model has BN layers.
void check_study_inputs(Network& model, const StudyData& data, const StudyProtocol& protocol);

// "92.31" (fixed digits), for log lines.
std::string fixed(double value, int digits = 2);

}  // namespace bnrecal

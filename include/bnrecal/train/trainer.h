// Supervised training with SGD (momentum, optional Nesterov, weight decay) and a cosine or step
// learning-rate schedule. Seeded: for a given thread count the same options give the same model.
//
// Classification trains on cross-entropy of the labels. A segmentation source (SegmentationSource)
// makes it per-pixel: cross-entropy over every pixel whose mask is not the ignore label (255),
// the scores upsampled bilinearly to the mask's size when smaller; the running "accuracy" is then
// pixel accuracy, and the evaluations score mean IoU and pixel accuracy (evaluate_segmentation).
// A detection source (DetectionSource) trains a YOLO-style map with train/detection_targets.h's loss
// on the boxes of each batch's images, without augmentation; evaluations score COCO AP and AR.
//
//   bnrecal::TrainOptions opt; opt.epochs = 10;
//   bnrecal::train_model(*net, *train_split, test_split.get(), opt, callbacks);
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bnrecal/data/data_source.h"
#include "bnrecal/eval/evaluate.h"
#include "bnrecal/eval/detection_metrics.h"
#include "bnrecal/eval/segmentation_metrics.h"
#include "bnrecal/nn/network.h"

namespace bnrecal {

struct TrainOptions {
  int64_t epochs = 10;
  int64_t start_epoch = 0;     // resume: skip the schedule's first epochs
  int64_t batch_size = 128;
  double lr = 0.1;
  double momentum = 0.9;
  bool nesterov = false;
  double weight_decay = 5e-4;
  std::string schedule = "cosine";        // "cosine" (to 0 at the last epoch) or "step"
  std::vector<int64_t> milestones;        // step schedule: epochs where lr *= gamma
  double gamma = 0.1;
  uint64_t seed = 0;
  int64_t train_limit = -1;               // first N training images (after the seeded shuffle)
  int64_t eval_limit = -1;
  int64_t eval_every = 1;                 // evaluate every N epochs (and after the last)
  int64_t eval_every_steps = 0;           // also every N optimizer steps (0: off): a test-accuracy time series
  // BatchNorm running statistics during training: EMA with this momentum (PyTorch convention;
  // 0.1 = PyTorch's default, "BN-pop"), 1 = the most recent batch's statistics only ("BN-final").
  double bn_momentum = 0.1;
  bool augment = true;
  Normalization normalization;            // empty: the data source's default
  // Conv/linear layers whose zero weights stay zero (fine-tuning a pruned model).
  std::vector<std::string> keep_zeros_in;
  nlohmann::json to_json() const;
};

struct EpochReport {
  int64_t epoch = 0;  // 1-based
  double lr = 0, train_loss = 0, images_per_second = 0, seconds = 0;
  double train_top1 = 0;  // percent of the images, or of the counted pixels for segmentation; 0 for detection
  bool evaluated = false;
  double eval_top1 = 0, eval_top1_stderr = 0, eval_loss = 0;  // classification
  int64_t eval_n = 0;
  std::optional<SegmentationEstimate> eval_segmentation;        // segmentation instead of eval_top1
  std::optional<DetectionEstimate> eval_detection;              // detection instead of eval_top1
  nlohmann::json to_json() const;
};

// One test evaluation during training (eval_every_steps).
struct TrainEvaluation {
  int64_t step = 0;      // optimizer steps done since the start of the schedule
  double epoch = 0;      // step / steps per epoch
  double top1 = 0, top5 = 0, top1_stderr = 0;  // percent
  int64_t n = 0;
  nlohmann::json to_json() const;
};

struct TrainCallbacks {
  // After each step: (step in epoch, steps in epoch, running loss, running top-1 %, images/s).
  std::function<void(int64_t, int64_t, double, double, double)> on_step;
  // After each epoch (eval included); a good place to save a checkpoint.
  std::function<void(const EpochReport&)> on_epoch;
  // After each test evaluation of eval_every_steps.
  std::function<void(const TrainEvaluation&)> on_evaluation;
};

// Learning rate at the start of `epoch` (0-based).
double learning_rate(const TrainOptions& options, int64_t epoch);

// The evaluation training runs: options.eval_limit images of source, with options.normalization.
EvalResult evaluate_during_training(Network& model, const DataSource& source, const TrainOptions& options);

// Trains in place (every bnrecal::BatchNorm2d with options.bn_momentum); evaluates on eval_source
// (may be null) per eval_every and eval_every_steps. Returns all epochs.
std::vector<EpochReport> train_model(Network& model, const DataSource& train_source,
                                     const DataSource* eval_source, const TrainOptions& options,
                                     const TrainCallbacks& callbacks);

}  // namespace bnrecal

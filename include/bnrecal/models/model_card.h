// The model card: everything a checkpoint says about its model besides the weights, typed. It is
// stored as JSON in the checkpoint's metadata (checkpoint.h). Every command loads it, calls the
// library, records what it did here and saves it.
//
//   bnrecal::LoadedModel m = bnrecal::load_model("model.safetensors");
//   m.card.on_weights_changed();                  // after training or pruning: drop stale sections
//   m.card.training = record;
//   bnrecal::save_checkpoint("out.safetensors", *m.network, m.card);
//
// Weight-derived sections (activation ranges, channel orders, recalibrations, accuracy) describe
// one set of weights: on_weights_changed() drops them all, so an old perturbation or calibration
// is never applied to new weights.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bnrecal/data/data_source.h"
#include "bnrecal/nn/model_calibration.h"
#include "bnrecal/nn/policy_spec.h"

namespace bnrecal {

// The arch of a model that is an imported operator graph (onnx/graph.h), not a zoo architecture.
constexpr const char* kGraphArch = "onnx-graph";

// The test score recorded when training ended: top-1 for classifiers, mean IoU for segmentation
// models, AP at IoU 0.5 for detectors. In JSON the metric names its keys ({"top1": 91.2, "top1_stderr": 0.3, ...}).
struct AccuracyRecord {
  static constexpr const char* kTop1 = "top1";
  static constexpr const char* kMeanIou = "mean_iou";
  static constexpr const char* kAp50 = "ap50";  // detection: COCO AP at IoU 0.5
  std::string metric = kTop1;
  double value = 0, stderr_value = 0;  // percent
  int64_t n = 0;
  std::string data;                  // e.g. "fashion-mnist/test"
  nlohmann::json to_json() const;
  static AccuracyRecord from_json(const nlohmann::json& j);
};

// One `bnrecal recalibrate` run: the perturbation the statistics were estimated under, its seed,
// and the protocol (estimator, images, data, ...) as recorded by the recalibration.
struct RecalibrationRecord {
  PolicySpec perturbation;
  uint64_t seed = 0;
  nlohmann::json details = nlohmann::json::object();
  nlohmann::json to_json() const;
  static RecalibrationRecord from_json(const nlohmann::json& j);
};

struct TrainingRecord {
  std::string command;
  uint64_t seed = 0;
  int threads = 0;
  nlohmann::json options = nlohmann::json::object();  // the trainer's options
  int64_t epochs_done = 0;
  double seconds = 0;
  std::string git_revision;
  nlohmann::json evaluations = nlohmann::json::array();  // test accuracy during training, oldest first
  nlohmann::json to_json() const;
  static TrainingRecord from_json(const nlohmann::json& j);
};

struct ModelCard {
  std::string arch;                  // zoo architecture, or kGraphArch for an imported ONNX graph
  std::string dataset;               // the --data it was trained on ("" when unknown)
  int64_t num_classes = 0;
  std::vector<int64_t> input_shape;  // {C, H, W}
  std::vector<std::string> classes;  // class names in label order (image folders); may be empty
  Normalization normalization;       // empty: the dataset's default
  std::string source;                // the file weights were imported from ("" when trained here)
  nlohmann::json graph;              // the operator graph when arch is kGraphArch (Graph::to_json); else null

  ModelCalibration calibration;      // activation ranges, channel orders, training arithmetic
  nlohmann::json channel_reorder;    // `bnrecal reorder`'s plan record (null when none)
  std::vector<RecalibrationRecord> recalibrations;  // oldest first
  std::optional<AccuracyRecord> accuracy;
  std::optional<TrainingRecord> training;
  nlohmann::json pruning;            // `bnrecal prune`'s report (null when not pruned)
  nlohmann::json other = nlohmann::json::object();  // keys this version does not know, kept

  // Drops every section that describes the old weights: activation calibration, channel orders
  // and their plan, the recalibration history and the accuracy. Pruning stays (its zeros are
  // kept at zero by fine-tuning); the training record and arithmetic are the trainer's to replace.
  void on_weights_changed();
  const RecalibrationRecord* last_recalibration() const;
  // The arithmetic the weights were trained in (fp32 unless quantization-aware training recorded one).
  PolicySpec native_arithmetic() const { return calibration.training_arithmetic.value_or(PolicySpec{}); }
  // The layers `bnrecal prune` pruned (empty when not pruned).
  std::vector<std::string> pruned_layers() const;

  nlohmann::json to_json() const;
  // InputError naming the section when a known key has the wrong type. Missing keys stay empty;
  // checks that a model can be built from it are load_model's.
  static ModelCard from_json(const nlohmann::json& metadata);
};

}  // namespace bnrecal

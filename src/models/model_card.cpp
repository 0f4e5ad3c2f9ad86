#include "bnrecal/models/model_card.h"

#include <algorithm>

#include "bnrecal/core/error.h"

namespace bnrecal {

namespace {
constexpr const char* kRecalibrationKey = "recalibration";
constexpr const char* kChannelReorderKey = "channel_reorder";

// Section names this version reads; everything else is kept in `other`.
const char* const kKnownKeys[] = {"arch", "dataset", "num_classes", "input_shape", "classes",
                                  "normalization", "source", "graph", kCalibrationKey, kChannelOrderKey, "training_arithmetic",
                                  kChannelReorderKey, kRecalibrationKey, "accuracy", "training",
                                  "pruning"};

template <class T>
T get_or(const nlohmann::json& j, const char* key, T fallback) {
  return j.contains(key) && !j.at(key).is_null() ? j.at(key).get<T>() : fallback;
}
}  // namespace

nlohmann::json AccuracyRecord::to_json() const {
  return {{metric, value}, {metric + "_stderr", stderr_value}, {"n", n}, {"data", data}};
}

AccuracyRecord AccuracyRecord::from_json(const nlohmann::json& j) {
  for (const char* metric : {kTop1, kMeanIou, kAp50}) {
    if (!j.contains(metric)) continue;
    return {metric, j.at(metric).get<double>(), j.value(std::string(metric) + "_stderr", 0.0),
            j.value("n", int64_t{0}), j.value("data", std::string())};
  }
  throw InputError("the model card's accuracy names no metric (top1, mean_iou or ap50): " + j.dump());
}

nlohmann::json RecalibrationRecord::to_json() const {
  nlohmann::json j = details;
  j["perturbation"] = perturbation.to_json();
  j["seed"] = seed;
  return j;
}

RecalibrationRecord RecalibrationRecord::from_json(const nlohmann::json& j) {
  RecalibrationRecord r;
  r.details = j;
  r.details.erase("perturbation");
  r.details.erase("seed");
  if (j.contains("perturbation")) r.perturbation = PolicySpec::from_json(j.at("perturbation"));
  r.seed = j.value("seed", uint64_t{0});
  return r;
}

nlohmann::json TrainingRecord::to_json() const {
  return {{"command", command}, {"seed", seed}, {"threads", threads}, {"options", options},
          {"epochs_done", epochs_done}, {"seconds", seconds}, {"git_revision", git_revision},
          {"evaluations", evaluations}};
}

TrainingRecord TrainingRecord::from_json(const nlohmann::json& j) {
  TrainingRecord t;
  t.command = j.value("command", std::string());
  t.seed = j.value("seed", uint64_t{0});
  t.threads = j.value("threads", 0);
  t.options = j.value("options", nlohmann::json::object());
  t.epochs_done = j.value("epochs_done", int64_t{0});
  t.seconds = j.value("seconds", 0.0);
  t.git_revision = j.value("git_revision", std::string());
  t.evaluations = j.value("evaluations", nlohmann::json::array());
  return t;
}

void ModelCard::on_weights_changed() {
  // The training arithmetic describes how the weights are meant to be computed with, not a
  // measurement on them: it stays (the trainer sets it for the weights it produces).
  calibration.activations.reset();
  calibration.channel_orders.clear();
  channel_reorder = nullptr;
  recalibrations.clear();
  accuracy.reset();
}

const RecalibrationRecord* ModelCard::last_recalibration() const {
  return recalibrations.empty() ? nullptr : &recalibrations.back();
}

std::vector<std::string> ModelCard::pruned_layers() const {
  std::vector<std::string> names;
  if (pruning.is_object() && pruning.contains("layers")) {
    for (const auto& layer : pruning.at("layers")) names.push_back(layer.at("name").get<std::string>());
  }
  return names;
}

nlohmann::json ModelCard::to_json() const {
  nlohmann::json j = other;
  j["arch"] = arch;
  if (!dataset.empty()) j["dataset"] = dataset;
  j["num_classes"] = num_classes;
  j["input_shape"] = input_shape;
  if (!classes.empty()) j["classes"] = classes;
  if (!normalization.mean.empty()) j["normalization"] = {{"mean", normalization.mean}, {"std", normalization.std}};
  if (!source.empty()) j["source"] = source;
  if (!graph.is_null()) j["graph"] = graph;
  calibration.to_metadata(j);
  if (!channel_reorder.is_null()) j[kChannelReorderKey] = channel_reorder;
  if (!recalibrations.empty()) {
    j[kRecalibrationKey] = nlohmann::json::array();
    for (const auto& r : recalibrations) j[kRecalibrationKey].push_back(r.to_json());
  }
  if (accuracy) j["accuracy"] = accuracy->to_json();
  if (training) j["training"] = training->to_json();
  if (!pruning.is_null()) j["pruning"] = pruning;
  return j;
}

namespace {
ModelCard card_from_json(const nlohmann::json& j) {
  require(j.is_object(), "checkpoint metadata must be a JSON object");
  ModelCard c;
  c.arch = get_or<std::string>(j, "arch", "");
  c.dataset = get_or<std::string>(j, "dataset", "");
  c.num_classes = get_or<int64_t>(j, "num_classes", 0);
  c.input_shape = get_or<std::vector<int64_t>>(j, "input_shape", {});
  c.classes = get_or<std::vector<std::string>>(j, "classes", {});
  if (j.contains("normalization")) {
    c.normalization.mean = j.at("normalization").at("mean").get<std::vector<double>>();
    c.normalization.std = j.at("normalization").at("std").get<std::vector<double>>();
  }
  c.source = get_or<std::string>(j, "source", "");
  c.graph = j.value("graph", nlohmann::json());
  c.calibration = ModelCalibration::from_metadata(j);
  c.channel_reorder = j.value(kChannelReorderKey, nlohmann::json());
  for (const auto& r : j.value(kRecalibrationKey, nlohmann::json::array())) {
    c.recalibrations.push_back(RecalibrationRecord::from_json(r));
  }
  if (j.contains("accuracy")) c.accuracy = AccuracyRecord::from_json(j.at("accuracy"));
  if (j.contains("training")) c.training = TrainingRecord::from_json(j.at("training"));
  c.pruning = j.value("pruning", nlohmann::json());
  for (const auto& [key, value] : j.items()) {
    if (std::find(std::begin(kKnownKeys), std::end(kKnownKeys), key) == std::end(kKnownKeys)) {
      c.other[key] = value;
    }
  }
  return c;
}
}  // namespace

ModelCard ModelCard::from_json(const nlohmann::json& metadata) {
  return with_input_errors<nlohmann::json::exception>("checkpoint metadata is malformed: ",
                                                      [&] { return card_from_json(metadata); });
}

}  // namespace bnrecal

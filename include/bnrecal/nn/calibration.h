// Activation-range calibration for a8w8: an explicit, saved step (`bnrecal calibrate`), never
// done silently inside evaluation. The result lives in checkpoint metadata under
// "activation_calibration" and apply_policy() reads it from there.
//
//   bnrecal::LoaderBatchStream stream(*train, {.batch_size = 256, .augment = true, .limit = 2048});
//   bnrecal::ActivationCalibration cal = bnrecal::calibrate_activations(*net, stream, "mean_max");
//   metadata["activation_calibration"] = cal.to_json();
//
// Statistics: "mean_max" = mean over images of each image's max of the layer's input (default;
// robust to a few outlier images), "max" = the global max over all images.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "bnrecal/nn/network.h"
#include "bnrecal/data/batch_stream.h"

namespace bnrecal {

struct LayerRange {
  double a_max = 0;     // the statistic's value (>= tiny positive; 1 if the input was all zero)
  double max_abs = 0;   // global max |x| seen (used as a_max in signed mode)
  double min = 0;       // global min seen: negative means unsigned a8w8 cannot be used as is
};

struct ActivationCalibration {
  std::string stat = "mean_max";
  int64_t images = 0;
  nlohmann::json source;  // how the images were obtained (dataset, split, seed, augmentation)
  std::map<std::string, LayerRange> layers;
  nlohmann::json to_json() const;
  static ActivationCalibration from_json(const nlohmann::json& j);
};

constexpr const char* kCalibrationKey = "activation_calibration";

// Runs the model in eval mode (no-grad) on every batch of the stream with each conv/linear's
// current policy, recording per-image maxima of every layer's input. Policies are restored after.
// Throws InputError for an unknown stat ("mean_max" | "max") or an empty stream.
ActivationCalibration calibrate_activations(Network& model, BatchStream& stream,
                                            const std::string& stat);

}  // namespace bnrecal

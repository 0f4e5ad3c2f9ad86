// What policies read from a model besides its weights: the activation ranges `bnrecal
// calibrate` measured (a8w8, sysmt), the per-layer channel orders `bnrecal reorder` planned
// (sysmt), and the arithmetic the weights were trained in (quantization-aware training: such
// weights only run in that arithmetic). Part of the model card (models/model_card.h); kept here so
// policies depend only on what they use.
//
//   bnrecal::ModelCalibration cal = card.calibration;
//   bnrecal::apply_policy(*net, spec, seed, cal);
#pragma once
#include <optional>

#include <nlohmann/json.hpp>

#include "bnrecal/nn/calibration.h"
#include "bnrecal/nn/channel_order.h"
#include "bnrecal/nn/policy_spec.h"

namespace bnrecal {

struct ModelCalibration {
  std::optional<ActivationCalibration> activations;  // metadata "activation_calibration"
  ChannelOrders channel_orders;                      // metadata "channel_order"
  // metadata "training_arithmetic": the policy quantization-aware training used (absent: fp32)
  std::optional<PolicySpec> training_arithmetic;

  // Reads the sections from checkpoint metadata (absent sections stay empty); malformed ones are
  // InputErrors naming the section.
  static ModelCalibration from_metadata(const nlohmann::json& metadata);
  // Writes the sections into metadata (removing absent ones).
  void to_metadata(nlohmann::json& metadata) const;
};

}  // namespace bnrecal

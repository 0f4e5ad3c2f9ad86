// What policies read from a model besides its weights: the activation ranges `bnrecal
// calibrate` measured (a8w8, sysmt) and the per-layer channel orders `bnrecal reorder` planned
// (sysmt). Part of the model card (models/model_card.h); kept here so policies depend only on
// what they use.
//
//   bnrecal::ModelCalibration cal = card.calibration;
//   bnrecal::apply_policy(*net, spec, seed, cal);
#pragma once
#include <optional>

#include <nlohmann/json.hpp>

#include "bnrecal/nn/calibration.h"
#include "bnrecal/nn/channel_order.h"

namespace bnrecal {

struct ModelCalibration {
  std::optional<ActivationCalibration> activations;  // metadata "activation_calibration"
  ChannelOrders channel_orders;                      // metadata "channel_order"

  // Reads both sections from checkpoint metadata (absent sections stay empty); malformed ones
  // are InputErrors naming the section.
  static ModelCalibration from_metadata(const nlohmann::json& metadata);
  // Writes both sections into metadata (removing absent ones).
  void to_metadata(nlohmann::json& metadata) const;
};

}  // namespace bnrecal

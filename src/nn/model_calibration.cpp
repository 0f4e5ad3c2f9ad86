#include "bnrecal/nn/model_calibration.h"

namespace bnrecal {

namespace {
constexpr const char* kTrainingArithmeticKey = "training_arithmetic";
}  // namespace

ModelCalibration ModelCalibration::from_metadata(const nlohmann::json& metadata) {
  ModelCalibration c;
  if (!metadata.is_object()) return c;
  if (metadata.contains(kCalibrationKey)) {
    c.activations = ActivationCalibration::from_json(metadata.at(kCalibrationKey));
  }
  if (metadata.contains(kChannelOrderKey)) {
    c.channel_orders = channel_orders_from_json(metadata.at(kChannelOrderKey));
  }
  if (metadata.contains(kTrainingArithmeticKey)) {
    c.training_arithmetic = PolicySpec::from_json(metadata.at(kTrainingArithmeticKey));
  }
  return c;
}

void ModelCalibration::to_metadata(nlohmann::json& metadata) const {
  if (activations) metadata[kCalibrationKey] = activations->to_json();
  else metadata.erase(kCalibrationKey);
  if (!channel_orders.empty()) metadata[kChannelOrderKey] = channel_orders_to_json(channel_orders);
  else metadata.erase(kChannelOrderKey);
  if (training_arithmetic) metadata[kTrainingArithmeticKey] = training_arithmetic->to_json();
  else metadata.erase(kTrainingArithmeticKey);
}

}  // namespace bnrecal

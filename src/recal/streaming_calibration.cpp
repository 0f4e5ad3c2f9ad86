#include "bnrecal/recal/streaming_calibration.h"

#include "bnrecal/core/error.h"
#include "bnrecal/core/name_match.h"

namespace bnrecal {

nlohmann::json StreamingOptions::to_json() const {
  return {{"momentum_pytorch", momentum},
          {"decay_tensorflow", 1.0 - momentum},
          {"order", streaming_order_name(update_before_predicting)},
          {"layers", layers.empty() ? std::vector<std::string>{"*"} : layers},
          {"variance", mixture_variance ? "mixture" : "batch"},
          {"variance_note", "biased batch variance M2 / n folded in (what training-mode BN normalizes with)" +
                                std::string(mixture_variance ? ", plus m (1 - m) (batch mean - running mean)^2" : "")}};
}

const char* streaming_order_name(bool update_before_predicting) {
  return update_before_predicting ? "before" : "after";
}

bool parse_streaming_order(const std::string& name) {
  if (name == "before" || name == "after") return name == "before";
  throw InputError("unknown streaming order '" + name +
                   "' (known: after = predict, then update; before = update, then predict)");
}

bool parse_streaming_variance(const std::string& name) {
  if (name == "batch" || name == "mixture") return name == "mixture";
  throw InputError("unknown streaming variance '" + name +
                   "' (known: batch = EMA of batch variances, mixture = also the spread of the batch means)");
}

StreamingCalibration::StreamingCalibration(torch::nn::Module& model, const StreamingOptions& options)
    : model_(model), snapshot_(model) {
  check_momentum(options.momentum);
  const std::vector<BnLayerRef> all = bn_layers(model);
  require(!all.empty(), "streaming calibration: the model has no BatchNorm layers");
  for (const BnLayerRef& layer : all) {
    if (!options.layers.empty() && !matches_any(options.layers, layer.name)) continue;
    names_.push_back(layer.name);
    streaming_.push_back(layer.bn);
  }
  require(!streaming_.empty(), "streaming calibration: the layer patterns select no BatchNorm layer");
  const StreamingUpdate update{options.momentum, options.update_before_predicting, options.mixture_variance};
  for (BatchNorm2dImpl* bn : streaming_) bn->stream_statistics(update);
}

StreamingCalibration::~StreamingCalibration() {
  for (BatchNorm2dImpl* bn : streaming_) bn->stream_statistics(std::nullopt);
  if (!keep_) snapshot_.restore(model_);
}

}  // namespace bnrecal

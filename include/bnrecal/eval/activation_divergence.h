// Why recalibration helps (or does not), layer by layer: how far each BN layer's activations
// under a perturbation are from the clean model's, without and with recalibration, and how far
// each layer's running statistics are from the moments its input really has under the
// perturbation (the analog-noise paper's Fig. 1, extended with the statistics themselves).
//
// Measured on the first `images` test images (held out: recalibration uses training images):
//   divergence   per BN layer, at its OUTPUT (the normalized activation the next layer sees; the
//                BN input differs between plain and recalibrated only through upstream layers):
//                per-channel histograms (histogram_divergence.h) on the clean model's per-channel
//                [min, max], KL(clean || perturbed) and JS(clean, perturbed) per channel, averaged
//                over channels; for the perturbed model with its original statistics ("plain") and
//                after recalibration on one draw of training images ("recalibrated").
//   statistics   per BN layer: the exact per-channel mean and variance of its INPUT on those
//                images under the perturbation, against the running statistics in use (original,
//                then recalibrated): mean gap |mu_run - mu| / sigma and variance gap
//                |ln(var_run / var)|, averaged over channels. Statistics that describe the inputs
//                the layer really sees have gaps near 0 (up to training-vs-test sampling).
//
//   bnrecal::DivergenceResult r = bnrecal::measure_activation_divergence(*net, card.calibration,
//       PolicySpec{}, PolicySpec::parse("sysmt smt=4"), seed, {*train, *test}, protocol, {});
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bnrecal/eval/study_protocol.h"
#include "bnrecal/nn/model_calibration.h"
#include "bnrecal/nn/policy_spec.h"

namespace bnrecal {

struct DivergenceOptions {
  int64_t images = 512;  // first N test images
  int64_t bins = 128;
};

struct StatisticsGap {
  double mean = 0, variance = 0;  // mean over channels of |mu_run - mu| / sigma and |ln(var_run / var)|
  nlohmann::json to_json() const;
};

struct BnLayerDivergence {
  std::string name;
  double kl_plain = 0, js_plain = 0, kl_recalibrated = 0, js_recalibrated = 0;  // nats
  StatisticsGap original, recalibrated;
  nlohmann::json to_json() const;
};

struct DivergenceResult {
  std::vector<BnLayerDivergence> layers;
  int64_t images = 0;
  nlohmann::json config;
  nlohmann::json to_json() const;
};

// Leaves the model in the clean arithmetic with its own BN statistics.
DivergenceResult measure_activation_divergence(Network& model, const ModelCalibration& calibration,
                                               const PolicySpec& clean, const PolicySpec& perturbed,
                                               uint64_t seed, const StudyData& data,
                                               const StudyProtocol& protocol, const DivergenceOptions& options);

}  // namespace bnrecal

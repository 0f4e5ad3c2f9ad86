// The noise study (docs/methods.md section 1.3): accuracy under analog weight noise without and
// with BN recalibration, over several noise levels and seeds, plus the rows without noise:
// FP32 (or the arithmetic a quantization-aware model was trained in) / A8W8 / A8W8 + recal.
// The model is left in its arithmetic without noise.
//
//   bnrecal::NoiseStudyOptions opt;  opt.etas = {0, 0.02, 0.04};  opt.seeds = 3;
//   bnrecal::NoiseStudyResult r = bnrecal::run_noise_study(*net, card.calibration, {*train, *test}, opt);
//
// For each eta and seed: the noise is instantiated (spatial factors drawn with that seed), the
// model is evaluated on the test split, the BN statistics are recalibrated on each of the
// protocol's draws of training images (the first drawn with the same seed; a snapshot restores
// them afterwards) and the model is evaluated again after each.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bnrecal/eval/study_protocol.h"
#include "bnrecal/nn/model_calibration.h"
#include "bnrecal/nn/policy_spec.h"

namespace bnrecal {

struct NoiseStudyOptions {
  std::vector<double> etas = {0, 0.02, 0.04, 0.06, 0.08, 0.10};
  int64_t seeds = 3;
  uint64_t base_seed = 0;          // seed s of the study is base_seed + s
  PolicySpec base;                 // policy, overrides, noise preset and sigmas (eta replaced)
  // The model without noise, and A8W8 / A8W8 + recal (fp32-trained, calibrated models only).
  bool quantization_rows = true;
  StudyProtocol protocol;
};

struct NoiseStudyCell {
  double eta = 0;
  SeedStat plain;         // top-1 percent over noise seeds
  SeedStat recalibrated;  // top-1 percent over noise seeds x recalibration draws
  RepeatedGain gain;      // recalibrated against plain, paired, over noise seeds x draws
  SeedStat streamed;               // top-1 percent over noise seeds, when the protocol streams
  RepeatedGain streaming_gain;     // streamed against plain, paired, over noise seeds
  std::vector<nlohmann::json> runs;
};

struct NoiseStudyResult {
  std::vector<NoiseStudyCell> cells;
  nlohmann::json quantization;  // {"fp32": eval json, "a8w8": ..., "a8w8_recal": ...} or a note
  int64_t test_images = 0;
  int64_t seeds = 0;
  nlohmann::json config;
  nlohmann::json to_json() const;
};

// What every noise study starts from (this one and dense_noise_study.h): the options checked
// (InputError for no eta, no seed or a negative eta), the noisy policy (seed-003 unless the base
// names a noise model), the same policy without noise, and the configuration the results record.
struct NoiseStudySetup {
  PolicySpec noisy, clean;
  nlohmann::json config;
};
NoiseStudySetup noise_study_setup(const NoiseStudyOptions& options);

NoiseStudyResult run_noise_study(Network& model, const ModelCalibration& calibration,
                                 const StudyData& data, const NoiseStudyOptions& options);

}  // namespace bnrecal

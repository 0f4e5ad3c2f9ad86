// The noise study for dense tasks (segmentation now; any TaskScorer): the task's scores under
// analog weight noise without calibration, with offline BN recalibration on training images, and
// with streaming calibration on the test images themselves, over noise levels and seeds, each
// compared with the plain noisy model on the same images (paired). The noise paper's Tables 2 and 3
// have this shape. The model is left in its arithmetic without noise.
//
//   auto scorer = bnrecal::segmentation_scorer(*val);
//   bnrecal::NoiseStudyOptions opt;  opt.etas = {0, 0.05, 0.1};  opt.protocol.streaming = ...;
//   bnrecal::DenseNoiseStudyResult r = bnrecal::run_dense_noise_study(*net, card.calibration, *train, *scorer, opt);
//
// Per eta and seed, as run_noise_study: noise instantiated with that seed, a plain run, then each
// recalibration draw (the first with the same seed) scored and undone, then a streamed run from the
// model's own statistics. opt.quantization_rows is not used: the clean row is always measured.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bnrecal/eval/metrics.h"
#include "bnrecal/eval/noise_study.h"
#include "bnrecal/eval/task_scorer.h"

namespace bnrecal {

// Paired differences of one metric over repeated runs (noise seeds x recalibration draws).
struct DenseGain {
  SeedStat difference;          // percent
  double standard_error = 0;    // root mean square of the runs' paired standard errors
  int64_t significant_runs = 0;
  int64_t runs = 0;
  nlohmann::json to_json() const;
};
DenseGain dense_gain(const std::vector<ScoreDifference>& runs);

struct DenseMetricCell {
  std::string metric;
  SeedStat plain, recalibrated, streamed;  // percent over seeds (recalibrated: seeds x draws)
  DenseGain gain, streaming_gain;          // against plain, paired
};

struct DenseNoiseCell {
  double eta = 0;
  std::vector<DenseMetricCell> metrics;  // in the scorer's order
  std::vector<nlohmann::json> runs;
};

struct DenseNoiseStudyResult {
  std::string task;
  std::vector<DenseNoiseCell> cells;
  std::vector<NamedScore> clean;  // the model without noise
  nlohmann::json clean_json;
  int64_t test_images = 0, seeds = 0;
  bool streamed = false;
  nlohmann::json config;
  nlohmann::json to_json() const;
};

DenseNoiseStudyResult run_dense_noise_study(Network& model, const ModelCalibration& calibration,
                                            const DataSource& train, const TaskScorer& test,
                                            const NoiseStudyOptions& options);

}  // namespace bnrecal

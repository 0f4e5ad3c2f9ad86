// The noise study (methods.md Table 1.3): accuracy under analog weight noise without and with
// BN recalibration, over several noise levels and seeds, plus the quantization rows
// FP32 / A8W8 / A8W8 + recal.
//
//   bnrecal::NoiseStudyOptions opt;  opt.etas = {0, 0.02, 0.04};  opt.seeds = 3;
//   bnrecal::NoiseStudyResult r = bnrecal::run_noise_study(*net, metadata, *train, *test, opt);
//   std::cout << r.to_markdown();
//
// For each eta and seed: the noise is instantiated (spatial factors drawn with that seed), the
// model is evaluated on the test split, the BN statistics are recalibrated on training images
// (a snapshot restores them afterwards) and the model is evaluated again.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bnrecal/data/data_source.h"
#include "bnrecal/eval/evaluate.h"
#include "bnrecal/nn/network.h"
#include "bnrecal/nn/policy_registry.h"
#include "bnrecal/recal/recalibrate.h"

namespace bnrecal {

struct NoiseStudyOptions {
  std::vector<double> etas = {0, 0.02, 0.04, 0.06, 0.08, 0.10};
  int64_t seeds = 3;
  uint64_t base_seed = 0;          // seed s of the study is base_seed + s
  PolicySpec base;                 // noise preset and sigmas taken from here (eta replaced)
  int64_t recal_images = 2048;
  int64_t recal_batch_size = 256;
  bool recal_augment = false;
  RecalOptions recal;              // estimator, momentum, layers, sequential
  int64_t test_limit = -1;         // -1: the whole test split
  int64_t eval_batch_size = 256;
  bool quantization_rows = true;   // FP32 / A8W8 / A8W8+recal (A8W8 needs calibration)
  Normalization normalization;
  // Progress text, e.g. "eta 0.04 seed 2: plain 81.2 %"; may print.
  std::function<void(const std::string&)> log;
};

struct SeedStat {
  double mean = 0, std = 0;  // over seeds (sample std; 0 for one seed)
  std::vector<double> values;
  nlohmann::json to_json() const;
};

struct NoiseStudyCell {
  double eta = 0;
  SeedStat plain, recalibrated;  // top-1 percent
  std::vector<nlohmann::json> runs;
};

struct NoiseStudyResult {
  std::vector<NoiseStudyCell> cells;
  nlohmann::json quantization;  // {"fp32": eval json, "a8w8": ..., "a8w8_recal": ...} or notes
  int64_t test_images = 0;
  int64_t seeds = 0;
  nlohmann::json config;
  nlohmann::json to_json() const;
  std::string to_markdown(const std::string& model_name = "model") const;
};

NoiseStudyResult run_noise_study(Network& model, const nlohmann::json& model_metadata,
                                 const DataSource& train, const DataSource& test,
                                 const NoiseStudyOptions& options);

SeedStat seed_stat(const std::vector<double>& values);

}  // namespace bnrecal

// The NB-SMT study (BN-recalibration paper, SySMT section): top-1 for FP32 | A8W8 | 2T | 2T +
// recal | 4T | 4T + recal, per-layer SySMT diagnostics (collision rate, MSE vs exact A8W8) and
// the speedup S = sum MACs / sum(MACs / T_l) (docs/sysmt-arithmetic.md section 8), plus an
// optional mixed-setting sweep (nbsmt_sweep.h).
//
//   bnrecal::NbsmtStudyOptions opt;  opt.protocol.eval.limit = 1000;
//   bnrecal::NbsmtStudyResult r = bnrecal::run_nbsmt_study(*net, card.calibration, {*train, *test}, opt);
//
// BN statistics are restored (BnSnapshot) after every recalibrated row; the model is left in fp32.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bnrecal/eval/study_protocol.h"
#include "bnrecal/nn/model_calibration.h"
#include "bnrecal/nn/policy_spec.h"

namespace bnrecal {

struct NbsmtStudyOptions {
  std::vector<int> threads = {2, 4};  // one row pair (plain, recal) per T
  PolicySpec base;                    // sysmt parameters (idle, round) and overrides from here
  uint64_t seed = 0;                  // recalibration image order
  // Training images (labels unused) the per-layer diagnostics are collected on; the sweep ranks
  // layers by them, so its choice never sees the test split.
  int64_t diag_images = 64;
  bool sweep = false;                 // mixed-setting sweep (two evaluations per point)
  int64_t sweep_step = 1;             // layers decelerated per sweep point (the last point takes all)
  // Measure one setting per T. false: only collect the diagnostics (the sweep's layer ranking),
  // when the settings are measured elsewhere (a study set's separate steps).
  bool settings = true;
  StudyProtocol protocol;
};

struct NbsmtLayerRow {
  std::string name;
  int64_t k = 0;
  int64_t macs = 0;  // per image
  int threads = 1;   // T_l in this setting (1 for layers not on sysmt)
  bool accelerated = false;
  double collision_rate = 0, mse = 0, activation_changed = 0, weight_changed = 0;
  nlohmann::json to_json() const;
};

struct NbsmtSetting {
  std::string label;  // "2T", "4T", "3 at 2T, rest 4T", ...
  std::vector<NbsmtLayerRow> layers;
  double speedup_all = 1, speedup_accelerated = 1;
  EvalResult plain;
  RecalOutcome recalibrated;  // over the protocol's recalibration draws
  PairedAccuracy vs_a8w8;     // plain against exact A8W8, same images
  nlohmann::json to_json() const;
};

struct NbsmtStudyResult {
  EvalResult fp32, a8w8;
  PairedAccuracy a8w8_vs_fp32;
  std::vector<NbsmtSetting> settings;  // one per T
  std::vector<NbsmtSetting> sweep;     // when options.sweep
  nlohmann::json config;
  nlohmann::json to_json() const;
};

// S = sum MACs / sum(MACs / T_l); over accelerated layers only when accelerated_only.
double nbsmt_speedup(const std::vector<NbsmtLayerRow>& layers, bool accelerated_only);

NbsmtStudyResult run_nbsmt_study(Network& model, const ModelCalibration& calibration,
                                 const StudyData& data, const NbsmtStudyOptions& options);

}  // namespace bnrecal

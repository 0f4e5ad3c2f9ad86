// The final-sample BatchNorm study (docs/methods.md section 1.4): for each dataset, architecture
// and arithmetic setting (W1A2 channelwise / layerwise / divide255, FP32), train with BN-pop
// (EMA running statistics) and BN-final (the last batch's statistics) over several seeds, record
// the test accuracy every few steps, and compare: accuracy as the mean and spread of the last
// evaluations of all seeds (the paper's error bars), its jitter, and a third column for BN-pop
// models given BN-final statistics after training (the `final` recalibration estimator).
//
//   bnrecal::BnFinalStudyOptions opt;  opt.out_dir = "results/bn_final";
//   bnrecal::BnFinalStudyResult r = bnrecal::run_bn_final_study(opt);
//
// Every run writes its checkpoint and a record (OUT/RUN.run.json, atomically, last): a run whose
// record exists is read back instead of trained again, so an interrupted study resumes.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bnrecal/nn/policy_spec.h"
#include "bnrecal/train/bn_final_summary.h"
#include "bnrecal/train/trainer.h"

namespace bnrecal {

struct BnFinalSetting {
  std::string name;        // "w1a2-channel", "fp32", ...
  PolicySpec arithmetic;   // the training (and evaluation) arithmetic
};
// W1A2 channelwise, W1A2 layerwise, W1A2 divide255 (channelwise), FP32.
std::vector<BnFinalSetting> default_bn_final_settings();

struct BnFinalStudyOptions {
  std::vector<std::string> datasets = {"fashion-mnist", "mnist"};
  std::vector<std::string> archs = {"resnet20", "vgg_small"};
  std::vector<BnFinalSetting> settings = default_bn_final_settings();
  int64_t seeds = 2;
  uint64_t base_seed = 0;
  double pop_momentum = 0.1;  // BN-pop's EMA momentum (PyTorch convention)
  TrainOptions train;         // epochs, batch size, learning rate, train/eval limits (seed and BN set per run)
  int64_t evaluations = 12;   // test evaluations per run, every steps / evaluations steps (plus the
                              // saved model's evaluation at the end, end_top1)
  int64_t last = 3;           // the last evaluations of each run that make its accuracy
  std::string out_dir;        // checkpoints and run records
  std::function<void(const std::string&)> log;
  std::function<void(int64_t done, int64_t total, const std::string& run)> progress;
};

struct BnFinalStudyResult {
  std::vector<BnFinalRun> runs;
  std::vector<BnFinalCell> cells;
  std::vector<BnFinalSettingSummary> settings;  // each setting pooled over data, architectures, seeds
  nlohmann::json config;
  nlohmann::json to_json() const;
};

BnFinalStudyResult run_bn_final_study(const BnFinalStudyOptions& options);

}  // namespace bnrecal

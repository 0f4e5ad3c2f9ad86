// The statistics of the final-sample BatchNorm study, from its run records alone (pure, so they are
// tested without training). A BN-pop run and a BN-final run with the same seed start from the same
// initialisation and see the same batches, so each seed gives one paired comparison; differences
// are reported as the mean over pairs with its standard error (sample std / sqrt(pairs)).
//
//   std::vector<bnrecal::BnFinalCell> cells = bnrecal::summarize_bn_final(runs, /*last=*/3);
//   std::vector<bnrecal::BnFinalSettingSummary> pooled = bnrecal::summarize_bn_final_settings(cells);
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bnrecal/eval/metrics.h"

namespace bnrecal {

struct BnFinalRun {
  std::string dataset, arch, setting, bn;  // bn: "pop" | "final"
  uint64_t seed = 0;
  nlohmann::json series = nlohmann::json::array();  // TrainEvaluation::to_json of every evaluation
  double end_top1 = -1;          // the trained model as saved (its own statistics), same test images
  double recal_final_top1 = -1;  // BN-pop runs: the saved model after `final` recalibration on one training batch
  double seconds = 0;
  std::vector<double> last_top1(int64_t last) const;
  nlohmann::json to_json() const;
  static BnFinalRun from_json(const nlohmann::json& j);
};

// One seed's BN-pop and BN-final runs of a cell.
struct BnFinalPair {
  uint64_t seed = 0;
  double pop = 0, final = 0;                // mean of the run's last evaluations
  double pop_jitter = 0, final_jitter = 0;  // sample std of the run's last evaluations
  double pop_end = -1, final_end = -1;      // each trained model as saved (-1: not recorded)
  double pop_recal_final = -1;              // the saved BN-pop model after `final` recalibration (-1: none)
  nlohmann::json to_json() const;
};

// Mean of paired differences and its standard error (0 with fewer than two pairs).
struct PairedDifference {
  double mean = 0, standard_error = 0;
  int64_t pairs = 0;
  nlohmann::json to_json() const;
};
PairedDifference paired_difference(const std::vector<double>& differences);

struct BnFinalCell {
  std::string dataset, arch, setting;
  SeedStat pop, final, pop_recal_final;  // pop / final: the last evaluations of every seed
  std::vector<BnFinalPair> pairs;        // seeds that have both runs
  PairedDifference difference;           // final - pop, per seed
  PairedDifference jitter_difference;    // final_jitter - pop_jitter, per seed
  PairedDifference end_difference;       // final_end - pop_end, per seed (one evaluation, at the end)
  PairedDifference recal_difference;     // pop_recal_final - pop_end, per seed: the same weights, BN-final
                                         // statistics given after training vs the EMA ones
  double pop_jitter = 0, final_jitter = 0;  // mean over seeds of each run's jitter
  nlohmann::json to_json() const;
};

// A setting's paired differences pooled over every dataset, architecture and seed.
struct BnFinalSettingSummary {
  std::string setting;
  PairedDifference difference, jitter_difference, end_difference, recal_difference;
  nlohmann::json to_json() const;
};

std::vector<BnFinalCell> summarize_bn_final(const std::vector<BnFinalRun>& runs, int64_t last);
std::vector<BnFinalSettingSummary> summarize_bn_final_settings(const std::vector<BnFinalCell>& cells);

}  // namespace bnrecal

// What every study shares: how the test split is evaluated, how BN is recalibrated, and the one
// measurement both studies repeat: accuracy under the model's current policies without and with
// recalibration, on the same test images.
//
//   bnrecal::StudyProtocol p;  p.eval.limit = 1000;  p.recal.images = 2048;
//   bnrecal::BnSnapshot clean(*net);
//   bnrecal::PlainAndRecalibrated r = bnrecal::measure_plain_and_recalibrated(*net, data, p, seed, clean);
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "bnrecal/data/data_source.h"
#include "bnrecal/eval/evaluate.h"
#include "bnrecal/nn/network.h"
#include "bnrecal/recal/recalibrate.h"

namespace bnrecal {

struct EvalProtocol {
  int64_t batch_size = 256;
  int64_t limit = -1;  // first N test images (-1: all)
  Normalization normalization;
};

// Recalibration on `images` training images drawn with the step's seed (labels unused).
struct RecalProtocol {
  int64_t images = 2048;
  int64_t batch_size = 256;
  bool augment = false;
  RecalOptions options;  // estimator, momentum, layers, sequential
  nlohmann::json to_json() const;
};

struct StudyProtocol {
  EvalProtocol eval;
  RecalProtocol recal;
  std::function<void(const std::string&)> log;  // progress lines; may be empty
  void say(const std::string& line) const {
    if (log) log(line);
  }
};

struct StudyData {
  const DataSource& train;  // recalibration images
  const DataSource& test;   // accuracy
};

struct PlainAndRecalibrated {
  EvalResult plain, recalibrated;
  RecalReport recalibration;
  nlohmann::json to_json() const;
};

EvalResult evaluate_test(Network& model, const DataSource& test, const EvalProtocol& protocol,
                         int64_t limit);
// Evaluates the model's current policies, recalibrates its BN statistics under them on training
// images drawn with recal_seed, evaluates again, and puts back the statistics of `clean`.
PlainAndRecalibrated measure_plain_and_recalibrated(Network& model, const StudyData& data,
                                                    const StudyProtocol& protocol,
                                                    uint64_t recal_seed, const BnSnapshot& clean);
// InputError unless the training split holds the recalibration images and the model has BN layers.
void check_study_inputs(Network& model, const StudyData& data, const StudyProtocol& protocol);

// "92.31" (fixed digits), for log lines.
std::string fixed(double value, int digits = 2);

}  // namespace bnrecal

// Does recalibration still work once BatchNorm is folded into the convolutions, as deployment
// toolchains fold it? The same model two ways, under the same perturbation draws, on the same test
// images: unfolded with ordinary recalibration, and folded with a re-normalization layer after each
// conv (onnx/batch_norm_folding.h) made the identity on the clean model and then recalibrated; each
// recalibration draw measures the clean target on its own training images, as `bnrecal recalibrate`
// does.
// Each perturbation seed is compared image by image: folded vs unfolded without and with
// recalibration (paired_accuracy.h).
//
//   bnrecal::FoldedBnStudy r = bnrecal::run_folded_bn_study(model, data, protocol, perturbation, 3, 0);
#pragma once
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "bnrecal/eval/study_protocol.h"
#include "bnrecal/models/checkpoint.h"
#include "bnrecal/nn/policy_spec.h"

namespace bnrecal {

struct FoldedBnDraw {
  uint64_t seed = 0;
  PlainAndRecalibrated unfolded, folded;
  PairedAccuracy folded_vs_unfolded_plain;  // B = folded, A = unfolded
  RepeatedGain folded_vs_unfolded_recalibrated;  // per recalibration draw (same training images)
  nlohmann::json to_json() const;
};

struct FoldedBnStudy {
  int folded_layers = 0;        // BatchNorms folded
  int renormalized_layers = 0;  // re-normalization layers inserted
  EvalResult clean_unfolded, clean_folded;  // fp32, no perturbation
  PairedAccuracy clean_folded_vs_unfolded;
  std::vector<FoldedBnDraw> draws;
  PooledDifference recalibrated_overall;  // folded - unfolded, every seed and recalibration draw
  nlohmann::json to_json() const;
};

// model: any model (a zoo architecture is traced); its card's calibration serves both forms (the
// layers keep their names). Perturbation seeds seed .. seed + perturbation_draws - 1.
FoldedBnStudy run_folded_bn_study(LoadedModel& model, const StudyData& data, const StudyProtocol& protocol,
                                  const PolicySpec& perturbation, int64_t perturbation_draws, uint64_t seed);

}  // namespace bnrecal

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

// The re-normalization layers' epsilon, and where their clean target comes from.
enum class RenormEpsilon {
  kFixed,    // 1e-5 in every channel: all a model folded by a deployment toolchain allows
  kMatched,  // the folded BN's own epsilon, g^2 eps per channel on the conv's output (add_renormalization
             // with folded_scales): recalibration then corrects as the unfolded model's does
};
enum class RenormTarget {
  kMeasured,  // the clean model's moments on each recalibration draw's own images (as `bnrecal
              // recalibrate`): the clean model exactly
  kTraining,  // the folded BN's training statistics (folded_scales): with the matched epsilon, the
              // unfolded model's recalibration exactly; a layer after a conv without a BN keeps the
              // measured target
};
struct RenormOptions {
  RenormEpsilon epsilon = RenormEpsilon::kFixed;
  RenormTarget target = RenormTarget::kMeasured;
  nlohmann::json to_json() const;
};

struct FoldedBnDraw {
  uint64_t seed = 0;
  PlainAndRecalibrated unfolded, folded;
  PairedAccuracy folded_vs_unfolded_plain;  // B = folded, A = unfolded
  RepeatedGain folded_vs_unfolded_recalibrated;  // per recalibration draw (same training images)
  nlohmann::json to_json() const;
};

struct FoldedBnStudy {
  RenormOptions renorm;
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
                                  const PolicySpec& perturbation, int64_t perturbation_draws, uint64_t seed,
                                  const RenormOptions& renorm = {});

}  // namespace bnrecal

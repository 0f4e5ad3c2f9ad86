// BatchNorm folded into the preceding convolution, and its inverse for recalibration: a
// re-normalization layer inserted after each conv of a folded model.
//
// Folding (what deployment toolchains, and torch.onnx's eval export, do): W' = W * g, b' = (b - mean)
// * g + beta with g = gamma / sqrt(var + eps) per output channel; the BN node disappears.
//
// Re-normalization: a folded model has no BN statistics left to recalibrate. A BatchNormalization
// inserted after a conv, with running statistics equal to the clean model's statistics of that
// conv's output and gamma = sqrt(var + eps), beta = mean, is the identity on the clean model; a
// recalibration under a perturbation then maps the perturbed per-channel moments back to the
// clean ones, as recalibrating the folded BN would have, and folding exports it into the conv.
//
//   bnrecal::fold_batch_norms(m);                              // m: an OnnxModel
//   std::vector<std::string> layers = bnrecal::add_renormalization(m);
#pragma once
#include <string>
#include <vector>

#include "bnrecal/onnx/onnx_file.h"

namespace bnrecal {

// Folds every BatchNormalization whose input is a Conv output read by nothing else; returns how
// many. Module names are assigned again (the graph's BN modules disappear).
int fold_batch_norms(OnnxModel& model);

// Inserts a BatchNormalization (identity: mean 0, var 1 - eps, gamma 1, beta 0) after every Conv
// whose output does not go straight into a BatchNormalization, named "<conv module>_renorm";
// returns the new BN modules' names in graph order.
std::vector<std::string> add_renormalization(OnnxModel& model);

}  // namespace bnrecal

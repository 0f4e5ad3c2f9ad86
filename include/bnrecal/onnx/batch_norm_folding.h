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
//   std::vector<bnrecal::RenormLayer> layers = bnrecal::add_renormalization(m);  // .name: the BN module
#pragma once
#include <map>
#include <string>
#include <vector>

#include "bnrecal/onnx/onnx_file.h"

namespace bnrecal {

// Folds every BatchNormalization whose input is a Conv output read by nothing else; returns how
// many. Module names are assigned again (the graph's BN modules disappear).
int fold_batch_norms(OnnxModel& model);

// What fold_batch_norms folds at one BatchNormalization: the per-channel factor it multiplies
// into the conv, g = gamma / sqrt(var + eps), the BN's epsilon, and the clean folded output's
// moments by the BN's training statistics, mean beta and variance g^2 var (float64 [C]).
struct FoldedScale {
  at::Tensor g;
  double epsilon = 1e-5;
  at::Tensor training_mean, training_variance;
};
// Every BatchNormalization fold_batch_norms would fold, keyed by its output value, which the folded
// conv (and a re-normalization layer after it) takes over.
std::map<std::string, FoldedScale> folded_scales(const OnnxModel& unfolded);

// A re-normalization layer: its BN module's name, and the value it writes (the conv's output
// before the layer was inserted; after fold_batch_norms, the folded BN's output).
struct RenormLayer {
  std::string name, output;
};

// Inserts a BatchNormalization (identity: mean 0, var 1 - eps, gamma 1, beta 0) after every Conv
// whose output does not go straight into a BatchNormalization, named "<conv module>_renorm";
// returns the new layers in graph order. Its epsilon is 1e-5 on the conv's output:
// all that a file folded elsewhere allows. Where the conv's output is a key of `matched`, the layer
// instead normalizes the output divided by g with the folded BN's own epsilon and multiplies by g
// again (Conv, Mul 1/g, BatchNormalization, Mul g): g^2 eps per channel on the conv's output, in
// training and eval mode alike, so a recalibration corrects exactly as recalibrating the original
// BN would. The fixed epsilon corrects channels whose variance is near the BN's eps more fully.
std::vector<RenormLayer> add_renormalization(OnnxModel& model, const std::map<std::string, FoldedScale>& matched = {});

}  // namespace bnrecal

// Per-layer resolution: turns a PolicySpec into one policy instance per conv/linear layer.
//
//   bnrecal::apply_policy(*net, bnrecal::PolicySpec::parse("a8w8 noise=seed-003 eta=0.04"),
//                         /*seed=*/1, card.calibration);
//   std::cout << bnrecal::policy_summary(*net).dump(2);
//
// Resolution per layer, in order:
//  1. the base policy (spec.policy); a non-fp32 base leaves the first conv, linear layers and
//     depthwise convs in fp32, as the papers do (not accelerated by default), unless its entry's
//     edge_policy names another policy for them;
//  2. overrides, in the order given, last match wins; a pattern matching no layer is an
//     InputError (catches typos);
//  3. noise (if any) wraps the layer's policy, except layers matching noise.exclude. Default:
//     noise on every layer including the first conv and fc, as the noisy-weights paper does.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/nn/module.h>

#include "bnrecal/nn/arith_policy.h"
#include "bnrecal/nn/model_calibration.h"
#include "bnrecal/nn/policy_spec.h"

namespace bnrecal {

// Steps 1 and 2 for the given layers (in forward order): the policy name of each. InputError for
// an override matching no layer.
std::vector<std::string> resolve_layer_policies(const std::vector<LayerInfo>& layers,
                                                const PolicySpec& spec);

// InputError unless spec can run a model whose weights were trained in
// calibration.training_arithmetic: the same policy with the same parameters (noise added, or
// overrides to fp32 or that policy, are fine). Models trained in fp32 run under anything.
void check_training_arithmetic(const PolicySpec& spec, const ModelCalibration& calibration);

// The policy of each layer (in forward order) under spec, with every check apply_policy makes:
// for layers that are not ArithConv2d / ArithLinear
// modules (the Python package's torch.nn models). Throws InputError as apply_policy does.
std::vector<std::shared_ptr<ArithPolicy>> build_layer_policies(const std::vector<LayerInfo>& layers,
                                                               const PolicySpec& spec, uint64_t seed,
                                                               const ModelCalibration& calibration = {});

// Sets every ArithConv2d / ArithLinear policy of model from spec. Throws InputError (model
// untouched) for unknown names, overrides matching nothing, a spec the model's training
// arithmetic rules out, a failed model-level check (e.g. a8w8 without calibration) or channel
// orders naming unknown layers.
void apply_policy(torch::nn::Module& model, const PolicySpec& spec, uint64_t seed,
                  const ModelCalibration& calibration = {});

// [{"name", "kind": "conv"|"linear", "first_conv", "policy": describe()}, ...] in layer order.
nlohmann::json policy_summary(torch::nn::Module& model);

}  // namespace bnrecal

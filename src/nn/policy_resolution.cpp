#include "bnrecal/nn/policy_resolution.h"

#include <algorithm>
#include <map>

#include "bnrecal/core/error.h"
#include "bnrecal/core/name_match.h"
#include "bnrecal/nn/arith_layers.h"
#include "bnrecal/nn/noise_policy.h"
#include "bnrecal/nn/policy_registry.h"

namespace bnrecal {

std::vector<std::string> resolve_layer_policies(const std::vector<LayerInfo>& layers,
                                                const PolicySpec& spec) {
  std::vector<std::string> names;
  for (const auto& o : spec.overrides) {
    const bool any = std::any_of(layers.begin(), layers.end(),
                                 [&](const LayerInfo& l) { return name_matches(o.pattern, l.name); });
    if (!any) {
      for (const auto& l : layers) names.push_back(l.name);
      throw InputError("override '" + o.pattern + "=" + o.policy + "' matches no layer (layers: " +
                       join_names(names) + ")");
    }
  }
  const PolicyEntry& base = find_policy(spec.policy);
  const PolicyParams base_params = base.resolve(spec.params);
  for (const auto& layer : layers) {
    const bool kept_exact = layer.is_first_conv || layer.is_linear || layer.is_depthwise;
    std::string name = spec.policy;
    if (spec.policy != "fp32" && kept_exact) name = base.edge_policy ? base.edge_policy(layer, base_params) : "fp32";
    for (const auto& o : spec.overrides) {
      if (name_matches(o.pattern, layer.name)) name = o.policy;
    }
    names.push_back(name);
  }
  return names;
}

void check_training_arithmetic(const PolicySpec& spec, const ModelCalibration& calibration) {
  if (!calibration.training_arithmetic || calibration.training_arithmetic->policy == "fp32") return;
  const PolicySpec& trained = *calibration.training_arithmetic;
  bool fits = spec.policy == trained.policy;
  for (const ParamDef& d : find_policy(trained.policy).params) fits = fits && spec.param(d.key) == trained.param(d.key);
  for (const auto& o : spec.overrides) fits = fits && (o.policy == trained.policy || o.policy == "fp32");
  if (!fits) {
    throw InputError("the model was trained in '" + trained.to_text() + "' arithmetic (quantization-aware), so its "
                     "weights only run in it; '" + spec.to_text() + "' does not (noise, and overrides to fp32 or " +
                     trained.policy + ", combine with it)");
  }
}

std::vector<std::shared_ptr<ArithPolicy>> build_layer_policies(const std::vector<LayerInfo>& layers,
                                                               const PolicySpec& spec, uint64_t seed,
                                                               const ModelCalibration& calibration) {
  spec.validate();
  check_training_arithmetic(spec, calibration);
  const std::vector<std::string> names = resolve_layer_policies(layers, spec);
  std::vector<std::string> layer_names;
  for (const auto& l : layers) layer_names.push_back(l.name);
  check_channel_order_layers(calibration.channel_orders, layer_names);
  // Each policy's resolved parameters and model-level check, once.
  std::map<std::string, PolicyParams> params;
  for (const auto& name : spec.used_policies()) {
    const PolicyEntry& entry = find_policy(name);
    params[name] = entry.resolve(spec.params);
    const bool used = std::find(names.begin(), names.end(), name) != names.end();
    if (used && entry.check_model) entry.check_model(params[name], calibration);
  }
  std::unique_ptr<NoiseModel> noise;
  if (spec.noise.enabled()) noise = std::make_unique<NoiseModel>(spec.noise.model());
  std::vector<std::shared_ptr<ArithPolicy>> policies;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (!params.count(names[i])) params[names[i]] = find_policy(names[i]).resolve(spec.params);
    const PolicyContext ctx{params.at(names[i]), calibration, seed};
    std::shared_ptr<ArithPolicy> policy = find_policy(names[i]).factory(layers[i], ctx);
    if (noise && !matches_any(spec.noise.exclude, layers[i].name)) {
      policy = std::make_shared<NoisyWeightsPolicy>(policy, *noise, layers[i], seed);
    }
    policies.push_back(policy);
  }
  return policies;
}

void apply_policy(torch::nn::Module& model, const PolicySpec& spec, uint64_t seed,
                  const ModelCalibration& calibration) {
  std::vector<ArithLayerRef> layers = arith_layers(model);
  std::vector<LayerInfo> infos;
  for (const auto& l : layers) infos.push_back(l.info());
  // Build every policy first, then install: a failure leaves the model untouched.
  const std::vector<std::shared_ptr<ArithPolicy>> policies = build_layer_policies(infos, spec, seed, calibration);
  for (size_t i = 0; i < layers.size(); ++i) layers[i].set_policy(policies[i]);
}

nlohmann::json policy_summary(torch::nn::Module& model) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& layer : arith_layers(model)) {
    out.push_back({{"name", layer.name}, {"kind", layer.conv ? "conv" : "linear"},
                   {"first_conv", layer.is_first_conv}, {"policy", layer.policy().describe()}});
  }
  return out;
}

}  // namespace bnrecal

// Policy registry and perturbation spec: turns "a8w8 + seed-003 noise at eta 0.04, fc in fp32"
// into one policy instance per conv/linear layer.
//
//   bnrecal::PolicySpec spec = bnrecal::PolicySpec::parse("a8w8 noise=seed-003 eta=0.04 override=fc=fp32");
//   bnrecal::apply_policy(*net, spec, /*seed=*/1, checkpoint_metadata);   // metadata: calibration
//   std::cout << bnrecal::policy_summary(*net).dump(2);
//
// Resolution per layer, in order:
//  1. the base policy (spec.policy); a non-fp32 base leaves the first conv, linear layers and
//     depthwise convs in fp32, as the papers do (not accelerated by default);
//  2. overrides, in the order given, last match wins; a pattern is an exact layer name or a glob
//     ("layer4.*"), and a pattern matching no layer is an InputError (catches typos);
//  3. noise (if any) wraps the layer's policy, except layers matching noise_exclude. Default:
//     noise on every layer including the first conv and fc, as the noisy-weights paper does.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/nn/module.h>

#include "bnrecal/arith/sysmt.h"
#include "bnrecal/nn/a8w8_policy.h"
#include "bnrecal/nn/arith_policy.h"
#include "bnrecal/nn/noise_policy.h"
#include "bnrecal/nn/quantizer.h"

namespace bnrecal {

struct PolicyOverride {
  std::string pattern;
  std::string policy;
};

struct PolicySpec {
  std::string policy = "fp32";
  ActivationMode activation_mode = ActivationMode::kUnsigned;  // a8w8
  std::string noise;                  // "" = no noise; a preset name or "custom"
  NoisePresetParams noise_params;     // eta, sigma_t, sigma_s
  NoiseModel custom_noise;            // used when noise == "custom"
  std::vector<std::string> noise_exclude;
  std::vector<PolicyOverride> overrides;
  // sysmt (used by every layer whose policy resolves to "sysmt"): smt=1|2|4 idle=either|act
  // round=rne|half_up|trunc diagnostics=0|1
  int sysmt_threads = 2;
  std::string sysmt_idle = "either";
  std::string sysmt_round = "rne";
  bool sysmt_diagnostics = false;
  sysmt::SysmtConfig sysmt_config() const;  // throws InputError for bad values
  bool uses_policy(const std::string& name) const;  // base or any override

  nlohmann::json to_json() const;
  static PolicySpec from_json(const nlohmann::json& j);
  // Whitespace-separated: the base policy name first, then key=value items:
  //   noise=PRESET eta=X sigma_t=X sigma_s=X override=PATTERN=POLICY noise_exclude=PATTERN
  //   activations=unsigned|signed smt=1|2|4 idle=either|act round=rne|half_up|trunc
  //   diagnostics=0|1
  static PolicySpec parse(const std::string& text);
  // The same form back, only the items that matter for this spec ("a8w8 noise=seed-003 eta=0.04
  // sigma_t=0.2 sigma_s=0.1"); parse(to_text()) gives the spec back except custom noise models.
  std::string to_text() const;
  // The resolved noise model (throws InputError for unknown presets or negative eta).
  NoiseModel noise_model() const;
  // Throws InputError if a policy or preset name is unknown or a parameter is out of range.
  void validate() const;
};

// What a factory gets besides the layer.
struct PolicyContext {
  const PolicySpec& spec;
  const nlohmann::json& model_metadata;  // checkpoint metadata (activation calibration, ...)
  uint64_t seed;
};

using PolicyFactory =
    std::function<std::shared_ptr<ArithPolicy>(const LayerInfo&, const PolicyContext&)>;

struct PolicyEntry {
  std::string name;
  std::string description;
  PolicyFactory factory;
};

// The calibrated A8W8 parameters of one layer from checkpoint metadata, exactly as the a8w8
// factory builds them (InputError when the model is not calibrated or the layer saw negatives).
A8W8Params a8w8_params_from_metadata(const LayerInfo& layer, const PolicyContext& ctx);

// Registers (or replaces) a policy. fp32 and a8w8 are built in; other areas (sysmt) call this
// from an init function (a static registrar in a static archive may be dropped by the linker).
void register_policy(PolicyEntry entry);
std::vector<PolicyEntry> registered_policies();  // sorted by name
// Throws InputError listing the known names.
const PolicyEntry& find_policy(const std::string& name);

// Sets every ArithConv2d / ArithLinear policy of model from spec. Throws InputError (model
// untouched) for unknown names, overrides matching nothing, or a8w8 without calibration.
void apply_policy(torch::nn::Module& model, const PolicySpec& spec, uint64_t seed,
                  const nlohmann::json& model_metadata = nlohmann::json::object());

// [{"name", "kind": "conv"|"linear", "first_conv", "policy": describe()}, ...] in layer order.
nlohmann::json policy_summary(torch::nn::Module& model);

// True when name equals pattern or matches it as a glob (fnmatch: *, ?, [...]).
bool name_matches(const std::string& pattern, const std::string& name);

}  // namespace bnrecal

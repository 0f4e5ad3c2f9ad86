// A perturbation spec: the base arithmetic policy, its typed parameters, per-layer overrides and
// analog noise, e.g. "sysmt smt=4 override=layer3.*=a8w8 noise=seed-003 eta=0.04".
//
//   bnrecal::PolicySpec spec = bnrecal::PolicySpec::parse("a8w8 override=fc=fp32");
//   bnrecal::apply_policy(*net, spec, /*seed=*/1, card.calibration);   // policy_resolution.h
//   std::cout << spec.to_text();
//
// Text form: whitespace-separated; the policy name first, then key=value items:
//   override=PATTERN=POLICY   per-layer policy (exact name or glob; repeatable; last match wins)
//   noise=... eta=... sigma_t=... sigma_s=... noise_exclude=...   (noise_spec.h)
//   any parameter a registered policy declares (smt=4, idle=act, activations=signed, ...)
// An unknown key is an InputError naming it and listing the valid ones.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bnrecal/nn/noise_spec.h"
#include "bnrecal/nn/policy_params.h"

namespace bnrecal {

struct PolicyOverride {
  std::string pattern;
  std::string policy;
  // "PATTERN=POLICY" (the pattern may itself contain '='; the last one separates). InputError
  // naming `what` (e.g. "--override") when malformed.
  static PolicyOverride parse(const std::string& text, const std::string& what = "override");
};

struct PolicySpec {
  std::string policy = "fp32";
  PolicyParams params;  // only the values given; defaults come from the registry
  std::vector<PolicyOverride> overrides;
  NoiseSpec noise;

  // Base policy first, then the override policies in order, without repeats.
  std::vector<std::string> used_policies() const;
  bool uses_policy(const std::string& name) const;
  // Sets a parameter from its text; InputError for unknown keys or bad values.
  void set_param(const std::string& key, const std::string& value);
  // The resolved value of a declared key (given, else default).
  nlohmann::json param(const std::string& key) const;

  // Throws InputError if a policy or preset name is unknown or a parameter is out of range.
  void validate() const;

  static PolicySpec parse(const std::string& text);
  // The text form with the resolved parameters of the policies in use (parameters whose
  // policies are unused are left out); parse(to_text()) gives the same spec back, except
  // custom noise models.
  std::string to_text() const;
  // {"policy", "params" (resolved, policies in use), "overrides", "noise"}.
  nlohmann::json to_json() const;
  // Accepts to_json()'s form and the pre-registry form ("activations", "sysmt": {threads, idle,
  // round, diagnostics}, top-level "noise_exclude") recorded in older checkpoints. Unknown keys
  // are an InputError.
  static PolicySpec from_json(const nlohmann::json& j);
};

}  // namespace bnrecal

// The analog-noise part of a perturbation spec: which noise model wraps the layers' policies
// (noise_policy.h) and which layers it spares. Its key=value items in the policy text form:
//   noise=PRESET eta=X sigma_t=X sigma_s=X noise_exclude=PATTERN
//
//   bnrecal::NoiseSpec n;  n.set("noise", "seed-003");  n.set("eta", "0.04");
//   bnrecal::NoiseModel m = n.model();
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bnrecal/nn/noise_policy.h"

namespace bnrecal {

struct NoiseSpec {
  std::string preset;                // "" = no noise; a preset name or "custom"
  NoisePresetParams params;          // eta, sigma_t, sigma_s
  NoiseModel custom;                 // used when preset == "custom"
  std::vector<std::string> exclude;  // layer names or globs left noise-free

  bool enabled() const { return !preset.empty(); }
  // The resolved model; InputError for an unknown preset or a negative eta / sigma.
  NoiseModel model() const;

  // Whether key is one of this spec's text-form keys, and setting one from its text.
  static bool is_key(const std::string& key);
  static std::vector<std::string> keys();
  void set(const std::string& key, const std::string& value);

  // null when disabled, else the model plus sigma_t, sigma_s and exclude.
  nlohmann::json to_json() const;
  // Accepts to_json()'s form; exclude may also come from the legacy top-level "noise_exclude".
  static NoiseSpec from_json(const nlohmann::json& noise, const nlohmann::json& legacy_exclude);
  // " noise=seed-003 eta=0.04 sigma_t=0.2 sigma_s=0.1 noise_exclude=conv1" ("" when disabled).
  std::string to_text() const;
};

}  // namespace bnrecal

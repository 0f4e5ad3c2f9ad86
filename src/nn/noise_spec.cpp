#include "bnrecal/nn/noise_spec.h"

#include <cmath>
#include <sstream>

#include "bnrecal/core/error.h"

namespace bnrecal {

namespace {
double parse_nonnegative(const std::string& key, const std::string& value) {
  try {
    size_t used = 0;
    const double v = std::stod(value, &used);
    if (used == value.size() && std::isfinite(v) && v >= 0) return v;
  } catch (const std::exception&) {
  }
  throw InputError("policy spec: " + key + " must be a number >= 0, got '" + value + "'");
}
}  // namespace

NoiseModel NoiseSpec::model() const {
  if (preset == "custom") {
    require(!custom.factors.empty(), "custom noise needs at least one factor");
    return custom;
  }
  return noise_preset(preset, params);
}

std::vector<std::string> NoiseSpec::keys() { return {"noise", "eta", "sigma_t", "sigma_s", "noise_exclude"}; }

bool NoiseSpec::is_key(const std::string& key) {
  for (const auto& k : keys()) {
    if (k == key) return true;
  }
  return false;
}

void NoiseSpec::set(const std::string& key, const std::string& value) {
  if (key == "noise") preset = value;
  else if (key == "eta") params.eta = parse_nonnegative(key, value);
  else if (key == "sigma_t") params.sigma_t = parse_nonnegative(key, value);
  else if (key == "sigma_s") params.sigma_s = parse_nonnegative(key, value);
  else if (key == "noise_exclude") exclude.push_back(value);
  else throw std::logic_error("NoiseSpec::set: not a noise key: " + key);
}

nlohmann::json NoiseSpec::to_json() const {
  if (!enabled()) return nullptr;
  nlohmann::json j = model().to_json();
  j["sigma_t"] = params.sigma_t;
  j["sigma_s"] = params.sigma_s;
  j["exclude"] = exclude;
  return j;
}

NoiseSpec NoiseSpec::from_json(const nlohmann::json& n, const nlohmann::json& legacy_exclude) {
  NoiseSpec s;
  if (n.is_null()) return s;
  require(n.is_object(), "policy JSON: 'noise' must be null or an object");
  s.preset = n.value("preset", "custom");
  s.params.eta = n.value("eta", 0.0);
  s.params.sigma_t = n.value("sigma_t", 0.2);
  s.params.sigma_s = n.value("sigma_s", 0.1);
  if (s.preset == "custom") s.custom = NoiseModel::from_json(n);
  const nlohmann::json& exclude = n.contains("exclude") ? n.at("exclude") : legacy_exclude;
  if (!exclude.is_null()) s.exclude = exclude.get<std::vector<std::string>>();
  s.model();  // validates the preset and its parameters
  return s;
}

std::string NoiseSpec::to_text() const {
  if (!enabled()) return "";
  std::ostringstream out;
  out << " noise=" << preset << " eta=" << params.eta << " sigma_t=" << params.sigma_t
      << " sigma_s=" << params.sigma_s;
  for (const auto& e : exclude) out << " noise_exclude=" << e;
  return out.str();
}

}  // namespace bnrecal

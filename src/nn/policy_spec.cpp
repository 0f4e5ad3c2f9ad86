#include "bnrecal/nn/policy_spec.h"

#include <algorithm>
#include <sstream>

#include "bnrecal/core/error.h"
#include "bnrecal/core/name_match.h"
#include "bnrecal/nn/policy_registry.h"

namespace bnrecal {

PolicyOverride PolicyOverride::parse(const std::string& text, const std::string& what) {
  const auto eq = text.rfind('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
    throw InputError(what + " must be PATTERN=POLICY, got '" + text + "'");
  }
  return {text.substr(0, eq), text.substr(eq + 1)};
}

std::vector<std::string> PolicySpec::used_policies() const {
  std::vector<std::string> used{policy};
  for (const auto& o : overrides) {
    if (std::find(used.begin(), used.end(), o.policy) == used.end()) used.push_back(o.policy);
  }
  return used;
}

bool PolicySpec::uses_policy(const std::string& name) const {
  const auto used = used_policies();
  return std::find(used.begin(), used.end(), name) != used.end();
}

namespace {
[[noreturn]] void unknown_key(const std::string& key) {
  std::vector<std::string> valid = param_keys();
  valid.push_back("override");
  for (const auto& k : NoiseSpec::keys()) valid.push_back(k);
  std::sort(valid.begin(), valid.end());
  throw InputError("policy spec: unknown key '" + key + "' (valid: " + join_names(valid) + ")");
}

std::string value_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "1" : "0";
  return v.dump();
}
}  // namespace

void PolicySpec::set_param(const std::string& key, const std::string& value) {
  const ParamDef* def = find_param(key);
  if (def == nullptr) unknown_key(key);
  params.set(key, def->parse(value));
}

nlohmann::json PolicySpec::param(const std::string& key) const {
  if (params.has(key)) return params.at(key);
  const ParamDef* def = find_param(key);
  if (def == nullptr) throw std::logic_error("undeclared policy parameter '" + key + "'");
  return def->default_value;
}

void PolicySpec::validate() const {
  for (const auto& name : used_policies()) find_policy(name);
  for (const auto& [key, value] : params.values()) {
    const ParamDef* def = find_param(key);
    if (def == nullptr) unknown_key(key);
    def->check(value);
  }
  if (noise.enabled()) noise.model();
}

PolicySpec PolicySpec::parse(const std::string& text) {
  std::istringstream in(text);
  PolicySpec s;
  bool first = true;
  for (std::string item; in >> item; first = false) {
    const auto eq = item.find('=');
    if (first && eq == std::string::npos) {
      s.policy = item;
      continue;
    }
    if (eq == std::string::npos) throw InputError("policy spec: expected key=value, got '" + item + "'");
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "override") s.overrides.push_back(PolicyOverride::parse(value));
    else if (NoiseSpec::is_key(key)) s.noise.set(key, value);
    else s.set_param(key, value);
  }
  s.validate();
  return s;
}

std::string PolicySpec::to_text() const {
  std::ostringstream out;
  out << policy;
  std::vector<std::string> shown;
  for (const auto& name : used_policies()) {
    for (const ParamDef& d : find_policy(name).params) {
      if (std::find(shown.begin(), shown.end(), d.key) != shown.end()) continue;
      shown.push_back(d.key);
      const nlohmann::json v = param(d.key);
      if (d.show_default || v != d.default_value) out << " " << d.key << "=" << value_text(v);
    }
  }
  for (const auto& o : overrides) out << " override=" << o.pattern << "=" << o.policy;
  out << noise.to_text();
  return out.str();
}

nlohmann::json PolicySpec::to_json() const {
  nlohmann::json resolved = nlohmann::json::object();
  for (const auto& name : used_policies()) {
    for (const ParamDef& d : find_policy(name).params) resolved[d.key] = param(d.key);
  }
  nlohmann::json ov = nlohmann::json::array();
  for (const auto& o : overrides) ov.push_back({{"pattern", o.pattern}, {"policy", o.policy}});
  return {{"policy", policy}, {"params", resolved}, {"overrides", ov}, {"noise", noise.to_json()}};
}

namespace {

void set_checked(PolicySpec& s, const std::string& key, const nlohmann::json& value) {
  const ParamDef* def = find_param(key);
  if (def == nullptr) unknown_key(key);
  s.params.set(key, def->check(value));
}

// Checkpoints recorded before the registry spelled the sysmt and a8w8 parameters differently.
void read_legacy_params(PolicySpec& s, const nlohmann::json& j) {
  if (j.contains("activations")) set_checked(s, "activations", j.at("activations"));
  if (!j.contains("sysmt")) return;
  const nlohmann::json& t = j.at("sysmt");
  const std::pair<const char*, const char*> renamed[] = {
      {"threads", "smt"}, {"idle", "idle"}, {"round", "round"}, {"diagnostics", "diagnostics"}};
  for (const auto& [old_key, key] : renamed) {
    if (t.contains(old_key)) set_checked(s, key, t.at(old_key));
  }
}

PolicySpec spec_from_json(const nlohmann::json& j) {
  require(j.is_object(), "policy JSON must be an object");
  const std::vector<std::string> known = {"policy", "params", "overrides", "noise",
                                          "noise_exclude", "activations", "sysmt"};
  for (const auto& item : j.items()) {
    if (std::find(known.begin(), known.end(), item.key()) == known.end()) {
      throw InputError("policy JSON: unknown key '" + item.key() + "' (valid: " + join_names(known) + ")");
    }
  }
  PolicySpec s;
  s.policy = j.value("policy", "fp32");
  read_legacy_params(s, j);
  const nlohmann::json params = j.value("params", nlohmann::json::object());
  for (const auto& [key, value] : params.items()) set_checked(s, key, value);
  for (const auto& o : j.value("overrides", nlohmann::json::array())) {
    s.overrides.push_back({o.at("pattern").get<std::string>(), o.at("policy").get<std::string>()});
  }
  s.noise = NoiseSpec::from_json(j.value("noise", nlohmann::json()), j.value("noise_exclude", nlohmann::json()));
  s.validate();
  return s;
}

}  // namespace

PolicySpec PolicySpec::from_json(const nlohmann::json& j) {
  return with_input_errors<nlohmann::json::exception>("policy JSON: ", [&] { return spec_from_json(j); });
}

}  // namespace bnrecal

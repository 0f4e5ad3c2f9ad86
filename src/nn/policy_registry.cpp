#include "bnrecal/nn/policy_registry.h"

#include <fnmatch.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <sstream>

#include "bnrecal/core/error.h"
#include "bnrecal/nn/a8w8_policy.h"
#include "bnrecal/nn/arith_layers.h"
#include "bnrecal/nn/calibration.h"
#include "bnrecal/nn/sysmt_policy.h"

namespace bnrecal {

A8W8Params a8w8_params_from_metadata(const LayerInfo& layer, const PolicyContext& ctx) {
  const nlohmann::json& meta = ctx.model_metadata;
  if (!meta.is_object() || !meta.contains(kCalibrationKey)) {
    throw InputError("a8w8 needs calibrated activation ranges but the model has none; run "
                     "`bnrecal calibrate --model MODEL -o MODEL_cal.safetensors` and use that file");
  }
  const nlohmann::json& layers = meta.at(kCalibrationKey).at("layers");
  if (!layers.contains(layer.name)) {
    throw InputError("layer '" + layer.name + "' has no calibrated activation range; run "
                     "`bnrecal calibrate` again on this model");
  }
  const nlohmann::json& r = layers.at(layer.name);
  A8W8Params p;
  p.activation_mode = ctx.spec.activation_mode;
  if (p.activation_mode == ActivationMode::kUnsigned) {
    if (r.value("min", 0.0) < 0) {
      throw InputError("layer '" + layer.name + "' saw negative inputs during calibration (min " +
                       std::to_string(r.value("min", 0.0)) + "), so unsigned a8w8 would be wrong; "
                       "use --override " + layer.name + "=fp32 or signed activations");
    }
    p.a_max = r.at("a_max").get<double>();
  } else {
    p.a_max = r.value("max_abs", r.at("a_max").get<double>());
  }
  return p;
}

namespace {

std::shared_ptr<ArithPolicy> make_a8w8(const LayerInfo& layer, const PolicyContext& ctx) {
  return std::make_shared<A8W8Policy>(layer, a8w8_params_from_metadata(layer, ctx));
}

struct Registry {
  std::mutex mutex;
  std::map<std::string, PolicyEntry> entries;
  Registry() {
    entries["fp32"] = {"fp32", "float32 arithmetic (libtorch / oneDNN)",
                       [](const LayerInfo&, const PolicyContext&) {
                         return std::make_shared<Fp32Policy>();
                       }};
    entries["a8w8"] = {"a8w8",
                       "int8 per-channel weights x uint8 per-layer activations, exact accumulation; "
                       "needs `bnrecal calibrate`",
                       make_a8w8};
    // Built in here (not via a static registrar, which a static archive may drop).
    PolicyEntry sysmt = sysmt_policy_entry();
    entries[sysmt.name] = sysmt;
  }
};

Registry& registry() {
  static Registry r;
  return r;
}

std::string known_policy_names() {
  std::string s;
  for (const auto& e : registered_policies()) s += (s.empty() ? "" : ", ") + e.name;
  return s;
}

}  // namespace

void register_policy(PolicyEntry entry) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.entries[entry.name] = std::move(entry);
}

std::vector<PolicyEntry> registered_policies() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::vector<PolicyEntry> out;
  for (const auto& [name, e] : r.entries) out.push_back(e);
  return out;
}

const PolicyEntry& find_policy(const std::string& name) {
  Registry& r = registry();
  {
    std::lock_guard<std::mutex> lock(r.mutex);
    auto it = r.entries.find(name);
    if (it != r.entries.end()) return it->second;
  }
  throw InputError("unknown policy '" + name + "' (known: " + known_policy_names() + ")");
}

bool name_matches(const std::string& pattern, const std::string& name) {
  return pattern == name || fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

nlohmann::json PolicySpec::to_json() const {
  nlohmann::json j = {{"policy", policy}, {"activations", activation_mode_name(activation_mode)}};
  nlohmann::json ov = nlohmann::json::array();
  for (const auto& o : overrides) ov.push_back({{"pattern", o.pattern}, {"policy", o.policy}});
  j["overrides"] = ov;
  if (uses_policy("sysmt")) {
    j["sysmt"] = {{"threads", sysmt_threads}, {"idle", sysmt_idle}, {"round", sysmt_round},
                  {"diagnostics", sysmt_diagnostics}};
  }
  if (noise.empty()) {
    j["noise"] = nullptr;
  } else {
    j["noise"] = noise_model().to_json();
    j["noise"]["sigma_t"] = noise_params.sigma_t;
    j["noise"]["sigma_s"] = noise_params.sigma_s;
    j["noise_exclude"] = noise_exclude;
  }
  return j;
}

PolicySpec PolicySpec::from_json(const nlohmann::json& j) {
  PolicySpec s;
  s.policy = j.value("policy", "fp32");
  s.activation_mode = parse_activation_mode(j.value("activations", "unsigned"));
  for (const auto& o : j.value("overrides", nlohmann::json::array())) {
    s.overrides.push_back({o.at("pattern").get<std::string>(), o.at("policy").get<std::string>()});
  }
  if (j.contains("sysmt")) {
    const nlohmann::json& t = j.at("sysmt");
    s.sysmt_threads = t.value("threads", 2);
    s.sysmt_idle = t.value("idle", "either");
    s.sysmt_round = t.value("round", "rne");
    s.sysmt_diagnostics = t.value("diagnostics", false);
  }
  if (j.contains("noise") && !j.at("noise").is_null()) {
    const nlohmann::json& n = j.at("noise");
    s.noise = n.value("preset", "custom");
    s.noise_params.eta = n.value("eta", 0.0);
    s.noise_params.sigma_t = n.value("sigma_t", 0.2);
    s.noise_params.sigma_s = n.value("sigma_s", 0.1);
    if (s.noise == "custom") s.custom_noise = NoiseModel::from_json(n);
    s.noise_exclude = j.value("noise_exclude", std::vector<std::string>{});
  }
  s.validate();
  return s;
}

namespace {
double parse_number(const std::string& key, const std::string& value) {
  try {
    size_t used = 0;
    double v = std::stod(value, &used);
    if (used == value.size()) return v;
  } catch (const std::exception&) {
  }
  throw InputError("policy spec: " + key + " must be a number, got '" + value + "'");
}
}  // namespace

PolicySpec PolicySpec::parse(const std::string& text) {
  std::istringstream in(text);
  PolicySpec s;
  std::string item;
  bool first = true;
  while (in >> item) {
    const auto eq = item.find('=');
    if (first && eq == std::string::npos) {
      s.policy = item;
      first = false;
      continue;
    }
    first = false;
    if (eq == std::string::npos) throw InputError("policy spec: expected key=value, got '" + item + "'");
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "noise") {
      s.noise = value;
    } else if (key == "eta") {
      s.noise_params.eta = parse_number(key, value);
    } else if (key == "sigma_t") {
      s.noise_params.sigma_t = parse_number(key, value);
    } else if (key == "sigma_s") {
      s.noise_params.sigma_s = parse_number(key, value);
    } else if (key == "activations") {
      s.activation_mode = parse_activation_mode(value);
    } else if (key == "smt") {
      const double t = parse_number(key, value);
      if (t != static_cast<int>(t)) throw InputError("policy spec: smt must be 1, 2 or 4, got '" + value + "'");
      s.sysmt_threads = static_cast<int>(t);
    } else if (key == "idle") {
      s.sysmt_idle = value;
    } else if (key == "round") {
      s.sysmt_round = value;
    } else if (key == "diagnostics") {
      if (value != "0" && value != "1") throw InputError("policy spec: diagnostics must be 0 or 1");
      s.sysmt_diagnostics = value == "1";
    } else if (key == "noise_exclude") {
      s.noise_exclude.push_back(value);
    } else if (key == "override") {
      const auto eq2 = value.rfind('=');
      if (eq2 == std::string::npos || eq2 == 0 || eq2 + 1 == value.size()) {
        throw InputError("policy spec: override must be PATTERN=POLICY, got '" + value + "'");
      }
      s.overrides.push_back({value.substr(0, eq2), value.substr(eq2 + 1)});
    } else {
      throw InputError("policy spec: unknown key '" + key +
                       "' (known: noise, eta, sigma_t, sigma_s, activations, noise_exclude, override, smt, "
                       "idle, round, diagnostics)");
    }
  }
  s.validate();
  return s;
}

std::string PolicySpec::to_text() const {
  std::ostringstream out;
  out << policy;
  if (activation_mode != ActivationMode::kUnsigned) out << " activations=" << activation_mode_name(activation_mode);
  if (uses_policy("sysmt")) {
    out << " smt=" << sysmt_threads << " idle=" << sysmt_idle << " round=" << sysmt_round;
    if (sysmt_diagnostics) out << " diagnostics=1";
  }
  for (const auto& o : overrides) out << " override=" << o.pattern << "=" << o.policy;
  if (!noise.empty()) {
    out << " noise=" << noise << " eta=" << noise_params.eta << " sigma_t=" << noise_params.sigma_t
        << " sigma_s=" << noise_params.sigma_s;
    for (const auto& e : noise_exclude) out << " noise_exclude=" << e;
  }
  return out.str();
}

NoiseModel PolicySpec::noise_model() const {
  if (noise == "custom") {
    require(!custom_noise.factors.empty(), "custom noise needs at least one factor");
    return custom_noise;
  }
  return noise_preset(noise, noise_params);
}

sysmt::SysmtConfig PolicySpec::sysmt_config() const {
  sysmt::SysmtConfig c;
  c.threads = sysmt_threads;
  c.idle = sysmt::parse_idle_rule(sysmt_idle);
  c.rounding = sysmt::parse_rounding(sysmt_round);
  sysmt::validate(c);
  return c;
}

bool PolicySpec::uses_policy(const std::string& name) const {
  if (policy == name) return true;
  return std::any_of(overrides.begin(), overrides.end(),
                     [&](const PolicyOverride& o) { return o.policy == name; });
}

void PolicySpec::validate() const {
  find_policy(policy);
  for (const auto& o : overrides) find_policy(o.policy);
  sysmt_config();
  if (!noise.empty()) noise_model();
}

void apply_policy(torch::nn::Module& model, const PolicySpec& spec, uint64_t seed,
                  const nlohmann::json& model_metadata) {
  spec.validate();
  std::vector<ArithLayerRef> layers = arith_layers(model);
  for (const auto& o : spec.overrides) {
    bool any = std::any_of(layers.begin(), layers.end(),
                           [&](const ArithLayerRef& l) { return name_matches(o.pattern, l.name); });
    if (!any) {
      std::string names;
      for (const auto& l : layers) names += (names.empty() ? "" : ", ") + l.name;
      throw InputError("override '" + o.pattern + "=" + o.policy + "' matches no layer (layers: " +
                       names + ")");
    }
  }
  std::vector<std::string> layer_names;
  for (const auto& l : layers) layer_names.push_back(l.name);
  check_channel_order_layers(model_metadata, layer_names);
  std::unique_ptr<NoiseModel> noise;
  if (!spec.noise.empty()) noise = std::make_unique<NoiseModel>(spec.noise_model());
  const PolicyContext ctx{spec, model_metadata, seed};
  // Build every policy first, then install: a failure leaves the model untouched.
  std::vector<std::shared_ptr<ArithPolicy>> policies;
  for (const auto& layer : layers) {
    const LayerInfo info = layer.info();
    std::string name = spec.policy;
    if (name != "fp32" && (info.is_first_conv || info.is_linear || info.is_depthwise)) name = "fp32";
    for (const auto& o : spec.overrides) {
      if (name_matches(o.pattern, layer.name)) name = o.policy;
    }
    std::shared_ptr<ArithPolicy> policy = find_policy(name).factory(info, ctx);
    const bool excluded = std::any_of(spec.noise_exclude.begin(), spec.noise_exclude.end(),
                                      [&](const std::string& p) { return name_matches(p, layer.name); });
    if (noise && !excluded) {
      policy = std::make_shared<NoisyWeightsPolicy>(policy, *noise, info, seed);
    }
    policies.push_back(policy);
  }
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

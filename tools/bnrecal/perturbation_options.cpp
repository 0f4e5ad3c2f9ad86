#include "perturbation_options.h"

#include <cmath>

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/core/json_config.h"
#include "bnrecal/nn/policy_registry.h"
#include "cli_common.h"

namespace bnrecal::cli {

namespace {

// A flag's value, also accepted in the policy-spec form ("--idle idle=act" as "--idle act").
std::string flag_value(const char* key, const std::string& text) {
  const std::string prefix = std::string(key) + "=";
  return text.rfind(prefix, 0) == 0 ? text.substr(prefix.size()) : text;
}

// A parameter's values and meaning for a flag's help: "either|act (default either): ...", without
// the "idle=" of the policy-spec grammar (the flag takes the value alone).
std::string choices(const char* key) {
  const ParamDef* d = find_param(key);
  return d ? flag_value(key, d->describe()) : key;
}

// Runs f; an InputError about a flag's value becomes a UsageError (exit 2).
template <class F>
auto as_usage(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const InputError& e) {
    throw UsageError(e.what());
  }
}

}  // namespace

void add_sysmt_flags(CLI::App& sub, SysmtFlags& flags, const SysmtFlagsSetup& setup) {
  // The policy's default T is not this command's: name the command's own (none when required).
  std::string values = choices("smt");
  const size_t open = values.find(" (default "), close = values.find(')', open);
  if (open != std::string::npos && close != std::string::npos)
    values.replace(open, close - open + 1, setup.smt_required ? "" : " (default " + setup.smt_default + ")");
  const std::string smt_help = std::string(setup.smt_list ? "Comma-separated sysmt thread counts T, one row pair each: "
                                                          : "sysmt threads T: ") + values;
  CLI::Option* smt = sub.add_option("--smt", flags.smt, smt_help);
  if (setup.smt_required) smt->required();
  sub.add_option("--idle", flags.idle, "sysmt idle-lane rule: " + choices("idle"));
  if (setup.round) sub.add_option("--round", flags.round, "sysmt 4-bit rounding: " + choices("round"));
}

std::vector<int> smt_values(const SysmtFlags& flags, const SysmtFlagsSetup& setup) {
  const std::vector<std::string> items = split_list(flags.smt.empty() ? setup.smt_default : flags.smt, "--smt");
  if (items.size() > 1 && !setup.smt_list) throw UsageError("--smt takes one thread count here, got '" + flags.smt + "'");
  std::vector<int> out;
  for (const auto& item : items)
    out.push_back(as_usage([&] { return find_param("smt")->parse(flag_value("smt", item)).get<int>(); }));
  return out;
}

sysmt::SysmtConfig sysmt_config(const SysmtFlags& flags, const SysmtFlagsSetup& setup) {
  return as_usage([&] {
    sysmt::SysmtConfig c;
    c.threads = smt_values(flags, setup).front();
    c.idle = sysmt::parse_idle_rule(flags.idle.empty() ? "either" : flag_value("idle", flags.idle));
    c.rounding = sysmt::parse_rounding(flags.round.empty() ? "rne" : flag_value("round", flags.round));
    sysmt::validate(c);
    return c;
  });
}

std::shared_ptr<PerturbationOptions> add_perturbation_options(CLI::App& sub, const PerturbationSetup& setup) {
  auto p = std::make_shared<PerturbationOptions>();
  p->sysmt_setup.smt_list = setup.smt_list;
  p->sysmt_setup.smt_default = setup.smt_default;
  const size_t first = sub.get_options().size();
  std::string names;
  for (const PolicyEntry& entry : registered_policies()) names += (names.empty() ? "" : ", ") + entry.name;
  sub.add_option("--policy", p->policy,
                 "Arithmetic policy, optionally with its parameters, e.g. \"sysmt smt=4 idle=act\" or \"lowbit "
                 "w_bits=1 a_bits=2\": " + names + " (default fp32; see `bnrecal models` for each one's "
                 "parameters). First conv, linear and depthwise layers stay fp32 unless overridden");
  sub.add_option("--policy-json", p->policy_json, "A policy spec as JSON (flags given as well refine it)");
  sub.add_option("--noise", p->noise,
                 "Analog weight noise preset: seed-003 (W*(1+N_T*N_S), the paper's), relative, additive-max");
  p->eta_flag = setup.eta;
  if (setup.eta) sub.add_option("--eta", p->eta, "Noise scale eta0 (needs --noise)");
  sub.add_option("--sigma-t", p->sigma_t, "seed-003 temporal level (relative to eta)")->capture_default_str();
  sub.add_option("--sigma-s", p->sigma_s, "seed-003 spatial level")->capture_default_str();
  sub.add_option("--activations", p->activations, "a8w8 activation codes: " + choices("activations"));
  add_sysmt_flags(sub, p->sysmt, p->sysmt_setup);
  sub.add_option("--override", p->overrides,
                 "PATTERN=POLICY: per-layer policy by exact name or glob (repeatable, last match wins)");
  sub.add_option("--noise-exclude", p->noise_exclude,
                 "Layer name or glob left noise-free (repeatable; default: noise on every layer)");
  // Grouped in --help, and remembered so a command can tell "no perturbation flags" apart.
  const std::vector<CLI::Option*> options = sub.get_options();
  for (size_t i = first; i < options.size(); ++i) p->all.push_back(options[i]->group("Perturbation"));
  return p;
}

bool PerturbationOptions::any_given() const {
  for (const CLI::Option* option : all)
    if (option->count() > 0) return true;
  return false;
}

bool PerturbationOptions::given(const std::string& flag) const {
  for (const CLI::Option* option : all)
    if (option->check_lname(flag.substr(2))) return option->count() > 0;
  return false;
}

namespace {

PolicySpec base_spec(const PerturbationOptions& o, const PolicySpec& base) {
  PolicySpec spec = base;
  if (!o.policy_json.empty()) {
    try {
      spec = PolicySpec::from_json(parse_json(read_file(o.policy_json), "JSON text"));
    } catch (const InputError& e) {
      throw InputError("--policy-json '" + o.policy_json + "': " + e.what());
    }
  }
  if (o.policy.empty()) return spec;
  const PolicySpec text = as_usage([&] { return PolicySpec::parse(o.policy); });
  spec.policy = text.policy;
  for (const auto& [key, value] : text.params.values()) spec.params.set(key, value);
  spec.overrides.insert(spec.overrides.end(), text.overrides.begin(), text.overrides.end());
  if (text.noise.enabled()) spec.noise = text.noise;
  return spec;
}

double nonnegative(const char* flag, double value) {
  if (!(value >= 0) || !std::isfinite(value)) throw UsageError(std::string(flag) + " must be a number >= 0");
  return value;
}

void apply_flags(PolicySpec& spec, const PerturbationOptions& o) {
  if (!o.activations.empty()) spec.set_param("activations", flag_value("activations", o.activations));
  if (!o.sysmt.smt.empty()) spec.params.set("smt", smt_values(o.sysmt, o.sysmt_setup).front());
  if (!o.sysmt.idle.empty()) spec.set_param("idle", flag_value("idle", o.sysmt.idle));
  if (!o.sysmt.round.empty()) spec.set_param("round", flag_value("round", o.sysmt.round));
  if (!o.noise.empty()) spec.noise.preset = o.noise;
  if (o.given("--eta")) {
    if (!spec.noise.enabled()) throw UsageError("--eta needs --noise PRESET (e.g. --noise seed-003)");
    spec.noise.params.eta = nonnegative("--eta", o.eta);
  } else if (o.eta_flag && !o.noise.empty() && spec.noise.params.eta == 0) {
    // Noise at eta 0 is no noise: almost certainly a forgotten --eta.
    throw UsageError("--noise needs --eta ETA0 (e.g. --eta 0.04)");
  }
  if (o.given("--sigma-t")) spec.noise.params.sigma_t = nonnegative("--sigma-t", o.sigma_t);
  if (o.given("--sigma-s")) spec.noise.params.sigma_s = nonnegative("--sigma-s", o.sigma_s);
  for (const auto& ov : o.overrides) spec.overrides.push_back(PolicyOverride::parse(ov, "--override"));
  for (const auto& p : o.noise_exclude) spec.noise.exclude.push_back(p);
}

}  // namespace

PolicySpec policy_spec(const PerturbationOptions& o, const PolicySpec& base) {
  PolicySpec spec = base_spec(o, base);
  as_usage([&] {
    apply_flags(spec, o);
    spec.validate();
  });
  return spec;
}

}  // namespace bnrecal::cli

#include "perturbation_options.h"

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"

namespace bnrecal::cli {

std::shared_ptr<PerturbationOptions> add_perturbation_options(CLI::App& sub, bool with_eta) {
  auto p = std::make_shared<PerturbationOptions>();
  const size_t first = sub.get_options().size();
  sub.add_option("--policy", p->policy,
                 "Arithmetic policy for the conv/linear layers: fp32 (default), a8w8, sysmt (both need "
                 "`bnrecal calibrate`) First conv, linear and depthwise layers stay fp32 unless overridden");
  sub.add_option("--policy-json", p->policy_json, "A policy spec as JSON (flags given as well refine it)");
  sub.add_option("--noise", p->noise,
                 "Analog weight noise preset: seed-003 (W*(1+N_T*N_S), the paper's), relative, additive-max");
  if (with_eta) {
    p->eta_option = sub.add_option("--eta", p->eta, "Noise scale eta0 (needs --noise)");
  }
  sub.add_option("--sigma-t", p->sigma_t, "seed-003 temporal level (relative to eta)")->capture_default_str();
  sub.add_option("--sigma-s", p->sigma_s, "seed-003 spatial level")->capture_default_str();
  sub.add_option("--activations", p->activations, "a8w8 activation quantization: unsigned or signed")
      ->capture_default_str();
  p->smt_option = sub.add_option("--smt", p->smt, "sysmt threads T: 1, 2 or 4 (default 2)");
  p->idle_option = sub.add_option("--idle", p->idle, "sysmt idle-lane rule: either (default) or act");
  p->round_option = sub.add_option("--round", p->round, "sysmt 4-bit rounding: rne (default), half_up, trunc");
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

PolicySpec policy_spec(const PerturbationOptions& o) {
  PolicySpec spec;
  if (!o.policy_json.empty()) {
    try {
      spec = PolicySpec::from_json(nlohmann::json::parse(read_file(o.policy_json)));
    } catch (const nlohmann::json::exception& e) {
      throw InputError("--policy-json '" + o.policy_json + "': " + e.what());
    }
  }
  if (!o.policy.empty()) spec.policy = o.policy;
  spec.activation_mode = parse_activation_mode(o.activations);
  if (!o.noise.empty()) spec.noise = o.noise;
  const bool eta_given = o.eta_option != nullptr && o.eta_option->count() > 0;
  if (eta_given) {
    require(o.eta >= 0, "--eta must be >= 0, got " + std::to_string(o.eta));
    require(!spec.noise.empty(), "--eta needs --noise PRESET (e.g. --noise seed-003)");
    spec.noise_params.eta = o.eta;
  }
  require(o.sigma_t >= 0 && o.sigma_s >= 0, "--sigma-t and --sigma-s must be >= 0");
  spec.noise_params.sigma_t = o.sigma_t;
  spec.noise_params.sigma_s = o.sigma_s;
  if (o.smt_option && o.smt_option->count()) spec.sysmt_threads = o.smt;
  if (o.idle_option && o.idle_option->count()) spec.sysmt_idle = o.idle;
  if (o.round_option && o.round_option->count()) spec.sysmt_round = o.round;
  for (const auto& ov : o.overrides) {
    const auto eq = ov.rfind('=');
    require(eq != std::string::npos && eq > 0 && eq + 1 < ov.size(),
            "--override must be PATTERN=POLICY, got '" + ov + "'");
    spec.overrides.push_back({ov.substr(0, eq), ov.substr(eq + 1)});
  }
  for (const auto& p : o.noise_exclude) spec.noise_exclude.push_back(p);
  spec.validate();
  return spec;
}

}  // namespace bnrecal::cli

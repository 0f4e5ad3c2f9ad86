// The perturbation options, declared once for every command that takes them:
//   --policy "sysmt smt=4" --policy-json spec.json --noise seed-003 --eta 0.04 --sigma-t 0.2
//   --sigma-s 0.1 --activations signed --smt 4 --idle act --round trunc --override fc=fp32
//   --noise-exclude conv1
// --policy takes the whole spec text form (policy_spec.h), so a new policy's parameters need no
// new flags; --smt/--idle/--round are shorthands for the sysmt parameters, also used on their own
// by `gemm` and `reorder` (add_sysmt_flags).
//
//   auto p = bnrecal::cli::add_perturbation_options(*sub);
//   bnrecal::PolicySpec spec = bnrecal::cli::policy_spec(*p);   // UsageError for bad flags
#pragma once
#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

#include "bnrecal/arith/sysmt.h"
#include "bnrecal/nn/policy_spec.h"

namespace bnrecal::cli {

// --smt (one value, or a comma list where allowed), --idle, --round as given (empty: not given).
struct SysmtFlags {
  std::string smt, idle, round;
};
struct SysmtFlagsSetup {
  std::string smt_default = "2";  // shown in --help; used when --smt is not given
  bool smt_list = false;          // --smt 2,4 allowed (a study's rows)
  bool smt_required = false;
  bool round = true;              // false: no --round (reorder does not reduce anything)
};
void add_sysmt_flags(CLI::App& sub, SysmtFlags& flags, const SysmtFlagsSetup& setup = {});
// The thread counts given (or the default), each checked against the sysmt policy's choices.
std::vector<int> smt_values(const SysmtFlags& flags, const SysmtFlagsSetup& setup = {});
// A kernel configuration from the flags (threads: the single --smt value or its default).
sysmt::SysmtConfig sysmt_config(const SysmtFlags& flags, const SysmtFlagsSetup& setup = {});

struct PerturbationOptions {
  std::string policy, policy_json, noise, activations;
  double eta = 0, sigma_t = 0.2, sigma_s = 0.1;
  std::vector<std::string> overrides, noise_exclude;  // PATTERN=POLICY, PATTERN
  SysmtFlags sysmt;
  SysmtFlagsSetup sysmt_setup;
  bool eta_flag = true;           // the command has --eta
  std::vector<CLI::Option*> all;  // every option above, to tell whether the user gave any
  bool any_given() const;
  bool given(const std::string& flag) const;
};

struct PerturbationSetup {
  bool eta = true;        // false: the command sets eta itself (the noise study's --eta list)
  bool smt_list = false;  // --smt may list several thread counts (the NB-SMT study)
  std::string smt_default = "2";
};
std::shared_ptr<PerturbationOptions> add_perturbation_options(CLI::App& sub,
                                                              const PerturbationSetup& setup = {});
// The spec the flags describe: `base` (the model's own arithmetic) or --policy-json, refined by
// --policy, refined by the other flags. UsageError for malformed or contradictory flags;
// InputError for a bad --policy-json file. With an --smt list, the spec gets the first value.
PolicySpec policy_spec(const PerturbationOptions& options, const PolicySpec& base = {});

}  // namespace bnrecal::cli

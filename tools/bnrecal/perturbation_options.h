// The perturbation options shared by recalibrate, experiment and (later) eval:
//   --policy a8w8 --noise seed-003 --eta 0.04 --override fc=fp32 --noise-exclude conv1
//   --policy-json spec.json   (a PolicySpec as JSON; the flags above refine it)
//
//   auto p = bnrecal::cli::add_perturbation_options(*sub);
//   bnrecal::PolicySpec spec = bnrecal::cli::policy_spec(*p);   // throws InputError
#pragma once
#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

#include "bnrecal/nn/policy_registry.h"

namespace bnrecal::cli {

struct PerturbationOptions {
  std::string policy;
  std::string policy_json;
  std::string noise;
  double eta = -1;  // -1: not given
  double sigma_t = 0.2, sigma_s = 0.1;
  std::string activations = "unsigned";
  std::vector<std::string> overrides;      // PATTERN=POLICY
  std::vector<std::string> noise_exclude;  // PATTERN
  CLI::Option* eta_option = nullptr;
  int smt = 2;  // sysmt threads T
  std::string idle = "either", round = "rne";
  CLI::Option *smt_option = nullptr, *idle_option = nullptr, *round_option = nullptr;
  std::vector<CLI::Option*> all;  // every option above, to tell whether the user gave any

  bool any_given() const;
};

// with_eta = false leaves out --eta (the noise study sets eta itself).
std::shared_ptr<PerturbationOptions> add_perturbation_options(CLI::App& sub, bool with_eta = true);
PolicySpec policy_spec(const PerturbationOptions& options);

}  // namespace bnrecal::cli

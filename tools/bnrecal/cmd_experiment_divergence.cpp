// `bnrecal experiment divergence`: per BN layer, how far the activations under a perturbation are
// from the clean model's (KL / JS at the BN output) without and with recalibration, and how far
// the running statistics are from the moments the layer's input really has
// (eval/activation_divergence.h), as JSON and a Markdown table.
#include "bnrecal/core/error.h"
#include "bnrecal/eval/activation_divergence.h"
#include "cli_common.h"
#include "commands.h"
#include "perturbation_options.h"
#include "study_io.h"
#include "study_report.h"

namespace bnrecal::cli {

void add_experiment_divergence_command(CLI::App& experiment) {
  auto opt = std::make_shared<DivergenceOptions>();
  auto seed = std::make_shared<uint64_t>(0);
  CLI::App* sub = experiment.add_subcommand(
      "divergence", "Per-BN-layer KL/JS divergence of activations (clean vs perturbed, without and with "
                    "recalibration) and the gap between running statistics and the real input moments");
  auto study = add_study_options(*sub, "Checkpoint (.safetensors; calibrated for a8w8/sysmt)");
  sub->add_option("--images", opt->images, "Test images the activations are compared on")
      ->check(kPositive)->capture_default_str();
  sub->add_option("--bins", opt->bins, "Histogram bins per channel")->check(CLI::Range(2, 65536))->capture_default_str();
  sub->add_option("--seed", *seed, "Seed of the noise and of the recalibration images")->capture_default_str();
  auto perturbation = add_perturbation_options(*sub);
  auto common = add_common_options(*sub);
  sub->callback([opt, seed, study, perturbation, common] {
    apply_common_options(*common);
    const StudyInputs in = open_study_inputs(*study);
    const PolicySpec clean = in.model.card.native_arithmetic();
    const PolicySpec perturbed = policy_spec(*perturbation, clean);
    if (perturbed.to_json() == clean.to_json()) {
      throw UsageError("nothing is perturbed: give the arithmetic to compare with the model's own, e.g. "
                       "--policy \"sysmt smt=4\" or --noise seed-003 --eta 0.06");
    }
    const StudyProtocol protocol = study_protocol(*study, in, "divergence", common->quiet);
    const DivergenceResult r = measure_activation_divergence(*in.model.network, in.model.card.calibration, clean,
                                                             perturbed, *seed, in.splits(), protocol, *opt);
    write_study_outputs(divergence_markdown(r, in.model.card.arch), r.to_json(), r.config, *study, in, *common,
                        *seed);
  });
}

}  // namespace bnrecal::cli

// `bnrecal experiment nbsmt`: accuracy of the NB-SMT (SySMT) accelerator at 2T / 4T, without
// and with BN recalibration, per-layer diagnostics and speedup; optional mixed-setting sweep.
#include "bnrecal/core/error.h"
#include "bnrecal/eval/nbsmt_study.h"
#include "cli_common.h"
#include "commands.h"
#include "perturbation_options.h"
#include "study_io.h"
#include "study_report.h"

namespace bnrecal::cli {

void add_experiment_nbsmt_command(CLI::App& experiment) {
  // The options fill the study's own options; the protocol, threads and policy come after parsing.
  auto opt = std::make_shared<NbsmtStudyOptions>();
  CLI::App* sub = experiment.add_subcommand(
      "nbsmt", "NB-SMT (SySMT) accuracy at 2T/4T, plain and BN-recalibrated, with diagnostics and speedup");
  auto study = add_study_options(*sub, "Calibrated checkpoint (`bnrecal calibrate` output)");
  sub->add_option("--seed", opt->seed, "Recalibration image-order seed")->capture_default_str();
  sub->add_option("--diag-images", opt->diag_images, "Training images for the per-layer diagnostics and the sweep's layer ranking (0: none)")
      ->check(kNonNegative)->capture_default_str();
  sub->add_flag("--sweep", opt->sweep, "Mixed settings: decelerate the highest-MSE layers first (4T->2T, then 2T->1T)");
  sub->add_option("--sweep-step", opt->sweep_step, "Layers decelerated per sweep point")
      ->check(kPositive)->capture_default_str();
  auto perturbation = add_perturbation_options(*sub, PerturbationSetup{true, true, "2,4"});
  auto common = add_common_options(*sub);
  sub->callback([opt, study, perturbation, common] {
    apply_common_options(*common);
    opt->threads = smt_values(perturbation->sysmt, perturbation->sysmt_setup);
    const StudyInputs in = open_study_inputs(*study);
    opt->base = policy_spec(*perturbation, in.model.card.native_arithmetic());
    opt->base.policy = "sysmt";
    opt->protocol = study_protocol(*study, in, "nbsmt", common->quiet);
    const NbsmtStudyResult r = run_nbsmt_study(*in.model.network, in.model.card.calibration, in.splits(), *opt);
    write_study_outputs(nbsmt_study_markdown(r, in.model.card.arch), r.to_json(), r.config, *study, in, *common,
                        opt->seed);
  });
}

}  // namespace bnrecal::cli

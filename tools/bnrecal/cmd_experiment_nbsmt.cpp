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

namespace {
struct NbsmtExperimentSpec {
  int64_t diag_images = 64, sweep_step = 1;
  bool sweep = false;
  uint64_t seed = 0;
};
}  // namespace

void add_experiment_nbsmt_command(CLI::App& experiment) {
  auto spec = std::make_shared<NbsmtExperimentSpec>();
  CLI::App* sub = experiment.add_subcommand(
      "nbsmt", "NB-SMT (SySMT) accuracy at 2T/4T, plain and BN-recalibrated, with diagnostics and speedup");
  auto study = add_study_options(*sub, "Calibrated checkpoint (`bnrecal calibrate` output)");
  sub->add_option("--seed", spec->seed, "Recalibration image-order seed")->capture_default_str();
  sub->add_option("--diag-images", spec->diag_images, "Test images for the per-layer diagnostics (0: none)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  sub->add_flag("--sweep", spec->sweep,
                "Mixed settings: decelerate the highest-MSE layers first (4T->2T, then 2T->1T)");
  sub->add_option("--sweep-step", spec->sweep_step, "Layers decelerated per sweep point")
      ->check(CLI::PositiveNumber)->capture_default_str();
  auto perturbation = add_perturbation_options(*sub, PerturbationSetup{true, true, "2,4"});
  auto common = add_common_options(*sub);
  sub->callback([spec, study, perturbation, common] {
    apply_common_options(*common);
    NbsmtStudyOptions opt;
    opt.threads = smt_values(perturbation->sysmt, perturbation->sysmt_setup);
    opt.seed = spec->seed;
    opt.diag_images = spec->diag_images;
    opt.sweep = spec->sweep;
    opt.sweep_step = spec->sweep_step;
    const StudyInputs in = open_study_inputs(*study);
    opt.base = policy_spec(*perturbation, in.model.card.native_arithmetic());
    opt.base.policy = "sysmt";
    opt.protocol = study_protocol(*study, in, "nbsmt", common->quiet);
    const NbsmtStudyResult r = run_nbsmt_study(*in.model.network, in.model.card.calibration, in.splits(), opt);
    write_study_outputs(nbsmt_study_markdown(r, in.model.card.arch), r.to_json(), r.config, *study, in, *common,
                        spec->seed);
  });
}

}  // namespace bnrecal::cli

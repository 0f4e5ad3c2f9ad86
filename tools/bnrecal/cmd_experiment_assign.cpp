// `bnrecal experiment assign`: the per-layer NB-SMT thread assignment search (nbsmt_assignment.h):
// the fastest assignment within an accuracy budget against A8W8, chosen on a validation part of
// the training split, scored on the test split beside the MSE-ordered sweep.
#include "bnrecal/core/error.h"
#include "bnrecal/eval/nbsmt_assignment.h"
#include "cli_common.h"
#include "commands.h"
#include "perturbation_options.h"
#include "study_io.h"
#include "study_report.h"

namespace bnrecal::cli {

void add_experiment_assign_command(CLI::App& experiment) {
  auto opt = std::make_shared<AssignmentOptions>();
  CLI::App* sub = experiment.add_subcommand(
      "assign", "Per-layer NB-SMT threads (1/2/4): the fastest assignment within an accuracy budget, searched "
                "with recalibration on a validation split, and its accuracy-speedup front");
  auto study = add_study_options(*sub, "Calibrated checkpoint (`bnrecal calibrate` output)");
  sub->add_option("--budget", opt->budget, "Top-1 points below A8W8 allowed, on the validation images")
      ->check(kNonNegative)->capture_default_str();
  sub->add_option("--validation-images", opt->validation_images,
                  "Training images held out for the search's decisions (never recalibrated on)")
      ->check(kPositive)->capture_default_str();
  sub->add_option("--path-points", opt->path_points, "Points of the greedy path evaluated and scored")
      ->check(kPositive)->capture_default_str();
  sub->add_option("--diag-images", opt->diag_images, "Training images for the MSE ranking of the comparison sweep")
      ->check(kNonNegative)->capture_default_str();
  sub->add_option("--seed", opt->seed, "Seed of the validation split and the recalibration images")
      ->capture_default_str();
  auto perturbation = add_perturbation_options(*sub, PerturbationSetup{false, false, "4"});
  auto common = add_common_options(*sub);
  sub->callback([opt, study, perturbation, common] {
    apply_common_options(*common);
    if (perturbation->given("--smt")) throw UsageError("--smt: assign chooses every layer's thread count itself");
    const StudyInputs in = open_study_inputs(*study);
    opt->base = policy_spec(*perturbation, in.model.card.native_arithmetic());
    opt->base.policy = "sysmt";
    opt->protocol = study_protocol(*study, in, "assign", common->quiet);
    const AssignmentResult r =
        search_thread_assignment(*in.model.network, in.model.card.calibration, in.train, *in.test, *opt);
    write_study_outputs(assignment_markdown(r, in.model.card.arch), r.to_json(), r.config, *study, in, *common,
                        opt->seed);
  });
}

}  // namespace bnrecal::cli

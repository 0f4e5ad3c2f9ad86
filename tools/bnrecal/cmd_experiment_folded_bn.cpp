// `bnrecal experiment folded-bn`: recalibration of a model whose BatchNorm was folded into its
// convs (re-normalization layers) against ordinary recalibration of the same model unfolded, under
// the same perturbation draws, as JSON and a Markdown table.
#include <cstdio>

#include "bnrecal/eval/folded_bn_study.h"
#include "cli_common.h"
#include "commands.h"
#include "perturbation_options.h"
#include "study_io.h"

namespace bnrecal::cli {

namespace {
struct FoldedBnSpec {
  int64_t seeds = 3;
  uint64_t seed = 0;
  std::string renorm_epsilon = "fixed", renorm_target = "measured";
};

std::string pct(double v) { return fixed(v) + " %"; }

std::string markdown(const FoldedBnStudy& s, const std::string& perturbation) {
  std::string md = "Folded BatchNorm (" + std::to_string(s.folded_layers) + " folded, " +
                   std::to_string(s.renormalized_layers) + " re-normalization layers) under `" + perturbation + "`\n\n";
  if (s.renorm.epsilon == RenormEpsilon::kMatched) md += "Re-normalization epsilon matched to each folded BN's.\n\n";
  if (s.renorm.target == RenormTarget::kTraining) md += "Re-normalization target: the folded BNs' training statistics.\n\n";
  md += "Clean: unfolded " + pct(s.clean_unfolded.top1) + ", folded " + pct(s.clean_folded.top1) + " (folded - unfolded " +
        paired_text(s.clean_folded_vs_unfolded) + ")\n\n";
  md += "| seed | unfolded plain | folded plain | folded - unfolded | unfolded recal | folded + renorm recal | folded - unfolded |\n";
  md += "|---|---|---|---|---|---|---|\n";
  for (const auto& d : s.draws) {
    md += "| " + std::to_string(d.seed) + " | " + pct(d.unfolded.plain.top1) + " | " + pct(d.folded.plain.top1) + " | " +
          paired_text(d.folded_vs_unfolded_plain) + " | " + pct(d.unfolded.recalibrated.top1.mean) + " | " +
          pct(d.folded.recalibrated.top1.mean) + " | " + paired_text(d.folded_vs_unfolded_recalibrated) + " |\n";
  }
  md += "\nAfter recalibration, over all " + std::to_string(s.recalibrated_overall.pairs()) +
        " seeds x draws (each test image's difference averaged over them): folded - unfolded " +
        paired_text(s.recalibrated_overall) + "\n";
  return md;
}
}  // namespace

void add_experiment_folded_bn_command(CLI::App& experiment) {
  auto spec = std::make_shared<FoldedBnSpec>();
  CLI::App* sub = experiment.add_subcommand(
      "folded-bn",
      "Recalibration after BatchNorm folding (re-normalization layers) vs ordinary recalibration, paired per seed");
  auto study = add_study_options(*sub, "Checkpoint or ONNX model (calibrated for a8w8/sysmt)");
  sub->add_option("--seeds", spec->seeds, "Perturbation seeds")->check(kPositive)->capture_default_str();
  sub->add_option("--seed", spec->seed, "First seed")->capture_default_str();
  sub->add_option("--renorm-epsilon", spec->renorm_epsilon,
                  "Epsilon of the re-normalization layers: 'fixed' (1e-5, all that a model folded elsewhere "
                  "allows) or 'matched' (per channel, the folded BN's own epsilon in the conv's output units, "
                  "so that recalibration corrects as the unfolded BN's does)")
      ->check(CLI::IsMember({"fixed", "matched"}))->capture_default_str();
  sub->add_option("--renorm-target", spec->renorm_target,
                  "Clean target of the re-normalization layers: 'measured' (the clean model's moments on each "
                  "draw's recalibration images, as `bnrecal recalibrate`) or 'training' (the folded BNs' own training "
                  "statistics, known only when bnrecal folds; with --renorm-epsilon matched it reproduces the "
                  "unfolded model's recalibration)")
      ->check(CLI::IsMember({"measured", "training"}))->capture_default_str();
  auto perturbation = add_perturbation_options(*sub);
  auto common = add_common_options(*sub);
  sub->callback([spec, study, perturbation, common] {
    apply_common_options(*common);
    StudyInputs in = open_study_inputs(*study);
    const PolicySpec policy = policy_spec(*perturbation, in.model.card.native_arithmetic());
    const StudyProtocol protocol = study_protocol(*study, in, "folded-bn", common->quiet);
    RenormOptions renorm;
    renorm.epsilon = spec->renorm_epsilon == "matched" ? RenormEpsilon::kMatched : RenormEpsilon::kFixed;
    renorm.target = spec->renorm_target == "training" ? RenormTarget::kTraining : RenormTarget::kMeasured;
    const FoldedBnStudy r = run_folded_bn_study(in.model, in.splits(), protocol, policy, spec->seeds, spec->seed, renorm);
    nlohmann::json config = {{"perturbation", policy.to_json()}, {"seeds", spec->seeds}, {"renorm", renorm.to_json()},
                             {"protocol", protocol.recal.to_json()}};
    write_study_outputs(markdown(r, policy.to_text()), r.to_json(), config, *study, in, *common, spec->seed);
  });
}

}  // namespace bnrecal::cli

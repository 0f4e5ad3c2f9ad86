// `bnrecal experiment noise`: the analog-noise study (docs/methods.md section 1.3) with the
// quantization rows, as JSON and a Markdown table.

#include "bnrecal/core/error.h"
#include "bnrecal/eval/dense_noise_study.h"
#include "bnrecal/eval/noise_study.h"
#include "cli_common.h"
#include "commands.h"
#include "perturbation_options.h"
#include "study_io.h"
#include "study_report.h"

namespace bnrecal::cli {

namespace {
struct NoiseExperimentSpec {
  std::string etas = "0,0.02,0.04,0.06,0.08,0.10";
  int64_t seeds = 3;
  uint64_t seed = 0;
  bool no_quantization = false;
};

std::vector<double> parse_etas(const std::string& text) {
  std::vector<double> out;
  for (const std::string& item : split_list(text, "--eta")) {
    size_t used = 0;
    double v = -1;
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || !(v >= 0)) throw UsageError("--eta: '" + item + "' is not a number >= 0");
    out.push_back(v);
  }
  return out;
}
}  // namespace

void add_experiment_noise_command(CLI::App& experiment) {
  auto spec = std::make_shared<NoiseExperimentSpec>();
  CLI::App* sub = experiment.add_subcommand(
      "noise", "Accuracy under analog weight noise, plain and BN-recalibrated, over etas and seeds (segmentation "
               "models: mean IoU and pixel accuracy; detectors: COCO AP and AR at IoU 0.5)");
  auto study = add_study_options(*sub, "Checkpoint (.safetensors; calibrated for the A8W8 rows)");
  sub->add_option("--eta", spec->etas, "Comma-separated noise levels eta0")->capture_default_str();
  sub->add_option("--seeds", spec->seeds, "Noise seeds per eta")->check(kPositive)->capture_default_str();
  sub->add_option("--seed", spec->seed, "First seed")->capture_default_str();
  sub->add_flag("--no-quantization", spec->no_quantization, "Skip the FP32 / A8W8 rows");
  auto perturbation = add_perturbation_options(*sub, PerturbationSetup{false, false});
  auto common = add_common_options(*sub);
  sub->callback([spec, study, perturbation, common] {
    apply_common_options(*common);
    NoiseStudyOptions opt;
    opt.etas = parse_etas(spec->etas);
    opt.seeds = spec->seeds;
    opt.base_seed = spec->seed;
    opt.quantization_rows = !spec->no_quantization;
    const StudyInputs in = open_study_inputs(*study);
    opt.base = policy_spec(*perturbation, in.model.card.native_arithmetic());
    opt.protocol = study_protocol(*study, in, "noise", common->quiet);
    // A dense task's test split scores itself (task_scorer.h); no quantization rows.
    if (std::unique_ptr<TaskScorer> scorer = dense_task_scorer(*in.test)) {
      const DenseNoiseStudyResult r =
          run_dense_noise_study(*in.model.network, in.model.card.calibration, *in.train, *scorer, opt);
      write_study_outputs(dense_noise_study_markdown(r, in.model.card.arch), r.to_json(), r.config, *study, in,
                          *common, spec->seed);
      return;
    }
    const NoiseStudyResult r = run_noise_study(*in.model.network, in.model.card.calibration, in.splits(), opt);
    write_study_outputs(noise_study_markdown(r, in.model.card.arch), r.to_json(), r.config, *study, in, *common,
                        spec->seed);
  });
}

}  // namespace bnrecal::cli

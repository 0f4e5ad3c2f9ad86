// `bnrecal experiment nbsmt`: accuracy of the NB-SMT (SySMT) accelerator at 2T / 4T, without
// and with BN recalibration, per-layer diagnostics and speedup; optional mixed-setting sweep.
#include <sstream>

#include "bnrecal/core/error.h"
#include "bnrecal/eval/nbsmt_study.h"
#include "cli_common.h"
#include "commands.h"
#include "study_io.h"

namespace bnrecal::cli {

namespace {
struct NbsmtExperimentSpec {
  std::string model, data, markdown, smt = "2,4", idle = "either", round = "rne",
      estimator = "pooled";
  std::vector<std::string> overrides;
  int64_t recal_images = 2048, recal_batch_size = 256, limit = -1, batch_size = 256,
          diag_images = 64;
  double momentum = 0.1;
  bool sweep = false;
  int64_t sweep_step = 1;
  uint64_t seed = 0;
};

std::vector<int> parse_threads(const std::string& text) {
  std::vector<int> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (item == "1") out.push_back(1);
    else if (item == "2") out.push_back(2);
    else if (item == "4") out.push_back(4);
    else throw InputError("--smt: thread counts must be 1, 2 or 4, got '" + item + "'");
  }
  require(!out.empty(), "--smt needs at least one thread count");
  return out;
}
}  // namespace

void add_experiment_nbsmt_command(CLI::App& experiment) {
  auto spec = std::make_shared<NbsmtExperimentSpec>();
  CLI::App* sub = experiment.add_subcommand(
      "nbsmt", "NB-SMT (SySMT) accuracy at 2T/4T, plain and BN-recalibrated, with diagnostics and speedup");
  add_model_and_data_options(*sub, spec->model, spec->data, "Calibrated checkpoint (`bnrecal calibrate` output)");

  sub->add_option("--smt", spec->smt, "Comma-separated thread counts T, one row pair each")->capture_default_str();
  sub->add_option("--idle", spec->idle, "Idle-lane rule: either or act")->capture_default_str();
  sub->add_option("--round", spec->round, "4-bit rounding: rne, half_up or trunc")->capture_default_str();
  sub->add_option("--override", spec->overrides,
                  "PATTERN=POLICY per layer, e.g. layer3.0.conv1=a8w8 (not accelerated; repeatable)");
  sub->add_option("--recal-images", spec->recal_images, "Training images for recalibration")->capture_default_str();
  sub->add_option("--recal-batch-size", spec->recal_batch_size, "Recalibration batch size")->capture_default_str();
  sub->add_option("--estimator", spec->estimator, "ema, ema-reset, cumulative, final or pooled")->capture_default_str();
  sub->add_option("--momentum", spec->momentum, "EMA momentum (PyTorch convention)")->capture_default_str();
  sub->add_option("--seed", spec->seed, "Recalibration shuffle seed")->capture_default_str();
  sub->add_option("--limit", spec->limit, "Evaluate only the first N test images");
  sub->add_option("--batch-size", spec->batch_size, "Evaluation batch size")->capture_default_str();
  sub->add_option("--diag-images", spec->diag_images, "Test images for the per-layer diagnostics (0: none)")
      ->capture_default_str();
  sub->add_flag("--sweep", spec->sweep,
                "Mixed settings: decelerate the highest-MSE layers first (4T->2T, then 2T->1T)");
  sub->add_option("--sweep-step", spec->sweep_step, "Layers decelerated per sweep point")
      ->check(CLI::PositiveNumber)->capture_default_str();
  sub->add_option("--markdown", spec->markdown, "Write the Markdown tables here");
  auto common = add_common_options(*sub);
  sub->callback([spec, common] {
    apply_common_options(*common);
    NbsmtStudyOptions opt;
    opt.threads = parse_threads(spec->smt);
    opt.base.policy = "sysmt";
    opt.base.sysmt_idle = spec->idle;
    opt.base.sysmt_round = spec->round;
    for (const auto& ov : spec->overrides) {
      const auto eq = ov.rfind('=');
      require(eq != std::string::npos && eq > 0 && eq + 1 < ov.size(),
              "--override must be PATTERN=POLICY, got '" + ov + "'");
      opt.base.overrides.push_back({ov.substr(0, eq), ov.substr(eq + 1)});
    }
    opt.base.validate();
    opt.recal.estimator = parse_estimator(spec->estimator);
    check_momentum(spec->momentum);
    opt.recal.momentum = spec->momentum;
    require(spec->recal_images > 0, "--recal-images must be positive");
    opt.recal_images = spec->recal_images;
    opt.recal_batch_size = spec->recal_batch_size;
    opt.seed = spec->seed;
    opt.test_limit = spec->limit;
    opt.eval_batch_size = spec->batch_size;
    require(spec->diag_images >= 0, "--diag-images must be >= 0");
    opt.diag_images = spec->diag_images;
    opt.sweep = spec->sweep;
    opt.sweep_step = spec->sweep_step;

    const StudyInputs in = open_study_inputs(spec->model, spec->data);
    opt.normalization = normalization_of(in.model.metadata);
    opt.log = study_log("nbsmt", common->quiet);
    const NbsmtStudyResult r = run_nbsmt_study(*in.model.network, in.model.metadata, *in.train, *in.test, opt);
    write_study_outputs(r, in, spec->markdown, *common, spec->seed);
  });
}

}  // namespace bnrecal::cli

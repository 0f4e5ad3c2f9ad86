// `bnrecal experiment noise`: the analog-noise study (methods.md Table 1.3) with the quantization
// rows, as JSON and a Markdown table.
#include <sstream>

#include "bnrecal/core/error.h"
#include "bnrecal/eval/noise_study.h"
#include "cli_common.h"
#include "commands.h"
#include "perturbation_options.h"
#include "study_io.h"

namespace bnrecal::cli {

namespace {
struct NoiseExperimentSpec {
  std::string model, data, markdown, etas = "0,0.02,0.04,0.06,0.08,0.10", estimator = "ema";
  int64_t seeds = 3, recal_images = 2048, recal_batch_size = 256, limit = -1, batch_size = 256;
  double momentum = 0.1, decay = -1;
  std::vector<std::string> layers;
  bool sequential = false, no_quantization = false;
  uint64_t seed = 0;
  CLI::Option* decay_option = nullptr;
};

std::vector<double> parse_etas(const std::string& text) {
  std::vector<double> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    try {
      size_t used = 0;
      const double v = std::stod(item, &used);
      require(used == item.size(), "");
      require(v >= 0, "--eta values must be >= 0, got " + item);
      out.push_back(v);
    } catch (const std::invalid_argument&) {
      throw InputError("--eta: '" + item + "' is not a number");
    }
  }
  require(!out.empty(), "--eta needs at least one value");
  return out;
}
}  // namespace

void add_experiment_command(CLI::App& app) {
  CLI::App* experiment = app.add_subcommand("experiment", "Run a study (noise, nbsmt)");
  experiment->require_subcommand(1);
  add_experiment_nbsmt_command(*experiment);
  auto spec = std::make_shared<NoiseExperimentSpec>();
  CLI::App* sub = experiment->add_subcommand(
      "noise", "Accuracy under analog weight noise, plain and BN-recalibrated, over etas and seeds");
  add_model_and_data_options(*sub, spec->model, spec->data, "Checkpoint (.safetensors; calibrated for the A8W8 rows)");

  sub->add_option("--eta", spec->etas, "Comma-separated noise levels eta0")->capture_default_str();
  sub->add_option("--seeds", spec->seeds, "Noise seeds per eta")->check(CLI::PositiveNumber)->capture_default_str();
  sub->add_option("--seed", spec->seed, "First seed")->capture_default_str();
  sub->add_option("--recal-images", spec->recal_images, "Training images for recalibration")->capture_default_str();
  sub->add_option("--recal-batch-size", spec->recal_batch_size, "Recalibration batch size")->capture_default_str();
  sub->add_option("--estimator", spec->estimator, "ema, ema-reset, cumulative, final or pooled")->capture_default_str();
  auto momentum = sub->add_option("--momentum", spec->momentum, "EMA momentum (PyTorch convention)");
  spec->decay_option = sub->add_option("--decay", spec->decay, "EMA decay (TensorFlow convention)");
  momentum->excludes(spec->decay_option);
  sub->add_option("--layers", spec->layers, "BN layer name or glob to recalibrate (repeatable)");
  sub->add_flag("--sequential", spec->sequential, "Recalibrate one BN layer at a time");
  sub->add_option("--limit", spec->limit, "Evaluate only the first N test images");
  sub->add_option("--batch-size", spec->batch_size, "Evaluation batch size")->capture_default_str();
  sub->add_flag("--no-quantization", spec->no_quantization, "Skip the FP32 / A8W8 rows");
  sub->add_option("--markdown", spec->markdown, "Write the Markdown table here");
  auto perturbation = add_perturbation_options(*sub, /*with_eta=*/false);
  auto common = add_common_options(*sub);
  sub->callback([spec, perturbation, common] {
    apply_common_options(*common);
    NoiseStudyOptions opt;
    opt.etas = parse_etas(spec->etas);
    opt.seeds = spec->seeds;
    opt.base_seed = spec->seed;
    opt.base = policy_spec(*perturbation);
    if (opt.base.noise.empty()) opt.base.noise = "seed-003";
    opt.recal.estimator = parse_estimator(spec->estimator);
    opt.recal.momentum = spec->decay_option->count() ? momentum_from_decay(spec->decay) : spec->momentum;
    check_momentum(opt.recal.momentum);
    opt.recal.layers = spec->layers;
    opt.recal.sequential = spec->sequential;
    opt.recal_images = spec->recal_images;
    opt.recal_batch_size = spec->recal_batch_size;
    require(spec->recal_images > 0, "--recal-images must be positive");
    opt.test_limit = spec->limit;
    opt.eval_batch_size = spec->batch_size;
    opt.quantization_rows = !spec->no_quantization;

    const StudyInputs in = open_study_inputs(spec->model, spec->data);
    opt.normalization = normalization_of(in.model.metadata);
    opt.log = study_log("noise", common->quiet);
    const NoiseStudyResult r = run_noise_study(*in.model.network, in.model.metadata, *in.train, *in.test, opt);
    write_study_outputs(r, in, spec->markdown, *common, spec->seed);
  });
}

}  // namespace bnrecal::cli

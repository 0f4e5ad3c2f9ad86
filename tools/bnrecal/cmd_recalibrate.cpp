// `bnrecal recalibrate`: re-estimates BN running statistics under a perturbation and writes a
// normal checkpoint whose metadata records what was done.
#include <cstdio>

#include "bnrecal/core/error.h"
#include "bnrecal/eval/evaluate.h"
#include "bnrecal/models/checkpoint.h"
#include "bnrecal/recal/recalibrate.h"
#include "cli_common.h"
#include "perturbation_options.h"

namespace bnrecal::cli {

namespace {
struct RecalibrateSpec {
  std::string model, data, output, estimator = "ema";
  int64_t images = 2048, batch_size = 256;
  double momentum = 0.1, decay = -1;
  std::vector<std::string> layers;
  bool sequential = false, augment = false;
  uint64_t seed = 0;
  CLI::Option* momentum_option = nullptr;
  CLI::Option* decay_option = nullptr;
};
}  // namespace

void add_recalibrate_command(CLI::App& app) {
  auto spec = std::make_shared<RecalibrateSpec>();
  CLI::App* sub = app.add_subcommand(
      "recalibrate", "Re-estimate BatchNorm statistics on training images with a perturbation active");
  add_model_and_data_options(*sub, spec->model, spec->data);
  sub->add_option("--images,-n", spec->images, "Training images (labels unused)")->capture_default_str();
  sub->add_option("--batch-size", spec->batch_size, "Images per batch")->capture_default_str();
  sub->add_option("--estimator", spec->estimator, "ema, ema-reset, cumulative, final or pooled")
      ->capture_default_str();
  spec->momentum_option = sub->add_option("--momentum", spec->momentum,
                                          "EMA momentum, PyTorch convention (default 0.1)");
  spec->decay_option = sub->add_option("--decay", spec->decay,
                                       "EMA decay, TensorFlow convention (= 1 - momentum)");
  spec->momentum_option->excludes(spec->decay_option);
  sub->add_option("--layers", spec->layers, "BN layer name or glob to recalibrate (repeatable; default all)");
  sub->add_flag("--sequential", spec->sequential, "One BN layer at a time in network order");
  sub->add_flag("--augment", spec->augment, "Use training augmentation (default: plain images)");
  sub->add_option("--seed", spec->seed, "Seed for noise draws and image order")->capture_default_str();
  sub->add_option("--output,-o", spec->output, "Recalibrated checkpoint to write")->required();
  auto perturbation = add_perturbation_options(*sub);
  auto common = add_common_options(*sub);
  sub->callback([spec, perturbation, common] {
    apply_common_options(*common);
    RecalOptions opt;
    opt.estimator = parse_estimator(spec->estimator);
    opt.momentum = spec->decay_option->count() ? momentum_from_decay(spec->decay) : spec->momentum;
    check_momentum(opt.momentum);
    opt.layers = spec->layers;
    opt.sequential = spec->sequential;
    require(spec->images > 0 && spec->batch_size > 0, "--images and --batch-size must be positive");
    const PolicySpec policy = policy_spec(*perturbation);

    LoadedModel model = load_model(spec->model);
    require(!bn_layers(*model.network).empty(),
            "model '" + spec->model + "' has no BatchNorm layers to recalibrate");
    apply_policy(*model.network, policy, spec->seed, model.metadata);
    const std::string data = resolve_dataset(spec->data, model.metadata);
    auto train = open_training_sample(data, model.metadata, spec->images);
    LoaderBatchStream stream(*train, LoaderOptions::sample(spec->images, spec->batch_size, spec->seed,
                                                           spec->augment, normalization_of(model.metadata)));
    // The total (images x passes) is known once the layers are selected: create on first call.
    std::unique_ptr<Progress> progress;
    const bool quiet = common->quiet;
    opt.progress = [&progress, quiet](int64_t done, int64_t total) {
      if (!progress) progress = std::make_unique<Progress>("recalibrate", total, quiet);
      progress->update(done);
    };
    RecalReport report = recalibrate_bn(*model.network, stream, opt);
    if (progress) progress->finish();

    nlohmann::json entry = report.to_json();
    entry["data"] = data;
    entry["split"] = "train";
    entry["augment"] = spec->augment;
    entry["batch_size"] = spec->batch_size;
    entry["seed"] = spec->seed;
    entry["perturbation"] = policy.to_json();
    nlohmann::json meta = model.metadata;
    if (!meta.contains("recalibration") || !meta["recalibration"].is_array()) {
      meta["recalibration"] = nlohmann::json::array();
    }
    meta["recalibration"].push_back(entry);
    save_checkpoint(spec->output, *model.network, meta);
    if (!common->quiet) {
      std::printf("recalibrated %zu BN layers (%s%s) on %lld training images in %.2f s\n"
                  "variance stored: %s\nwrote %s\n",
                  report.layers.size(), spec->estimator.c_str(), opt.sequential ? ", sequential" : "",
                  static_cast<long long>(report.images), report.seconds,
                  entry["variance"].get<std::string>().c_str(), spec->output.c_str());
    }
    nlohmann::json results = entry;
    results["policy_summary"] = policy_summary(*model.network);
    write_json_result(*common, results, {{"model", spec->model}, {"output", spec->output}}, spec->seed);
  });
}

}  // namespace bnrecal::cli
